"""Network faults on a live server: connections dropped mid-long-poll (R1), overlapping
``/meta/connect`` requests, and the subscribe/publish race (R8)."""

from __future__ import annotations

import base64
import json
import os
import socket
import threading
import time
from typing import Any

import httpx
import pytest

from support.agents import PASSWORD, Agent, ContactCenter
from support.bayeux_client import BayeuxClient
from support.server import RunningServer

from .listener import PATH, Listener, assert_exactly_once_in_order, chatting, position

ITERATIONS = int(os.environ.get("R8_ITERATIONS", "1000"))  # fewer when iterating locally


def update(agent: Agent, session_id: str, n: int) -> int:
    reply = agent.op(session_id, "UpdateUserData", userData={"n": n})
    assert reply["statusCode"] == 0, reply
    return int(reply["referenceId"])


def raw_post(server: RunningServer, auth: tuple[str, str], messages: list[dict[str, Any]]) -> socket.socket:
    """Send a Bayeux POST on a bare socket and return it unread, so the test decides when the
    client 'loses' the connection."""
    body = json.dumps(messages).encode()
    token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
    head = (
        f"POST {PATH} HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\nAuthorization: Basic {token}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    sock = socket.create_connection(("127.0.0.1", server.port))
    sock.sendall(head.encode() + body)
    return sock


def drop(sock: socket.socket) -> None:
    """Close abruptly (RST, nothing read), as a network failure would."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    sock.close()


def test_every_notification_carries_its_position_and_the_handshake_the_current_one(cc: ContactCenter) -> None:
    agent = cc.agent(0).listen().log_in()
    session_id = chatting(agent, cc.sms, cc.customer_number())
    listener = Listener(cc.server, (agent.user_name, PASSWORD))
    listener.handshake()
    start = listener.handshake_position
    assert start is not None and start > 0
    wanted = [update(agent, session_id, n) for n in range(3)]
    listener.until(lambda: len(listener.reference_ids()) >= 3)
    assert listener.reference_ids() == wanted
    positions = listener.positions()
    assert positions == sorted(set(positions)) and positions[0] > start
    listener.close()


def test_a_resumed_client_gets_what_it_missed_once_then_live(cc: ContactCenter) -> None:
    agent = cc.agent(0).listen().log_in()
    session_id = chatting(agent, cc.sms, cc.customer_number())
    listener = Listener(cc.server, (agent.user_name, PASSWORD), ack=False)
    listener.handshake()
    acknowledged = [update(agent, session_id, 0)]
    listener.until(lambda: len(listener.reference_ids()) == 1)
    # The client goes away for a while (no disconnect: a dead network), operations go on.
    acknowledged += [update(agent, session_id, n) for n in range(1, 6)]
    listener.client_id = None
    listener.poll()  # re-handshakes with resume = the last position it saw
    acknowledged += [update(agent, session_id, n) for n in range(6, 9)]
    listener.until(lambda: len(listener.reference_ids()) >= 9)
    assert listener.reference_ids() == acknowledged
    assert_exactly_once_in_order(listener, acknowledged)
    listener.close()


@pytest.mark.parametrize("ack", [True, False], ids=["ack", "resume-only"])
def test_connections_dropped_mid_long_poll_lose_nothing(cc: ContactCenter, ack: bool) -> None:
    agent = cc.agent(0).listen().log_in()
    session_id = chatting(agent, cc.sms, cc.customer_number())
    auth = (agent.user_name, PASSWORD)
    listener = Listener(cc.server, auth, ack=ack)
    listener.handshake()
    acknowledged: list[int] = []
    for round_ in range(8):
        # A held connect whose connection dies: before anything is sent (even rounds), or after
        # the server wrote a reply carrying a notification that the client never read (odd).
        sock = raw_post(cc.server, auth, [listener.connect_message()])
        time.sleep(0.1)
        if round_ % 2:
            acknowledged.append(update(agent, session_id, round_))
            time.sleep(0.1)
            drop(sock)
        else:
            drop(sock)
            time.sleep(0.05)
            acknowledged.append(update(agent, session_id, round_))
        if not ack:
            # Without the ack extension a reply lost in the network is lost to the session; a
            # client whose poll failed re-handshakes with its resume token instead.
            listener.client_id = None
        listener.until(lambda: set(acknowledged) <= set(listener.reference_ids()), what=f"round {round_}")
    assert_exactly_once_in_order(listener, acknowledged)
    assert listener.reference_ids() == acknowledged
    listener.close()


def test_overlapping_connects_with_ack_deliver_each_notification_once_in_order(cc: ContactCenter) -> None:
    agent = cc.agent(0).listen().log_in()
    session_id = chatting(agent, cc.sms, cc.customer_number())
    auth = (agent.user_name, PASSWORD)
    listener = Listener(cc.server, auth, ack=True)
    listener.handshake()
    other = httpx.Client(base_url=cc.server.base_url, auth=auth, timeout=30)
    acknowledged: list[int] = []
    for round_ in range(12):
        # Connect A is held; the client gives up on it (its reply is discarded, as after a client
        # side timeout) and sends B, which must carry everything, A's batch included. The
        # notification goes out while A is held (A's reply is lost), or while B is (A superseded).
        abandoned = threading.Thread(
            target=other.post, args=(PATH,), kwargs={"json": [listener.connect_message()]}
        )
        abandoned.start()
        time.sleep(0.05)
        while_a = round_ % 2 == 0
        if while_a:
            acknowledged.append(update(agent, session_id, round_))
            time.sleep(0.05)
        b = threading.Thread(target=listener.poll)
        b.start()
        if not while_a:
            time.sleep(0.05)
            acknowledged.append(update(agent, session_id, round_))
        b.join(10)
        abandoned.join(10)
        listener.until(lambda: set(acknowledged) <= set(listener.reference_ids()), what=f"round {round_}")
    assert listener.handshakes == 1
    assert_exactly_once_in_order(listener, acknowledged)
    assert listener.reference_ids() == acknowledged
    other.close()
    listener.close()


@pytest.mark.slow
def test_a_notification_committed_after_the_subscribe_reply_always_arrives(
    cc: ContactCenter, backend: str
) -> None:
    """R8: 1,000 times, a fresh client handshakes and subscribes, and the very next request is an
    operation. Its notification must reach that client, within a bounded time."""
    agent = cc.agent(0).listen().log_in()
    session_id = chatting(agent, cc.sms, cc.customer_number())
    auth = (agent.user_name, PASSWORD)
    started = time.monotonic()
    slowest = 0.0
    client = BayeuxClient(cc.server.base_url, auth)  # one HTTP connection; a new Bayeux client each time
    for n in range(ITERATIONS):
        client.received = []
        reply = client.send(
            {"channel": "/meta/handshake", "version": "1.0", "supportedConnectionTypes": ["long-polling"]}
        )[0]
        client.client_id = reply["clientId"]
        assert client.subscribe("/v2/me/smssessions")[0]["successful"]
        t0 = time.monotonic()
        reference_id = update(agent, session_id, n)
        client.wait_for(
            lambda received, r=reference_id: any(m["data"].get("referenceId") == r for m in received),  # type: ignore[misc]
            timeout=5,
        )
        slowest = max(slowest, time.monotonic() - t0)
        (message,) = client.received
        assert position(message) > 0
        client.send({"channel": "/meta/disconnect", "clientId": client.client_id})
    client.disconnect()
    # A bound on liveness, not a speed target: on PostgreSQL each Bayeux client is also written to
    # the database (handshake, subscribe, disconnect), which costs round trips.
    assert time.monotonic() - started < (120 if backend == "sqlite" else 300)
    assert slowest < 5
