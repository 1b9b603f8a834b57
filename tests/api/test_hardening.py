"""Issue 11, part A: no 5xx on any input, and the GWS envelope on every reply under /api/v2,
whoever refuses the request (a route, the router, the body guard, the Bayeux endpoint, or the
HTTP parser itself)."""

from __future__ import annotations

import socket
import time

import httpx
import pytest

from support.agents import Agent, ContactCenter
from support.server import RunningServer

DEEP = "[" * 1_000 + "]" * 1_000


def envelope(response: httpx.Response, status: int, code: int = 10) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"statusCode", "statusMessage"}, body
    assert body["statusCode"] == code
    message: str = body["statusMessage"]
    return message


@pytest.fixture
def agent(cc: ContactCenter) -> Agent:
    return cc.agent(0)


def raw(server: RunningServer, payload: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(payload)
        chunks = []
        while True:
            chunk = sock.recv(65_536)
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)


def parse_raw(reply: bytes) -> tuple[int, dict[str, object]]:
    head, _, body = reply.partition(b"\r\n\r\n")
    status = int(head.split(b" ")[1])
    return status, httpx.Response(status, content=body).json()


# ----- 1. no 5xx on any input -----


@pytest.mark.parametrize(
    "body",
    [
        '{"operationName":"UpdateUserData","userData":{"k":' + "{" + '"a":' * 0 + DEEP + "}}",
        '{"operationName":"SetInFocus","ignored":' + DEEP + "}",
        '{"ignored":' + DEEP + ',"operationName":"Leave"}',
        DEEP,
    ],
    ids=["userData", "ignored-field", "before-operationName", "whole-body"],
)
def test_json_nested_a_thousand_deep_is_a_400_naming_the_limit(agent: Agent, body: str) -> None:
    response = agent.http.post(
        "/api/v2/me/smssessions/0000000000000000", content=body, headers={"content-type": "application/json"}
    )
    assert "max_json_depth" in envelope(response, 400)


def test_deep_json_on_me_and_channels_too(agent: Agent) -> None:
    body = '{"operationName":"Ready","x":' + DEEP + "}"
    for path in ("/api/v2/me", "/api/v2/me/channels/smssession"):
        response = agent.http.post(path, content=body, headers={"content-type": "application/json"})
        assert "32 levels" in envelope(response, 400)


def test_deep_json_to_the_simulator_is_a_400(server: RunningServer) -> None:
    response = httpx.post(server.base_url + "/simulator/sms", content='{"ignored":' + DEEP + ', "to": "1"}')
    assert "nested" in envelope(response, 400)


@pytest.mark.parametrize("value", [str(2**63), str(2**64), "9" * 40, "-1", "x", "1e3"])
@pytest.mark.parametrize("name", ["startIndex", "count"])
def test_paging_integers_beyond_range_are_a_400_naming_the_parameter(
    agent: Agent, name: str, value: str
) -> None:
    response = agent.http.get("/api/v2/me/smssessions/0000000000000000/messages", params={name: value})
    message = envelope(response, 400)
    assert name in message
    assert "max_query_integer" in message


def test_string_and_list_bounds_name_the_field_and_the_limit(agent: Agent) -> None:
    long_nickname = {"operationName": "Accept", "nickname": "n" * 5_000}
    message = envelope(agent.http.post("/api/v2/me/smssessions/0000000000000000", json=long_nickname), 400)
    assert "nickname" in message
    assert "4096" in message
    assert "max_string_length" in message
    many = {"operationName": "StartContactCenterSession", "channels": ["smssession"] * 300}
    message = envelope(agent.http.post("/api/v2/me", json=many), 400)
    assert "channels" in message
    assert "max_list_items" in message
    preview = agent.http.get("/api/v2/sms/preview", params={"text": "x" * 5_000})
    assert "text" in envelope(preview, 400)


def test_a_resume_token_beyond_64_bits_is_ignored_not_a_500(agent: Agent) -> None:
    handshake = {
        "channel": "/meta/handshake",
        "version": "1.0",
        "supportedConnectionTypes": ["long-polling"],
        "ext": {"smsdesk": {"resume": 2**70}},
    }
    response = agent.http.post("/api/v2/notifications", json=[handshake])
    assert response.status_code == 200
    client_id = response.json()[0]["clientId"]
    subscribe = {"channel": "/meta/subscribe", "clientId": client_id, "subscription": "/v2/me/**"}
    assert agent.http.post("/api/v2/notifications", json=[subscribe]).json()[0]["successful"]


# ----- 2. an envelope everywhere -----


@pytest.mark.parametrize(
    "path", ["/api/v2/nope", "/api/v2/me/smssessions/X/nope/deeper", "/api/v2", "/anything"]
)
def test_unknown_routes_are_a_404_envelope(agent: Agent, path: str) -> None:
    assert "No such resource" in envelope(agent.http.get(path), 404, 6)


def test_wrong_method_is_a_405_envelope_with_allow(agent: Agent) -> None:
    response = agent.http.delete("/api/v2/me")
    envelope(response, 405)
    assert response.headers["allow"] == "GET, HEAD, POST"
    response = agent.http.put("/api/v2/me/smssessions/X/messages")
    envelope(response, 405)
    assert "GET" in response.headers["allow"]


def test_a_trailing_slash_is_the_same_resource(agent: Agent) -> None:
    plain = agent.http.get("/api/v2/me")
    slashed = agent.http.get("/api/v2/me/")
    assert slashed.status_code == 200
    assert slashed.json() == plain.json()
    posted = agent.http.post("/api/v2/me/", json={"operationName": "Ready"})
    assert envelope(posted, 400, 2)  # not logged in yet: the operation ran, no redirect


def test_bayeux_http_refusals_are_envelopes(agent: Agent) -> None:
    envelope(agent.http.get("/api/v2/notifications"), 405)
    assert "invalid_json" in envelope(agent.http.post("/api/v2/notifications", content=b"{nope"), 400)
    assert "too_deep" in envelope(agent.http.post("/api/v2/notifications", content=DEEP.encode()), 400)
    batch = [{"channel": "/meta/connect", "clientId": "x"}] * 101
    assert "batch_too_large" in envelope(agent.http.post("/api/v2/notifications", json=batch), 400)
    too_big = b'[{"channel":"/meta/handshake","pad":"' + b"x" * 1_100_000 + b'"}]'
    assert "larger than" in envelope(agent.http.post("/api/v2/notifications", content=too_big), 413)


def test_body_too_large_is_a_413_envelope(agent: Agent) -> None:
    response = agent.http.post("/api/v2/me", content=b"x" * 1_100_000)
    assert "max_body_bytes" in envelope(response, 413)


def test_routes_outside_the_api_answer_every_refusal_with_the_envelope(server: RunningServer) -> None:
    """The simulator's and the carriers' webhook routes: the same one mapping of errors."""
    base = server.base_url
    assert "No connector 'nope'" in envelope(
        httpx.post(f"{base}/connectors/nope/inbound", data={"a": "b"}), 404, 6
    )
    response = httpx.get(f"{base}/connectors/nope/status")
    envelope(response, 405)
    assert response.headers["allow"] == "POST"
    assert "max_body_bytes" in envelope(
        httpx.post(f"{base}/connectors/nope/inbound", content=b"x" * 1_100_000), 413
    )
    envelope(httpx.delete(f"{base}/simulator/sms"), 405)
    assert "No such resource" in envelope(httpx.get(f"{base}/simulator/nothing"), 404, 6)
    assert "Invalid SMS" in envelope(httpx.post(f"{base}/simulator/sms", content=b"{nope"), 400)
    assert "max_body_bytes" in envelope(httpx.post(f"{base}/simulator/sms", content=b"x" * 1_100_000), 413)
    status, body = parse_raw(
        raw(server, b"POST /simulator/sms HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n")
    )
    assert status == 400 and set(body) == {"statusCode", "statusMessage"}


def test_malformed_http_gets_the_envelope(server: RunningServer) -> None:
    status, body = parse_raw(raw(server, b"GARBAGE\r\n\r\n"))
    assert status == 400
    assert body == {"statusCode": 10, "statusMessage": "Malformed HTTP request"}


def test_oversized_headers_get_a_431_envelope(server: RunningServer) -> None:
    request = b"GET /api/v2/me HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"a" * 70_000 + b"\r\n\r\n"
    status, body = parse_raw(raw(server, request))
    assert status == 431
    assert "max_header_bytes" in str(body["statusMessage"])


def test_a_client_hanging_up_mid_body_leaves_no_traceback(server: RunningServer) -> None:
    for _ in range(20):
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
            sock.sendall(
                b"POST /simulator/sms HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                b'Content-Length: 500\r\n\r\n{"from": "+1555'
            )
    # One normal request afterwards proves the server went on; the log shows no traceback.
    assert httpx.get(server.base_url + "/api/v2/diagnostics/version").status_code == 200
    logs = server.logs()
    assert "Traceback" not in logs
    assert "unhandled error" not in logs


def test_a_kept_alive_connection_idle_for_seconds_is_still_served(server: RunningServer) -> None:
    """The server must not be the side that closes an idle connection a client (or nginx, which
    keeps upstream connections 60 s) is about to reuse: that race resets the reused request."""
    request = b"GET /api/v2/diagnostics/version HTTP/1.1\r\nHost: x\r\n\r\n"
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        for _ in range(2):
            sock.sendall(request)
            reply = b""
            while b"\r\n\r\n" not in reply or len(reply) < _reply_length(reply):
                chunk = sock.recv(65_536)
                assert chunk, "the server closed the kept-alive connection"
                reply += chunk
            assert reply.startswith(b"HTTP/1.1 200"), reply[:80]
            time.sleep(6)  # past the 5 s most servers default to


def _reply_length(reply: bytes) -> int:
    head, _, _ = reply.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return len(head) + 4 + int(value)
    raise AssertionError(f"no Content-Length in {head!r}")
