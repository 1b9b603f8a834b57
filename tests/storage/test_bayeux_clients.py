"""The cluster's Bayeux clients as two nodes write them behind (``storage/postgres_clients.py``,
docs/architecture.md §9): a flush tells gone clients from clients another node took over, and two
nodes flushing the same clients at once wait for each other instead of deadlocking."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from smsdesk.operations.ports import StoredBayeuxClient
from smsdesk.storage.postgres import PostgresStore
from smsdesk.storage.postgres_clients import PostgresBayeuxClients
from support.postgres import cluster

pytestmark = pytest.mark.slow


def _client(client_id: str) -> StoredBayeuxClient:
    return StoredBayeuxClient(client_id, "user", "tenant", True, ("/v2/me/**",), 0, 0, True, 0)


def test_a_flush_drops_gone_clients_and_leaves_those_another_node_took_over(tmp_path: Path) -> None:
    url = cluster().database_for(str(tmp_path / "clients"))
    first, second = PostgresStore(url), PostgresStore(url)
    first.migrate()

    async def scenario() -> None:
        a, b = PostgresBayeuxClients(first), PostgresBayeuxClients(second)
        for client_id in ("kept", "moved", "gone"):
            await a.insert(_client(client_id), 1_000, 0)
        assert await b.claim("moved", 2_000, "token") is not None
        await a.delete("gone")
        gone = await a.record([("kept", 5, 3_000), ("moved", 5, 3_000), ("gone", 5, 3_000)])
        assert gone == ["gone"]  # "moved" is b's now: a hears b's claim and releases it
        kept, moved = await a.get("kept"), await a.get("moved")
        assert kept is not None and (kept.delivered, kept.last_seen_ms) == (5, 3_000)
        assert moved is not None and moved.delivered == 0  # a no longer writes what b owns
        await first.aclose()
        await second.aclose()

    asyncio.run(scenario())


def test_two_nodes_flushing_the_same_clients_in_opposite_orders_do_not_deadlock(tmp_path: Path) -> None:
    url = cluster().database_for(str(tmp_path / "clients"))
    first, second = PostgresStore(url), PostgresStore(url)
    first.migrate()
    ids = [f"client-{n:03d}" for n in range(200)]

    async def scenario() -> None:
        a, b = PostgresBayeuxClients(first), PostgresBayeuxClients(second)
        for client_id in ids:
            await a.insert(_client(client_id), 1_000, 0)
        # Both believe they own every client (a hand-over in flight), as flushes can; each flush
        # sends them in its own order.
        b.node = a.node

        async def flush(directory: PostgresBayeuxClients, order: list[str], rounds: int) -> None:
            for n in range(rounds):
                assert await directory.record([(c, n, 2_000 + n) for c in order]) == []

        await asyncio.wait_for(asyncio.gather(flush(a, ids, 30), flush(b, ids[::-1], 30)), 60)
        await first.aclose()
        await second.aclose()

    asyncio.run(scenario())
