"""Bad input and refused operations: the GWS envelope, the right HTTP status, and no change at all."""

from __future__ import annotations

import httpx
import pytest

from support.agents import Agent, ContactCenter
from support.server import RunningServer


def envelope(response: httpx.Response, status: int, code: int) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"statusCode", "statusMessage"}, body
    assert body["statusCode"] == code
    message: str = body["statusMessage"]
    return message


@pytest.fixture
def session(cc: ContactCenter) -> tuple[Agent, str]:
    agent = cc.agent(0).listen().log_in()
    cc.sms(cc.customer_number(), "hi")
    session_id = agent.wait_invited()["id"]
    agent.op(session_id, "Accept")
    agent.take(3)
    return agent, session_id


def post_raw(agent: Agent, session_id: str, content: bytes | str) -> httpx.Response:
    return agent.http.post(
        f"/api/v2/me/smssessions/{session_id}", content=content, headers={"content-type": "application/json"}
    )


def assert_unchanged(agent: Agent, session_id: str, before: dict[str, object]) -> None:
    assert agent.get(f"/api/v2/me/smssessions/{session_id}")["smssession"] == before
    assert agent.quiet() == []


@pytest.mark.parametrize(
    ("body", "status", "code", "fragment"),
    [
        (b"{not json", 400, 10, "malformed JSON"),
        (b"[1, 2]", 400, 10, "expected a JSON object"),
        (b"", 400, 1, "operationName"),
        (b"{}", 400, 1, "operationName"),
        (b'{"operationName": 7}', 400, 10, "operationName"),
        (b'{"operationName": "Explode"}', 400, 2, "Unsupported operation: Explode"),
        (b'{"operationName": "Accept"}', 400, 2, "not valid for the current state"),
        (b'{"operationName": "SendMessage"}', 400, 1, "Missing required parameter: text"),
        (b'{"operationName": "SendMessage", "text": ""}', 400, 1, "text"),
        (b'{"operationName": "SendMessage", "text": 5}', 400, 10, "text"),
        (b'{"operationName": "UpdateUserData"}', 400, 1, "userData"),
        (b'{"operationName": "UpdateUserData", "userData": []}', 400, 10, "userData"),
        (b'{"operationName": "UpdateUserData", "userData": {}}', 400, 1, "userData"),
        (b'{"operationName": "UpdateUserData", "userData": {"a": 1.5}}', 400, 10, "'a'"),
        (b'{"operationName": "UpdateUserData", "userData": {"a": true}}', 400, 10, "'a'"),
        (b'{"operationName": "UpdateUserData", "userData": {"a": null}}', 400, 10, "'a'"),
        (b'{"operationName": "UpdateUserData", "userData": {"a": [1]}}', 400, 10, "'a'"),
        (b'{"operationName": "DeleteUserData"}', 400, 1, "keys"),
        (b'{"operationName": "DeleteUserData", "keys": "a"}', 400, 10, "keys"),
        (b'{"operationName": "SetDisposition"}', 400, 1, "disposition"),
        (b'{"operationName": "Transfer"}', 400, 1, "targetUri"),
        (
            b'{"operationName": "Transfer", "targetUri": "http://x/api/v2/contacts/1"}',
            400,
            10,
            "Invalid target",
        ),
        (b'{"operationName": "Transfer", "queueName": "nope"}', 404, 6, "Queue not found"),
        (b'{"operationName": "Complete", "queueName": "nope"}', 404, 6, "Queue not found"),
        (b'{"operationName": "Invite", "targetPath": "/users/nobody"}', 404, 6, "Target user not found"),
        (b'{"operationName": "CancelConsult"}', 400, 2, "not valid"),
    ],
)
def test_bad_operation_is_refused_and_changes_nothing(
    session: tuple[Agent, str], body: bytes, status: int, code: int, fragment: str
) -> None:
    agent, session_id = session
    before = agent.get(f"/api/v2/me/smssessions/{session_id}")["smssession"]
    message = envelope(post_raw(agent, session_id, body), status, code)
    assert fragment in message
    assert_unchanged(agent, session_id, before)


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        # Latin-1 where JSON must be UTF-8, inside a field the operation reads.
        (b'{"operationName": "SendMessage", "text": "caf\xe9"}', "malformed JSON"),
        # A number no float holds, even in a field the operation ignores.
        (b'{"operationName": "SendMessage", "text": "hi", "x": 1e400}', "Number out of range"),
    ],
)
def test_json_the_server_cannot_read_is_refused_with_the_envelope(
    session: tuple[Agent, str], body: bytes, fragment: str
) -> None:
    agent, session_id = session
    before = agent.get(f"/api/v2/me/smssessions/{session_id}")["smssession"]
    message = envelope(post_raw(agent, session_id, body), 400, 10)
    assert fragment in message
    assert_unchanged(agent, session_id, before)


def test_user_data_limits_are_named_and_enforced(session: tuple[Agent, str]) -> None:
    agent, session_id = session
    message = envelope(
        post_raw(
            agent, session_id, '{"operationName":"AttachUserData","userData":{"' + "k" * 300 + '":"v"}}'
        ),
        400,
        10,
    )
    assert "longer than 256" in message
    many = {f"key{i}": i for i in range(250)}
    response = agent.http.post(
        f"/api/v2/me/smssessions/{session_id}", json={"operationName": "AttachUserData", "userData": many}
    )
    assert "limit is 200" in envelope(response, 400, 10)
    big = {"blob": "x" * 70_000}
    response = agent.http.post(
        f"/api/v2/me/smssessions/{session_id}", json={"operationName": "AttachUserData", "userData": big}
    )
    assert "bytes" in envelope(response, 400, 10)


def test_unknown_and_foreign_sessions_are_not_found(cc: ContactCenter, session: tuple[Agent, str]) -> None:
    owner, session_id = session
    envelope(owner.http.get("/api/v2/me/smssessions/NOPE"), 404, 6)
    envelope(owner.http.post("/api/v2/me/smssessions/NOPE", json={"operationName": "Complete"}), 404, 6)
    stranger = cc.agent(1)
    envelope(stranger.http.get(f"/api/v2/me/smssessions/{session_id}"), 404, 6)
    envelope(stranger.http.get(f"/api/v2/me/smssessions/{session_id}/messages"), 404, 6)
    envelope(
        stranger.http.post(f"/api/v2/me/smssessions/{session_id}", json={"operationName": "Complete"}), 404, 6
    )


def test_another_tenant_cannot_see_or_touch_a_session(
    server: RunningServer, session: tuple[Agent, str]
) -> None:
    from support.agents import create_contact_center

    _, session_id = session
    other = create_contact_center(server, agents=1)
    try:
        outsider = other.agent(0)
        envelope(outsider.http.get(f"/api/v2/me/smssessions/{session_id}"), 404, 6)
        envelope(
            outsider.http.post(f"/api/v2/me/smssessions/{session_id}", json={"operationName": "Leave"}),
            404,
            6,
        )
        assert outsider.get("/api/v2/me/smssessions") == {"statusCode": 0, "uris": []}
    finally:
        other.close()


def test_unauthenticated_requests_get_status_20(server: RunningServer) -> None:
    for request in (
        httpx.get(server.base_url + "/api/v2/me"),
        httpx.get(server.base_url + "/api/v2/me", auth=("agent1", "wrong")),
        httpx.post(server.base_url + "/api/v2/me/smssessions/X", json={"operationName": "Accept"}),
        httpx.get(server.base_url + "/api/v2/me", headers={"Authorization": "Basic !!!"}),
    ):
        assert envelope(request, 401, 20) == "Access denied"
        assert "www-authenticate" not in request.headers


def test_oversized_body_is_refused_with_the_envelope(session: tuple[Agent, str]) -> None:
    agent, session_id = session
    response = post_raw(
        agent, session_id, b'{"operationName":"SendMessage","text":"' + b"x" * 2_000_000 + b'"}'
    )
    assert "larger than" in envelope(response, 413, 10)


def test_message_longer_than_the_limit_is_refused(session: tuple[Agent, str]) -> None:
    agent, session_id = session
    response = agent.http.post(
        f"/api/v2/me/smssessions/{session_id}", json={"operationName": "SendMessage", "text": "x" * 1601}
    )
    assert "longer than 1600" in envelope(response, 400, 10)


def test_get_messages_pages_and_validates(session: tuple[Agent, str]) -> None:
    agent, session_id = session
    for text in ("one", "two", "three"):
        agent.op(session_id, "SendMessage", text=text)
    everything = agent.get(f"/api/v2/me/smssessions/{session_id}/messages")["messages"]
    assert [m["index"] for m in everything] == list(range(1, len(everything) + 1))
    page = agent.get(f"/api/v2/me/smssessions/{session_id}/messages", startIndex=4, count=2)["messages"]
    assert [m["index"] for m in page] == [4, 5]
    assert (
        agent.get(f"/api/v2/me/smssessions/{session_id}/messages", startIndex=0, count=1)["messages"][0][
            "index"
        ]
        == 1
    )
    envelope(agent.http.get(f"/api/v2/me/smssessions/{session_id}/messages", params={"count": "x"}), 400, 10)
    envelope(
        agent.http.get(f"/api/v2/me/smssessions/{session_id}/messages", params={"startIndex": "-1"}), 400, 10
    )
