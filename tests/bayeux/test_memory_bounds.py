"""What a client controls the count of is bounded in bytes too: subscriptions per client and per
principal, bytes queued per client and per server, and a websocket client that stops reading is
dropped with everything held for it, its socket buffer included (measured with tracemalloc on the
in-process server)."""

from __future__ import annotations

import asyncio
import gc
import time
import tracemalloc
from collections.abc import Callable

import httpx
import msgspec

from smsdesk.bayeux.server import ROOM_PER_MESSAGE
from smsdesk.bayeux.settings import MemoryBounds
from smsdesk.http.server_protocol import ConnectionLimits, guarded_protocol, guarded_websocket_protocol
from support.slow_websocket import SlowWebSocket

from .harness import PASSWORD, PATH, Client, Harness, wait_until

MiB = 1_048_576


def basic(user: str) -> str:
    import base64

    return "Basic " + base64.b64encode(f"{user}:{PASSWORD}".encode()).decode()


def held_bytes(harness: Harness) -> int:
    return harness.call(lambda: harness.server.held_bytes)


def test_subscriptions_beyond_a_clients_cap_are_refused_and_it_keeps_what_it_has(
    start_server: Callable[..., Harness],
) -> None:
    harness = start_server(memory=MemoryBounds(max_subscriptions_per_client=3))
    client = Client(harness)
    client.handshake()
    assert client.subscribe(["/a", "/b"])["successful"]
    assert client.subscribe("/a")["successful"]  # already held: costs nothing
    refused = client.subscribe(["/c", "/d"])
    assert refused["error"] == "403::too_many_subscriptions" and refused["subscription"] == ["/c", "/d"]
    assert client.subscribe("/c")["successful"]
    assert client.subscribe("/d")["error"] == "403::too_many_subscriptions"
    assert client.unsubscribe("/a")["successful"]
    assert client.subscribe("/d")["successful"]
    assert harness.call(lambda: sorted(harness.server.session(client.client_id).subscriptions)) == [
        "/b",
        "/c",
        "/d",
    ]


def test_a_principals_clients_share_one_subscription_cap_and_nobody_elses(
    start_server: Callable[..., Harness],
) -> None:
    harness = start_server(
        memory=MemoryBounds(max_subscriptions_per_client=10, max_subscriptions_per_principal=12)
    )
    first, second, other = Client(harness, "alice"), Client(harness, "alice"), Client(harness, "bob")
    for client in (first, second, other):
        client.handshake()
    assert first.subscribe([f"/a/{n}" for n in range(10)])["successful"]
    assert second.subscribe(["/b/1", "/b/2"])["successful"]
    assert second.subscribe("/b/3")["error"] == "403::too_many_subscriptions"
    assert other.subscribe([f"/c/{n}" for n in range(10)])["successful"]


def test_a_channel_too_long_is_refused(start_server: Callable[..., Harness]) -> None:
    harness = start_server(memory=MemoryBounds(max_channel_length=20))
    client = Client(harness)
    client.handshake()
    assert client.subscribe("/" + "x" * 19)["successful"]
    assert client.subscribe("/" + "x" * 20)["error"] == "400::channel_too_long"


def test_a_subscription_flood_holds_no_more_than_the_cap(start_server: Callable[..., Harness]) -> None:
    """The flood that grew a server from 59 to 274 MB (2,000,000 distinct channels from one client;
    here 200,000, ten per message, and ``tests/reliability/test_floods.py`` sends the two million)."""
    harness = start_server(max_interval_ms=120_000, memory=MemoryBounds(max_subscriptions_per_client=64))
    client = Client(harness)
    client.handshake()
    client.connect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        with httpx.Client(auth=("alice", PASSWORD), timeout=30) as http:
            for sent in range(0, 200_000, 1_000):
                batch = [
                    {
                        "channel": "/meta/subscribe",
                        "clientId": client.client_id,
                        "subscription": [f"/v2/me/{sent + i * 10 + n}" for n in range(10)],
                    }
                    for i in range(100)
                ]
                assert http.post(harness.url, json=batch).status_code == 200
        gc.collect()
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert harness.call(lambda: len(harness.server.session(client.client_id).subscriptions)) == 60
    assert grown < MiB, grown


def test_a_client_is_dropped_once_it_holds_more_bytes_than_its_cap(
    start_server: Callable[..., Harness],
) -> None:
    harness = start_server(memory=MemoryBounds(max_queue_bytes=100_000))
    slow, other = Client(harness), Client(harness, "bob")
    for client in (slow, other):
        client.handshake()
        client.connect()
        client.subscribe("/a")
    payload = msgspec.Raw(b'"' + b"x" * 20_000 + b'"')
    for _ in range(4):
        assert harness.deliver(slow.client_id, "/a", payload)
        assert harness.deliver(other.client_id, "/a", payload)
    assert not harness.deliver(slow.client_id, "/a", payload)  # the fifth would pass 100,000 bytes
    assert not harness.has_session(slow.client_id)
    assert slow.connect()[-1]["error"] == "402::session_unknown"
    assert len(other.connect()) == 5  # its four messages, then the reply
    assert held_bytes(harness) == 0


def test_one_message_larger_than_the_cap_still_goes_to_a_client_holding_nothing(
    start_server: Callable[..., Harness],
) -> None:
    harness = start_server(memory=MemoryBounds(max_queue_bytes=10_000))
    client = Client(harness)
    client.handshake()
    client.connect()
    client.subscribe("/a")
    assert harness.deliver(client.client_id, "/a", "y" * 50_000)
    assert client.connect()[0]["data"] == "y" * 50_000


def test_the_server_drops_the_heaviest_clients_when_all_together_hold_too_much(
    start_server: Callable[..., Harness],
) -> None:
    harness = start_server(memory=MemoryBounds(max_queue_bytes=MiB, max_node_queue_bytes=200_000))
    heavy, light = Client(harness, "alice"), Client(harness, "bob")
    for client in (heavy, light):
        client.handshake()
        client.connect()
        client.subscribe("/a")
    for _ in range(8):
        assert harness.deliver(heavy.client_id, "/a", "h" * 20_000)
    assert harness.deliver(light.client_id, "/a", "l" * 20_000)
    # 180,000 bytes held: the next 20,000 do not fit, and the client holding the most goes.
    assert harness.deliver(light.client_id, "/a", "l" * 20_000)
    assert not harness.has_session(heavy.client_id) and harness.has_session(light.client_id)
    assert held_bytes(harness) < 50_000


def test_acknowledged_messages_are_released_and_unacknowledged_ones_counted(
    start_server: Callable[..., Harness],
) -> None:
    harness = start_server()
    client = Client(harness)
    client.handshake(ext={"ack": True})
    client.connect(ext={"ack": 0})
    client.subscribe("/a")
    harness.deliver(client.client_id, "/a", "z" * 1_000)
    replies = client.connect(ext={"ack": 0})
    batch = replies[-1]["ext"]["ack"]
    assert held_bytes(harness) > 1_000  # sent, not acknowledged: kept for a resend
    harness.call(lambda: harness.server.remove(harness.server.session(client.client_id), "gone"))
    assert held_bytes(harness) == 0
    again = Client(harness)
    again.handshake(ext={"ack": True})
    again.connect(ext={"ack": 0})
    again.subscribe("/a")
    harness.deliver(again.client_id, "/a", "z" * 1_000)
    batch = again.connect(ext={"ack": 0})[-1]["ext"]["ack"]
    assert again.connect(ext={"ack": batch}, advice={"timeout": 0})[-1]["successful"]
    assert held_bytes(harness) == 0


def test_has_room_leaves_space_for_what_a_caller_adds_after(start_server: Callable[..., Harness]) -> None:
    harness = start_server(max_queue=10, memory=MemoryBounds(max_queue_bytes=10_000))
    client = Client(harness)
    client.handshake()
    client.subscribe("/a")

    def room(size: int, then: int = 0) -> bool:
        return harness.call(
            lambda: harness.server.has_room(harness.server.session(client.client_id), size, then)
        )

    assert room(50_000)  # nothing held: one message of any size goes
    harness.deliver(client.client_id, "/a", "q" * 5_000)
    assert room(4_000) and not room(4_000, then=2)
    assert not room(10_000 - 5_000 - 2 * ROOM_PER_MESSAGE, then=2)


def test_a_websocket_that_stops_reading_is_dropped_and_everything_it_held_released(
    start_server: Callable[..., Harness],
) -> None:
    """20 clients that never read, 20 KB notifications: the flood that took a server from 60 to
    387 MB and kept it there."""
    limits = ConnectionLimits(send_timeout_s=30, websocket_high_water_bytes=65_536)
    harness = start_server(
        http=guarded_protocol(limits),
        ws=guarded_websocket_protocol(limits),
        timeout_ms=25_000,
        memory=MemoryBounds(max_queue_bytes=2 * MiB, max_node_queue_bytes=16 * MiB),
    )
    tracemalloc.start()
    try:
        clients = [
            SlowWebSocket("127.0.0.1", harness.port, PATH, basic("alice")).start("/a") for _ in range(20)
        ]
        wait_until(lambda: harness.call(lambda: len(list(harness.server.sessions()))) == 20)
        gc.collect()
        before = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        ids = [c.client_id for c in clients]

        async def flood() -> int:
            """2,000 notifications of 20 KB to every client, at the pace a busy fan-out delivers."""
            delivered = 0
            for number in range(2_000):
                # One object for every client, as fan-out does; a new one per notification.
                payload = msgspec.Raw(b'"' + b"n" * 20_000 + str(number).encode() + b'"')
                for client_id in ids:
                    session = harness.server.session(client_id)
                    if session is not None and harness.server.deliver(session, "/a", payload):
                        delivered += 1
                await asyncio.sleep(0.0005)  # the writers run in between
            return delivered

        assert harness.loop is not None
        delivered = asyncio.run_coroutine_threadsafe(flood(), harness.loop).result(120)
        wait_until(lambda: harness.call(lambda: len(list(harness.server.sessions()))) == 0, timeout=10)
        time.sleep(0.5)  # the aborted transports' connection_lost
        gc.collect()
        peak = tracemalloc.get_traced_memory()[1] - before
        after = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert held_bytes(harness) == 0
    assert delivered < 20 * 2_000 / 2  # each was dropped long before the end
    assert all(client.cut_off() for client in clients)  # the server dropped every socket
    # Without the bounds the server held 2,000 x 20 KB for them (40 MB, and 120 MB in frames and
    # copies); now at most what a client may hold (2 MiB) and what the sockets buffer, once.
    assert peak < 16 * MiB, peak
    assert after < MiB, after  # everything held for them was let go
    for client in clients:
        client.close()
