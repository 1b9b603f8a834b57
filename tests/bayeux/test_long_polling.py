"""The long-polling transport driven with raw HTTP, asserting the exact Bayeux replies."""

from __future__ import annotations

import asyncio
import base64
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import msgspec
import pytest

from smsdesk.bayeux import ServerSession
from smsdesk.http.server_protocol import ConnectionLimits, guarded_protocol

from .harness import PASSWORD, PATH, Client, Harness, data_of, is_held, meta_of, wait_until

UNKNOWN = {"reconnect": "handshake", "interval": 0}


@pytest.fixture
def pool():
    with ThreadPoolExecutor(4) as executor:
        yield executor


def ready(client: Client, *subscriptions: str) -> Client:
    client.handshake()
    client.connect()
    for subscription in subscriptions:
        assert client.subscribe(subscription)["successful"]
    return client


def test_handshake_reply(client_factory, bayeux: Harness) -> None:
    client = client_factory()
    reply = client.handshake(types=["long-polling", "callback-polling"])
    client_id = reply.pop("clientId")
    assert len(client_id) == 32
    assert reply == {
        "channel": "/meta/handshake",
        "successful": True,
        "version": "1.0",
        "minimumVersion": "1.0",
        "supportedConnectionTypes": ["websocket", "long-polling"],
        "advice": {"reconnect": "retry", "interval": 0, "timeout": 1500},
        "id": "1",
    }
    assert bayeux.listener.events == [("handshake", client_id, None)]


def test_handshake_sets_browser_cookie_once(client_factory) -> None:
    client = client_factory()
    response = client.post(
        [{"channel": "/meta/handshake", "version": "1.0", "supportedConnectionTypes": ["long-polling"]}]
    )
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("BAYEUX_BROWSER=") and "HttpOnly" in cookie
    again = client.post(
        [{"channel": "/meta/handshake", "version": "1.0", "supportedConnectionTypes": ["long-polling"]}]
    )
    assert "set-cookie" not in again.headers


def test_handshake_without_common_connection_type(client_factory) -> None:
    reply = client_factory().handshake(types=["callback-polling"])
    assert reply == {
        "channel": "/meta/handshake",
        "successful": False,
        "error": "400::unsupported_connection_types",
        "supportedConnectionTypes": ["websocket", "long-polling"],
        "advice": {"reconnect": "none", "interval": 0},
        "id": "1",
    }


def test_handshake_refused_by_policy(client_factory) -> None:
    reply = client_factory("nobody").handshake()
    assert reply == {
        "channel": "/meta/handshake",
        "successful": False,
        "error": "403::handshake_denied",
        "advice": {"reconnect": "none", "interval": 0},
        "id": "1",
    }


def test_websocket_not_offered_when_disabled(start_server) -> None:
    harness = start_server(websocket_enabled=False)
    client = Client(harness)
    assert client.handshake()["supportedConnectionTypes"] == ["long-polling"]
    assert client.handshake(types=["websocket"])["successful"] is False
    client.close()


def test_rejection_is_sent_as_is(bayeux: Harness) -> None:
    response = httpx.post(bayeux.url, json=[{"channel": "/meta/handshake"}], auth=("alice", "wrong"))
    assert response.status_code == 401
    assert response.content == b'{"error":"denied"}'
    assert response.headers["www-authenticate"] == "Basic"


def test_first_connect_returns_at_once_with_advice(client_factory) -> None:
    client = client_factory()
    client.handshake()
    assert client.connect() == [
        {
            "channel": "/meta/connect",
            "successful": True,
            "clientId": client.client_id,
            "advice": {"reconnect": "retry", "interval": 0, "timeout": 1500, "maxInterval": 10000},
            "id": "2",
        }
    ]


def test_held_connect_released_by_delivery(client_factory, bayeux: Harness, pool) -> None:
    client = ready(client_factory(), "/a/b")
    future = pool.submit(client.connect)
    wait_until(lambda: is_held(bayeux, client.client_id))
    assert bayeux.deliver(client.client_id, "/a/b", {"n": 1})
    assert future.result(5) == [
        {"channel": "/a/b", "data": {"n": 1}},
        {"channel": "/meta/connect", "successful": True, "clientId": client.client_id, "id": "4"},
    ]


@pytest.mark.slow
def test_held_connect_times_out_empty(client_factory) -> None:
    client = ready(client_factory())
    started = time.monotonic()
    assert client.connect() == [
        {"channel": "/meta/connect", "successful": True, "clientId": client.client_id, "id": "3"}
    ]
    assert time.monotonic() - started >= 1.4


def test_connect_with_zero_timeout_advice_is_not_held(client_factory) -> None:
    client = ready(client_factory())
    replies = client.connect(advice={"timeout": 0})
    assert meta_of(replies, "/meta/connect")["successful"] is True


def test_wildcard_subscriptions(client_factory, bayeux: Harness) -> None:
    one = ready(client_factory(), "/a/*")
    many = ready(client_factory(), "/a/**")
    exact = ready(client_factory(), "/a/b/c")
    for channel in ("/a/b", "/a/b/c", "/a", "/b/c"):
        for client in (one, many, exact):
            bayeux.deliver(client.client_id, channel, {"on": channel})
    assert [m["channel"] for m in data_of(one.connect())] == ["/a/b"]
    assert [m["channel"] for m in data_of(many.connect())] == ["/a/b", "/a/b/c"]
    assert [m["channel"] for m in data_of(exact.connect())] == ["/a/b/c"]


def test_deliver_returns_whether_queued(client_factory, bayeux: Harness) -> None:
    client = ready(client_factory(), "/x/**")
    assert bayeux.deliver(client.client_id, "/x/y", {}) is True
    assert bayeux.deliver(client.client_id, "/z", {}) is False


def test_subscribe_list_echoes_request_and_unsubscribe(client_factory, bayeux: Harness) -> None:
    client = ready(client_factory())
    reply = client.subscribe(["/a", "/b/*"])
    assert reply == {
        "channel": "/meta/subscribe",
        "successful": True,
        "clientId": client.client_id,
        "subscription": ["/a", "/b/*"],
        "id": "3",
    }
    assert [e for e in bayeux.listener.events if e[0] == "subscribe"] == [
        ("subscribe", client.client_id, "/a"),
        ("subscribe", client.client_id, "/b/*"),
    ]
    assert client.unsubscribe("/a") == {
        "channel": "/meta/unsubscribe",
        "successful": True,
        "clientId": client.client_id,
        "subscription": "/a",
        "id": "4",
    }
    assert bayeux.deliver(client.client_id, "/a", {}) is False
    assert bayeux.deliver(client.client_id, "/b/c", {}) is True


@pytest.mark.parametrize(
    ("subscription", "error"),
    [
        ("/meta/connect", "403::channel_forbidden"),
        ("/meta/*", "403::channel_forbidden"),
        ("/secret", "403::subscribe_denied"),
        ("no-slash", "400::channel_invalid"),
        (["/ok", "/secret"], "403::subscribe_denied"),
    ],
)
def test_subscribe_refusals(client_factory, bayeux: Harness, subscription: Any, error: str) -> None:
    bayeux.policy.denied_subscriptions.add("/secret")
    client = ready(client_factory())
    assert client.subscribe(subscription) == {
        "channel": "/meta/subscribe",
        "successful": False,
        "error": error,
        "clientId": client.client_id,
        "subscription": subscription,
        "id": "3",
    }
    assert bayeux.deliver(client.client_id, "/ok", {}) is False


def test_publish_denied_by_default_policy(client_factory) -> None:
    client = ready(client_factory(), "/denied/x")
    assert client.publish("/denied/x", {"a": 1}) == {
        "channel": "/denied/x",
        "successful": False,
        "error": "403::publish_denied",
        "id": "4",
    }
    assert data_of(client.connect(advice={"timeout": 0})) == []


def test_publish_reaches_subscribers_but_service_channels_are_never_broadcast(client_factory) -> None:
    sender = ready(client_factory("alice"))
    receiver = ready(client_factory("bob"), "/chat/*", "/service/**")
    assert sender.publish("/chat/room", {"text": "hi"}) == {
        "channel": "/chat/room",
        "successful": True,
        "id": "3",
    }
    assert sender.publish("/service/echo", {"text": "hi"})["successful"] is True
    assert sender.publish("/chat/*", {})["error"] == "400::channel_invalid"
    assert data_of(receiver.connect()) == [{"channel": "/chat/room", "data": {"text": "hi"}}]


def test_batch_replies_in_order_with_ids(client_factory) -> None:
    client = ready(client_factory())
    replies = client.send(
        {"channel": "/meta/subscribe", "clientId": client.client_id, "subscription": "/a", "id": 7},
        {"channel": "/chat/x", "clientId": client.client_id, "data": 1, "id": "eight"},
        {"channel": "/meta/unsubscribe", "clientId": client.client_id, "subscription": "/a", "id": 9},
    )
    assert [(r["channel"], r["id"], r["successful"]) for r in replies] == [
        ("/meta/subscribe", 7, True),
        ("/chat/x", "eight", True),
        ("/meta/unsubscribe", 9, True),
    ]


def test_disconnect_releases_held_connect_and_removes_session(client_factory, bayeux: Harness, pool) -> None:
    client = ready(client_factory(), "/a")
    held = pool.submit(client.connect)
    wait_until(lambda: is_held(bayeux, client.client_id))
    assert client.disconnect() == {
        "channel": "/meta/disconnect",
        "successful": True,
        "clientId": client.client_id,
        "id": "5",
    }
    assert held.result(5) == [
        {
            "channel": "/meta/connect",
            "successful": True,
            "clientId": client.client_id,
            "advice": {"reconnect": "none", "interval": 0},
            "id": "4",
        }
    ]
    assert not bayeux.has_session(client.client_id)
    assert bayeux.listener.events[-1] == ("removed", client.client_id, False)


def test_unknown_client_gets_402_and_handshake_advice(client_factory) -> None:
    client = client_factory()
    client.client_id = "nope"
    assert client.connect() == [
        {
            "channel": "/meta/connect",
            "successful": False,
            "error": "402::session_unknown",
            "advice": UNKNOWN,
            "id": "1",
        }
    ]
    assert client.subscribe("/a")["error"] == "402::session_unknown"
    assert client.publish("/a", 1)["error"] == "402::session_unknown"
    assert client.disconnect()["error"] == "402::session_unknown"


def test_other_principal_cannot_use_a_session(client_factory, bayeux: Harness) -> None:
    alice = ready(client_factory("alice"), "/a")
    mallory = client_factory("mallory")
    mallory.client_id = alice.client_id
    assert mallory.connect()[0]["error"] == "402::session_unknown"
    assert mallory.subscribe("/b")["error"] == "402::session_unknown"
    assert mallory.disconnect()["error"] == "402::session_unknown"
    assert bayeux.has_session(alice.client_id)


@pytest.mark.parametrize("suffix", ["", "/"])
def test_message_type_appended_to_url(client_factory, suffix: str) -> None:
    client = client_factory()
    handshake = {"channel": "/meta/handshake", "version": "1.0", "supportedConnectionTypes": ["long-polling"]}
    client_id = client.send(handshake, suffix=suffix + ("handshake" if suffix else ""))[0]["clientId"]
    base = {"clientId": client_id}
    connect = {**base, "channel": "/meta/connect", "connectionType": "long-polling"}
    assert client.send(connect, suffix="/connect")[0]["successful"]
    assert client.send({**base, "channel": "/meta/subscribe", "subscription": "/a"}, suffix="/subscribe")[0][
        "successful"
    ]
    assert client.send({**base, "channel": "/a", "data": 1}, suffix="/")[0]["successful"]
    assert data_of(client.send(connect, suffix="/connect")) == [{"channel": "/a", "data": 1}]
    assert client.send({**base, "channel": "/meta/unsubscribe", "subscription": "/a"}, suffix="/unsubscribe")[
        0
    ]["successful"]
    assert client.send({**base, "channel": "/meta/disconnect"}, suffix="/disconnect")[0]["successful"]


def test_overlapping_connects_release_the_older_one(client_factory, bayeux: Harness, pool) -> None:
    client = ready(client_factory(), "/a")
    first = pool.submit(client.connect)
    wait_until(lambda: is_held(bayeux, client.client_id))
    second = pool.submit(client.connect)
    assert first.result(5) == [
        {"channel": "/meta/connect", "successful": True, "clientId": client.client_id, "id": "4"}
    ]
    wait_until(lambda: is_held(bayeux, client.client_id))
    bayeux.deliver(client.client_id, "/a", "x")
    assert second.result(5) == [
        {"channel": "/a", "data": "x"},
        {"channel": "/meta/connect", "successful": True, "clientId": client.client_id, "id": "5"},
    ]


def test_multiple_clients_in_one_browser(client_factory, bayeux: Harness, pool) -> None:
    browser = httpx.Client(auth=("alice", PASSWORD), timeout=15)
    tab1 = ready(client_factory(http=browser), "/a")
    tab2 = ready(client_factory(http=browser), "/a")
    assert "BAYEUX_BROWSER" in browser.cookies
    held = pool.submit(tab1.connect)
    wait_until(lambda: is_held(bayeux, tab1.client_id))
    assert tab2.connect() == [
        {
            "channel": "/meta/connect",
            "successful": True,
            "clientId": tab2.client_id,
            "advice": {"multiple-clients": True, "reconnect": "retry", "interval": 2000, "timeout": 1500},
            "id": "4",
        }
    ]
    assert is_held(bayeux, tab1.client_id)
    bayeux.deliver(tab1.client_id, "/a", 1)
    assert data_of(held.result(5)) == [{"channel": "/a", "data": 1}]
    # the browser's slot is free again: the other tab may now hold
    future = pool.submit(tab2.connect)
    wait_until(lambda: is_held(bayeux, tab2.client_id))
    bayeux.deliver(tab2.client_id, "/a", 2)
    assert data_of(future.result(5)) == [{"channel": "/a", "data": 2}]


def test_message_stays_queued_when_the_held_connect_is_abandoned(client_factory, bayeux: Harness) -> None:
    client = ready(client_factory(), "/a")
    with pytest.raises(httpx.ReadTimeout):
        client.http.post(
            bayeux.url,
            json=[
                {"channel": "/meta/connect", "clientId": client.client_id, "connectionType": "long-polling"}
            ],
            timeout=0.3,
        )
    wait_until(lambda: not is_held(bayeux, client.client_id))
    bayeux.deliver(client.client_id, "/a", "kept")
    assert data_of(client.connect()) == [{"channel": "/a", "data": "kept"}]


def test_ack_extension_redelivers_unacknowledged_batches(client_factory, bayeux: Harness, pool) -> None:
    client = client_factory()
    assert client.handshake(ext={"ack": True})["ext"] == {"ack": True}
    first = client.connect(ext={"ack": 0})
    assert first[0]["ext"] == {"ack": 0}
    client.subscribe("/a")
    held = pool.submit(client.connect, {"ack": 0})
    wait_until(lambda: is_held(bayeux, client.client_id))
    bayeux.deliver(client.client_id, "/a", 1)
    replies = held.result(5)
    assert data_of(replies) == [{"channel": "/a", "data": 1}]
    assert meta_of(replies, "/meta/connect")["ext"] == {"ack": 1}
    # that reply is lost: the client acknowledges only batch 0, so batch 1 comes again, then 2 after it
    bayeux.deliver(client.client_id, "/a", 2)
    replies = client.connect(ext={"ack": 0})
    assert data_of(replies) == [{"channel": "/a", "data": 1}, {"channel": "/a", "data": 2}]
    assert meta_of(replies, "/meta/connect")["ext"] == {"ack": 2}
    bayeux.deliver(client.client_id, "/a", 3)
    replies = client.connect(ext={"ack": 2})
    assert data_of(replies) == [{"channel": "/a", "data": 3}]
    assert meta_of(replies, "/meta/connect")["ext"] == {"ack": 3}


def test_ack_batch_ids_start_at_the_applications_sequence(client_factory, bayeux: Harness, pool) -> None:
    """When the application numbers a session's messages (outbox positions), the first batch id a
    client hears is where it starts, never 0: a cluster node rebuilding the client from that
    acknowledgement must not replay what came before it."""

    def starts_at_41(session: ServerSession) -> None:
        session.sequence = 41

    bayeux.listener.on_handshake_hook = starts_at_41
    client = client_factory()
    client.handshake(ext={"ack": True})
    assert meta_of(client.connect(ext={"ack": 0}), "/meta/connect")["ext"] == {"ack": 41}
    client.subscribe("/a")
    held = pool.submit(client.connect, {"ack": 41})
    wait_until(lambda: is_held(bayeux, client.client_id))
    bayeux.deliver(client.client_id, "/a", 1, sequence=45)
    replies = held.result(5)
    assert data_of(replies) == [{"channel": "/a", "data": 1}]
    assert meta_of(replies, "/meta/connect")["ext"] == {"ack": 45}


def test_ack_survives_overlapping_connects(client_factory, bayeux: Harness, pool) -> None:
    client = client_factory()
    client.handshake(ext={"ack": True})
    client.connect(ext={"ack": 0})
    client.subscribe("/a")
    first = pool.submit(client.connect, {"ack": 0})
    wait_until(lambda: is_held(bayeux, client.client_id))
    bayeux.deliver(client.client_id, "/a", 1)
    assert data_of(first.result(5)) == [{"channel": "/a", "data": 1}]
    # the client never saw that reply and its next connect overlaps one still held
    second = pool.submit(client.connect, {"ack": 0})
    replies = second.result(5)
    assert data_of(replies) == [{"channel": "/a", "data": 1}]
    held = pool.submit(client.connect, {"ack": 1})
    wait_until(lambda: is_held(bayeux, client.client_id))
    third = pool.submit(client.connect, {"ack": 1})
    superseded = held.result(5)
    assert data_of(superseded) == [] and "ext" not in superseded[0]
    wait_until(lambda: is_held(bayeux, client.client_id))
    bayeux.deliver(client.client_id, "/a", 2)
    replies = third.result(5)
    assert data_of(replies) == [{"channel": "/a", "data": 2}]
    assert meta_of(replies, "/meta/connect")["ext"] == {"ack": 2}


@pytest.mark.slow
def test_idle_sessions_expire(start_server) -> None:
    harness = start_server(max_interval_ms=300)
    client = ready(Client(harness))
    wait_until(lambda: not harness.has_session(client.client_id), timeout=5)
    assert harness.listener.events[-1] == ("removed", client.client_id, True)
    assert client.connect()[0]["error"] == "402::session_unknown"
    client.close()


def test_queue_overflow_drops_the_session(start_server) -> None:
    harness = start_server(max_queue=3)
    client = ready(Client(harness), "/a")
    assert [harness.deliver(client.client_id, "/a", n) for n in range(4)] == [True, True, True, False]
    assert not harness.has_session(client.client_id)
    assert harness.listener.events[-1] == ("removed", client.client_id, False)
    assert client.connect()[0] == {
        "channel": "/meta/connect",
        "successful": False,
        "error": "402::session_unknown",
        "advice": UNKNOWN,
        "id": "4",
    }
    client.close()


def test_overflow_answers_the_held_connect(start_server, pool) -> None:
    harness = start_server(max_queue=1)
    client = ready(Client(harness), "/a")
    held = pool.submit(client.connect)
    wait_until(lambda: is_held(harness, client.client_id))

    def flood() -> list[bool]:
        session = harness.server.session(client.client_id)
        assert session is not None
        return [harness.server.deliver(session, "/a", n) for n in range(2)]

    assert harness.call(flood) == [True, False]
    assert held.result(5)[-1]["error"] == "402::session_unknown"
    client.close()


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b"not json", "400::invalid_json"),
        (b"[]", "400::message_invalid"),
        (b'"text"', "400::message_invalid"),
        (b"[1]", "400::message_invalid"),
        (b'{"id": "1"}', "400::channel_missing"),
        (b'[{"channel": 5}]', "400::channel_missing"),
    ],
)
def test_malformed_bodies_get_400_with_bayeux_errors(bayeux: Harness, body: bytes, error: str) -> None:
    response = httpx.post(bayeux.url, content=body, auth=("alice", PASSWORD))
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()[0]["error"] == error


def test_oversized_body_is_refused(start_server) -> None:
    harness = start_server(max_request_bytes=1_000)
    big = [{"channel": "/meta/handshake", "pad": "x" * 2_000}]
    response = httpx.post(harness.url, json=big, auth=("alice", PASSWORD))
    assert response.status_code == 400
    assert response.json() == [{"successful": False, "error": "400::request_too_large"}]

    def chunks():
        yield b'[{"channel": "/meta/handshake", "pad": "'
        yield b"x" * 2_000
        yield b'"}]'

    response = httpx.post(harness.url, content=chunks(), auth=("alice", PASSWORD))
    assert response.status_code == 400


def test_get_is_not_allowed(bayeux: Harness) -> None:
    response = httpx.get(bayeux.url, auth=("alice", PASSWORD))
    assert response.status_code == 405


def test_unknown_meta_channel(client_factory) -> None:
    client = ready(client_factory())
    reply = client.send({"channel": "/meta/nope", "clientId": client.client_id, "id": "x"})[0]
    assert reply == {
        "channel": "/meta/nope",
        "successful": False,
        "error": "400::unknown_meta_channel",
        "id": "x",
    }


def test_timesync_extension(client_factory) -> None:
    client = client_factory()
    tc = int(time.time() * 1000)
    reply = client.handshake(ext={"timesync": {"tc": tc, "l": 5, "o": 3}})
    sync = reply["ext"]["timesync"]
    assert set(sync) == {"tc", "ts", "p", "a"}
    assert sync["tc"] == tc
    assert sync["a"] == tc + 3 + 5 - sync["ts"]
    assert sync["p"] >= 0
    connect = client.connect(ext={"timesync": {"tc": tc, "l": 0, "o": 0}})[0]
    assert connect["ext"]["timesync"]["tc"] == tc


def test_pre_encoded_data_is_embedded_verbatim(client_factory, bayeux: Harness) -> None:
    client = ready(client_factory(), "/a")
    raw = msgspec.Raw(b'{"k":  [1, 2],  "s": "\\u00e9"}')
    assert bayeux.deliver(client.client_id, "/a", raw)
    assert bayeux.deliver(client.client_id, "/a", b'{"b" : true}')
    response = client.http.post(
        bayeux.url,
        json=[{"channel": "/meta/connect", "clientId": client.client_id, "connectionType": "long-polling"}],
    )
    assert b'{"channel":"/a","data":{"k":  [1, 2],  "s": "\\u00e9"}}' in response.content
    assert b'"data":{"b" : true}' in response.content


def test_one_encoding_for_many_recipients(client_factory, bayeux: Harness) -> None:
    clients = [ready(client_factory(f"user{i}"), "/n") for i in range(3)]

    def fan_out() -> bool:
        raw = msgspec.Raw(b'{"seq":1}')
        envelopes = []
        for client in clients:
            session = bayeux.server.session(client.client_id)
            assert session is not None and bayeux.server.deliver(session, "/n", raw)
            envelopes.append(session.queue[-1])
        return all(envelope is envelopes[0] for envelope in envelopes)

    assert bayeux.call(fan_out)
    assert all(data_of(c.connect()) == [{"channel": "/n", "data": {"seq": 1}}] for c in clients)


def test_deliver_ext_is_put_on_the_message(client_factory, bayeux: Harness) -> None:
    client = ready(client_factory(), "/a")
    bayeux.deliver(client.client_id, "/a", msgspec.Raw(b"1"), ext={"position": 42})
    assert data_of(client.connect()) == [{"channel": "/a", "data": 1, "ext": {"position": 42}}]


def test_listener_can_replay_on_subscribe(client_factory, bayeux: Harness) -> None:
    def replay(session, channel):
        bayeux.server.deliver(session, channel, {"replayed": True})

    bayeux.listener.on_subscribe_hook = replay
    client = ready(client_factory(), "/a")
    assert data_of(client.connect()) == [{"channel": "/a", "data": {"replayed": True}}]


def test_handshake_ext_reaches_listener(client_factory, bayeux: Harness) -> None:
    client = client_factory()
    client.handshake(ext={"replay": {"after": 3}})
    assert bayeux.listener.events == [("handshake", client.client_id, {"replay": {"after": 3}})]


def test_close_answers_held_connects(start_server, pool) -> None:
    harness = start_server()
    client = ready(Client(harness), "/a")
    held = pool.submit(client.connect)
    wait_until(lambda: is_held(harness, client.client_id))

    async def close() -> None:
        await harness.server.close()

    assert harness.loop is not None
    import asyncio

    asyncio.run_coroutine_threadsafe(close(), harness.loop).result(5)
    assert held.result(5)[0]["error"] == "402::session_unknown"
    client.close()


def _raw_connect(client: Client) -> bytes:
    """A ``/meta/connect`` for ``client`` as raw HTTP, to send on a socket the test then closes."""
    body = msgspec.json.encode(
        [{"channel": "/meta/connect", "clientId": client.client_id, "connectionType": "long-polling"}]
    )
    token = base64.b64encode(f"alice:{PASSWORD}".encode()).decode()
    head = (
        f"POST {PATH} HTTP/1.1\r\nHost: x\r\nAuthorization: Basic {token}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


@pytest.mark.parametrize("protocol", ["uvicorn", "smsdesk"])
def test_a_held_connect_whose_client_vanished_leaves_the_next_message_queued(
    start_server, protocol: str
) -> None:
    """The server must learn that a long-poll's client left (smsdesk's HTTP protocol tells it
    through the ``disconnect_watch`` extension; under plain uvicorn a task awaits ``receive()``),
    or the next message would be written into the dead connection and lost."""
    http = guarded_protocol(ConnectionLimits()) if protocol == "smsdesk" else "auto"
    harness = start_server(http=http, timeout_ms=20_000)
    client = ready(Client(harness), "/a")
    with socket.create_connection(("127.0.0.1", harness.port)) as held:
        held.sendall(_raw_connect(client))
        wait_until(lambda: is_held(harness, client.client_id))
    wait_until(lambda: not is_held(harness, client.client_id))  # the server noticed
    assert harness.deliver(client.client_id, "/a", "kept")
    assert [m["data"] for m in data_of(client.connect())] == ["kept"]
    client.close()


class _SlowCluster:
    """SharedClients whose ``before`` takes a while on connects, as a cluster's database reads can."""

    async def before(self, server: Any, messages: list[dict[str, Any]], principal: object) -> None:
        if any(m["channel"] == "/meta/connect" for m in messages):
            await asyncio.sleep(0.3)

    async def after(self, server: Any, messages: Any, replies: Any, principal: object) -> None:
        return None

    async def sent(self, connect: Any) -> bool:
        return True

    def pushed(self, session: Any) -> None:
        return None


@pytest.mark.parametrize("protocol", ["uvicorn", "smsdesk"])
def test_a_connect_whose_client_left_before_it_was_held_is_not_held(start_server, protocol: str) -> None:
    """The client hangs up after its connect was read but before the server holds it (a cluster
    makes its copy of the client current meanwhile): the server must know at once that nobody is
    there, or the next message would be written into the dead connection."""
    http = guarded_protocol(ConnectionLimits()) if protocol == "smsdesk" else "auto"
    harness = start_server(http=http, timeout_ms=20_000)
    client = ready(Client(harness), "/a")
    harness.server.shared = _SlowCluster()
    with socket.create_connection(("127.0.0.1", harness.port)) as leaving:
        leaving.sendall(_raw_connect(client))
        time.sleep(0.1)  # read, and now in the slow part
    time.sleep(0.5)  # the connect has been handled since
    assert not is_held(harness, client.client_id)
    assert harness.deliver(client.client_id, "/a", "kept")
    assert [m["data"] for m in data_of(client.connect())] == ["kept"]
    client.close()
