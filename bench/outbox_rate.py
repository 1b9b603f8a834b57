"""One PostgreSQL primary's rate for the outbox append every notifying operation ends with
(``storage/postgres.py`` ``_APPEND``): commits per second with 1 and with 16 connections on one
``outbox_head`` row, and on 4 head rows (a partitioned outbox), with and without NOTIFY, plus the
commit latency. docs/scaling.md derives the outbox ceiling from these."""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

import operations
from operations import progress

from local_services import ThrowawayPostgres

APPEND_SCRATCH = """
CREATE TABLE IF NOT EXISTS bench_outbox_head (id INTEGER PRIMARY KEY, position BIGINT NOT NULL);
CREATE TABLE IF NOT EXISTS bench_outbox (position BIGINT NOT NULL, head INTEGER NOT NULL,
    tenant_id TEXT, user_id TEXT, channel TEXT, payload BYTEA, created_ms BIGINT,
    PRIMARY KEY (head, position));
"""
# The same shape as storage/postgres.py _APPEND (head row update, pg_notify, rows numbered from the
# head), against scratch tables whose head row the caller chooses, so several heads can be measured.
APPEND = """
WITH head AS (
    UPDATE bench_outbox_head SET position = position + 1 WHERE id = $1 RETURNING position
), poke AS (
    SELECT pg_notify('bench_outbox', head.position::text) FROM head
), rows AS (
    INSERT INTO bench_outbox (position, head, tenant_id, user_id, channel, payload, created_ms)
    SELECT head.position, $1, 'bench', 'user', '/v2/me/smssessions', $2, 0 FROM head, poke
)
SELECT position FROM head
"""
# The same without the poke: what the outbox costs when nodes learn of commits otherwise (polling).
# PostgreSQL serialises the commits of every transaction that called NOTIFY on one global lock, so
# comparing the two tells which of the head row and NOTIFY bounds the rate.
APPEND_WITHOUT_NOTIFY = """
WITH head AS (
    UPDATE bench_outbox_head SET position = position + 1 WHERE id = $1 RETURNING position
), rows AS (
    INSERT INTO bench_outbox (position, head, tenant_id, user_id, channel, payload, created_ms)
    SELECT head.position, $1, 'bench', 'user', '/v2/me/smssessions', $2, 0 FROM head
)
SELECT position FROM head
"""


async def append_rate(
    database_url: str, connections: int, heads: int, duration: float, synchronous_commit: bool, notify: bool
) -> dict[str, float]:
    import asyncpg

    setup = await asyncio.wait_for(asyncpg.connect(database_url), 30)
    await setup.execute(APPEND_SCRATCH)
    await setup.execute("TRUNCATE bench_outbox_head, bench_outbox")
    await setup.executemany(
        "INSERT INTO bench_outbox_head (id, position) VALUES ($1, 0)", [(h,) for h in range(heads)]
    )
    await setup.close()
    payload = b"x" * 1000
    statement = APPEND if notify else APPEND_WITHOUT_NOTIFY
    latencies: list[float] = []
    settings = {"synchronous_commit": "on" if synchronous_commit else "off"}
    conns = [
        await asyncio.wait_for(asyncpg.connect(database_url, server_settings=settings), 30)
        for _ in range(connections)
    ]

    async def writer(index: int, deadline: float) -> None:
        conn = conns[index]
        while (started := time.perf_counter()) < deadline:
            async with conn.transaction():
                await conn.fetchval(statement, index % heads, payload, timeout=30)
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    deadline = started + duration
    await asyncio.gather(*(writer(i, deadline) for i in range(connections)))
    elapsed = time.perf_counter() - started
    for conn in conns:
        await conn.close()
    return {
        "connections": connections,
        "heads": heads,
        "synchronous_commit": synchronous_commit,
        "notify": notify,
        "commits_per_s": len(latencies) / elapsed,
        "latency_p50_ms": statistics.median(latencies) * 1000,
        "latency_p99_ms": operations.percentile(latencies, 99) * 1000,
    }


async def store_append_rate(
    database_url: str, connections: int, duration: float, synchronous_commit: bool
) -> dict[str, float]:
    """smsdesk's own append (``PostgresStore``: temporary positions, numbered inside COMMIT by the
    trigger of migration 0011), each transaction one 1 KB row, announced with its rows as on a
    cluster: the figure to compare with the lines above, which hold the head row across a round trip."""
    from smsdesk.operations.ports import Notification
    from smsdesk.storage.postgres import PostgresStore

    store = PostgresStore(database_url, pool_size=connections)
    await asyncio.to_thread(store.migrate)
    pool = await store.pool()
    await pool.execute(
        f"ALTER DATABASE {database_url.rsplit('/', 1)[1]} SET synchronous_commit = {'on' if synchronous_commit else 'off'}"
    )
    await store.aclose()
    store = PostgresStore(database_url, pool_size=connections)
    note = Notification("bench", "user", "/v2/me/smssessions", b'"' + b"x" * 998 + b'"')
    latencies: list[float] = []

    async def writer(deadline: float) -> None:
        while (started := time.perf_counter()) < deadline:
            async with store.transaction() as tx:
                await tx.outbox.append([note])
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    deadline = started + duration
    await asyncio.gather(*(writer(deadline) for _ in range(connections)))
    elapsed = time.perf_counter() - started
    await store.aclose()
    return {
        "connections": connections,
        "heads": 1,
        "synchronous_commit": synchronous_commit,
        "notify": True,
        "at_commit": True,
        "commits_per_s": len(latencies) / elapsed,
        "latency_p50_ms": statistics.median(latencies) * 1000,
        "latency_p99_ms": operations.percentile(latencies, 99) * 1000,
    }


async def write_rate_scenario(
    args: argparse.Namespace, postgres: ThrowawayPostgres
) -> list[dict[str, float]]:
    database_url = postgres.database_for("write-rate")
    figures = []
    for synchronous_commit in (True, False):
        for connections, heads, notify in (
            (1, 1, True),
            (16, 1, True),
            (16, 4, True),
            (16, 1, False),
            (16, 4, False),
        ):
            result = await append_rate(
                database_url, connections, heads, args.write_duration, synchronous_commit, notify
            )
            progress(
                f"outbox append, synchronous_commit {'on' if synchronous_commit else 'off'}, "
                f"{connections} connection(s) on {heads} head row(s), {'with' if notify else 'without'} NOTIFY: "
                f"{result['commits_per_s']:,.0f} commits/s, latency p50/p99 "
                f"{result['latency_p50_ms']:.2f}/{result['latency_p99_ms']:.2f} ms"
            )
            figures.append(result)
        for connections in (1, 16):
            result = await store_append_rate(
                postgres.database_for(f"write-rate-store-{synchronous_commit}"),
                connections,
                args.write_duration,
                synchronous_commit,
            )
            progress(
                f"smsdesk's append (numbered at commit), synchronous_commit {'on' if synchronous_commit else 'off'}, "
                f"{connections} connection(s): {result['commits_per_s']:,.0f} commits/s, latency p50/p99 "
                f"{result['latency_p50_ms']:.2f}/{result['latency_p99_ms']:.2f} ms"
            )
            figures.append(result)
    return figures
