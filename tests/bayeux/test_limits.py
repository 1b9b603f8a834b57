"""One principal cannot hold unbounded server memory with Bayeux handshakes: a per-principal cap
(its oldest client goes, nobody else's) and a short expiry for clients that never connect."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx

from .harness import PASSWORD, Client, Harness, wait_until

HANDSHAKE = {"channel": "/meta/handshake", "version": "1.0", "supportedConnectionTypes": ["long-polling"]}


def session_count(harness: Harness) -> int:
    return harness.call(lambda: len(list(harness.server.sessions())))


def test_a_principal_beyond_its_cap_loses_its_oldest_client_only(
    start_server: Callable[..., Harness],
) -> None:
    harness = start_server(max_clients_per_principal=3)
    bob = Client(harness, "bob")
    bob.handshake()
    alices = [Client(harness, "alice") for _ in range(5)]
    for client in alices:
        client.handshake()
    alive = [harness.has_session(c.client_id) for c in alices]
    assert alive == [False, False, True, True, True]
    assert harness.has_session(bob.client_id)
    # The evicted client is told to start over, like an expired one.
    reply = alices[0].connect()[-1]
    assert reply["error"] == "402::session_unknown"
    assert reply["advice"]["reconnect"] == "handshake"


def test_ten_thousand_handshakes_of_one_user_hold_at_most_the_cap(
    start_server: Callable[..., Harness],
) -> None:
    harness = start_server(max_clients_per_principal=32)
    with httpx.Client(auth=("mallory", PASSWORD)) as http:
        # 100 handshakes per request (the batch limit), 100 requests.
        for _ in range(100):
            replies = http.post(harness.url, json=[HANDSHAKE] * 100).json()
            assert all(r["successful"] for r in replies)
    assert session_count(harness) == 32


def test_a_client_that_never_connects_expires_quickly(start_server: Callable[..., Harness]) -> None:
    harness = start_server(unconnected_expiry_ms=300, max_interval_ms=10_000)
    idle = Client(harness, "alice")
    reply: dict[str, Any] = idle.send(dict(HANDSHAKE))[0]
    idle.client_id = reply["clientId"]
    connected = Client(harness, "alice")
    connected.handshake()
    connected.connect()  # the first connect returns at once; the client then counts as connected
    wait_until(lambda: not harness.has_session(idle.client_id), timeout=5)
    time.sleep(0.3)
    assert harness.has_session(connected.client_id)


def test_a_batch_beyond_the_limit_is_refused_whole(start_server: Callable[..., Harness]) -> None:
    harness = start_server(max_batch=5)
    response = httpx.post(harness.url, json=[HANDSHAKE] * 6, auth=("alice", PASSWORD))
    assert response.status_code == 400
    assert response.json() == [{"successful": False, "error": "400::batch_too_large"}]
    assert session_count(harness) == 0
