"""Fuzzing the Bayeux endpoint in-process (hypothesis): arbitrary bytes and arbitrary batches of
Bayeux-shaped messages, sent to a client that really handshook. The endpoint never raises, every
reply is JSON, a list of Bayeux messages on 200 and the GWS envelope otherwise; and whatever a
batch asks (subscription lists long and short, names of any length), no client holds more
subscriptions than its caps, and the bytes the server counts as held are exactly what its clients
hold. ``FUZZ_EXAMPLES`` makes the run long (``make fuzz``)."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smsdesk.bayeux import BayeuxEndpoint, BayeuxServer, BayeuxSettings
from smsdesk.bayeux.settings import MemoryBounds
from smsdesk.http.responses import bayeux_refusal

from .harness import TestPolicy as AllowAll

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "150"))
REPORT = os.environ.get("FUZZ_BAYEUX_REPORT")
CLIENT_ID = "$CLIENT"  # replaced by the handshaken client's id

json_leaf = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8)
json_value = st.recursive(
    json_leaf,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=12,
)
channels = st.sampled_from(
    [
        "/meta/handshake",
        "/meta/connect",
        "/meta/subscribe",
        "/meta/unsubscribe",
        "/meta/disconnect",
        "/meta/nope",
        "/chat/a",
        "/chat/*",
        "/chat/**",
        "/service/x",
        "",
        "/",
        "no-slash",
    ]
) | st.text(max_size=12)
message = st.fixed_dictionaries(
    {"channel": channels},
    optional={
        "clientId": st.just(CLIENT_ID) | st.text(max_size=8) | json_value,
        "id": json_value,
        "version": st.sampled_from(["1.0", "2.0"]) | json_value,
        "supportedConnectionTypes": st.lists(st.sampled_from(["long-polling", "websocket", "x"]))
        | json_value,
        "connectionType": st.sampled_from(["long-polling", "websocket"]) | json_value,
        "subscription": st.sampled_from(["/chat/a", "/chat/**", "/meta/x", "bad"])
        | st.lists(st.text(max_size=6), max_size=3)
        | st.lists(st.from_regex(r"/chat/[a-z]{1,30}", fullmatch=True), max_size=12)
        | json_value,
        "data": json_value,
        "advice": st.fixed_dictionaries({}, optional={"timeout": st.integers() | json_value}) | json_value,
        "ext": st.fixed_dictionaries(
            {},
            optional={
                "ack": st.booleans() | st.integers() | json_value,
                "timesync": st.fixed_dictionaries(
                    {"tc": st.integers(), "l": st.integers(), "o": st.integers()}
                )
                | json_value,
            },
        )
        | json_value,
    },
)
batch = st.lists(message | json_value, min_size=0, max_size=6)


def bodies() -> st.SearchStrategy[bytes]:
    encoded = batch.map(lambda b: json.dumps(b).encode())
    single = message.map(lambda m: json.dumps(m).encode())
    deep = st.integers(min_value=30, max_value=3_000).map(lambda n: b"[" * n + b"]" * n)
    return encoded | single | st.binary(max_size=64) | deep


class Tally:
    cases = 0
    server_errors = 0


@pytest.fixture(scope="module", autouse=True)
def report() -> Any:
    yield
    if REPORT:
        Path(REPORT).write_text(json.dumps({"cases": Tally.cases, "server_errors": Tally.server_errors}))


async def post(endpoint: BayeuxEndpoint, body: bytes, method: str = "POST") -> tuple[int, Any]:
    sent: list[dict[str, Any]] = []
    delivered = False

    async def receive() -> dict[str, Any]:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.sleep(3600)  # the client stays connected; a held connect ends by timeout
        return {"type": "http.disconnect"}

    async def send(event: dict[str, Any]) -> None:
        sent.append(event)

    scope = {"type": "http", "method": method, "path": "/api/v2/notifications", "headers": []}
    await endpoint(scope, receive, send)
    status = sent[0]["status"]
    payload = b"".join(e.get("body", b"") for e in sent[1:])
    return status, msgspec.json.decode(payload)


async def principal(scope: dict[str, Any]) -> object:
    return "alice"


CAPS = MemoryBounds(max_subscriptions_per_client=4, max_subscriptions_per_principal=6, max_channel_length=20)


def check_bounds(server: BayeuxServer) -> None:
    sessions = list(server.sessions())
    assert all(len(s.subscriptions) <= CAPS.max_subscriptions_per_client for s in sessions)
    assert sum(len(s.subscriptions) for s in sessions) <= CAPS.max_subscriptions_per_principal
    assert all(len(channel) <= CAPS.max_channel_length for s in sessions for channel in s.subscriptions)
    assert server.held_bytes == sum(s.pending_bytes for s in sessions)


async def exchange(body: bytes) -> list[tuple[int, Any]]:
    settings = BayeuxSettings(timeout_ms=5, sweep_interval_ms=50, max_batch=5, memory=CAPS)
    server = BayeuxServer(settings, AllowAll())
    endpoint = BayeuxEndpoint(server, principal, bayeux_refusal)
    await server.start()
    try:
        handshake = (
            b'[{"channel":"/meta/handshake","version":"1.0","supportedConnectionTypes":["long-polling"]}]'
        )
        _, replies = await post(endpoint, handshake)
        client_id = replies[0]["clientId"]
        await post(endpoint, b'[{"channel":"/meta/connect","clientId":"%s"}]' % client_id.encode())
        fuzzed = body.replace(CLIENT_ID.encode(), client_id.encode())
        # Twice: the second sees whatever state the first left (subscriptions, a disconnect...).
        first = await post(endpoint, fuzzed)
        check_bounds(server)
        second = await post(endpoint, fuzzed)
        check_bounds(server)
        return [first, second]
    finally:
        await server.close()


def check(status: int, reply: Any) -> None:
    Tally.cases += 1
    if status >= 500:
        Tally.server_errors += 1
    if status == 200:
        assert isinstance(reply, list)
        assert all(isinstance(m, dict) and ("channel" in m or "successful" in m) for m in reply), reply
    else:
        assert status in (400, 413), (status, reply)
        assert set(reply) == {"statusCode", "statusMessage"}, reply
        assert reply["statusCode"] == 10


@given(bodies())
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_any_body_gets_a_bayeux_reply_or_an_envelope(body: bytes) -> None:
    for status, reply in asyncio.run(exchange(body)):
        check(status, reply)


def test_wrong_method_is_an_envelope() -> None:
    async def run() -> tuple[int, Any]:
        server = BayeuxServer(BayeuxSettings(), AllowAll())
        return await post(BayeuxEndpoint(server, principal, bayeux_refusal), b"", method="GET")

    status, reply = asyncio.run(run())
    assert status == 405
    assert reply["statusMessage"] == "Invalid Bayeux request: 405::method_not_allowed"
