"""A commit whose connection dies is settled by asking the database (``pg_xact_status``), on a real
PostgreSQL: committed → the operation is done (answered as usual); not committed → not done
(``StorageUnavailable``); no transaction id to ask about → in doubt (``StorageInDoubt``).

The committed-but-unanswered case is made as a failover makes it: a COMMIT waiting for a synchronous
standby (one that never answers: ``synchronous_standby_names`` names nobody) has committed locally
when its backend is terminated, and the client sees its connection die inside COMMIT. The server is
one of this test's own, since that setting holds for the whole server.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import asyncpg
import pytest

from local_services import ThrowawayPostgres
from smsdesk.operations.ports import Notification, StorageInDoubt, StorageUnavailable
from smsdesk.storage.postgres import PostgresStore

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def waiting_standby() -> Iterator[ThrowawayPostgres]:
    server = ThrowawayPostgres().start()
    server.database_for("in-doubt")
    url = server.url("postgres")

    async def configure() -> None:
        conn = await asyncpg.connect(url)
        try:
            await conn.execute("ALTER SYSTEM SET synchronous_standby_names = 'nobody'")
            await conn.execute("SELECT pg_reload_conf()")
        finally:
            await conn.close()

    asyncio.run(configure())
    yield server
    server.stop()


def _note() -> Notification:
    return Notification("t", "u", "/v2/me/smssessions", b'{"n":1}')


async def _terminate_when(url: str, pid: int, wait_event: str | None) -> None:
    """Terminate backend ``pid`` once it waits on ``wait_event`` (None: at once)."""
    conn = await asyncpg.connect(url)
    try:
        for _ in range(500):
            event = await conn.fetchval("SELECT wait_event FROM pg_stat_activity WHERE pid = $1", pid)
            if wait_event is None or event == wait_event:
                await conn.execute("SELECT pg_terminate_backend($1)", pid)
                return
            await asyncio.sleep(0.01)
        raise AssertionError(f"backend {pid} never waited on {wait_event}")
    finally:
        await conn.close()


async def _count(url: str) -> int:
    conn = await asyncpg.connect(url)
    try:
        return int(await conn.fetchval("SELECT COUNT(*) FROM outbox WHERE payload = $1", b'{"n":1}'))
    finally:
        await conn.close()


def test_a_commit_cut_off_after_it_committed_is_answered_as_done(waiting_standby: ThrowawayPostgres) -> None:
    url = waiting_standby.database_for("in-doubt")
    store = PostgresStore(url, in_doubt_wait_s=10)
    store.migrate()

    async def scenario() -> None:
        before = await _count(url)
        async with store.transaction() as tx:
            conn = tx.db.conn  # type: ignore[attr-defined]
            await conn.execute("SET LOCAL synchronous_commit = on")
            pid = await conn.fetchval("SELECT pg_backend_pid()")
            await tx.outbox.append([_note()])
            killer = asyncio.create_task(_terminate_when(url, pid, "SyncRep"))
        await killer
        assert await _count(url) == before + 1
        assert not store.availability.available or store.availability.outages == 1
        await store.aclose()

    asyncio.run(scenario())


def test_a_commit_cut_off_before_it_committed_is_answered_as_not_done(
    waiting_standby: ThrowawayPostgres,
) -> None:
    url = waiting_standby.database_for("in-doubt")
    store = PostgresStore(url, in_doubt_wait_s=10)
    store.migrate()

    async def scenario() -> None:
        before = await _count(url)
        with pytest.raises(StorageUnavailable) as raised:
            async with store.transaction() as tx:
                conn = tx.db.conn  # type: ignore[attr-defined]
                pid = await conn.fetchval("SELECT pg_backend_pid()")
                await tx.outbox.append([_note()])
                await _terminate_when(url, pid, None)  # gone before COMMIT is sent
        assert not isinstance(raised.value, StorageInDoubt)
        assert await _count(url) == before
        await store.aclose()

    asyncio.run(scenario())


def test_a_commit_cut_off_with_no_transaction_id_known_is_in_doubt(
    waiting_standby: ThrowawayPostgres,
) -> None:
    url = waiting_standby.database_for("in-doubt")
    store = PostgresStore(url, in_doubt_wait_s=10)
    store.migrate()

    async def scenario() -> None:
        with pytest.raises(StorageInDoubt):
            async with store.transaction() as tx:
                conn = tx.db.conn  # type: ignore[attr-defined]
                await conn.execute("SET LOCAL synchronous_commit = on")
                pid = await conn.fetchval("SELECT pg_backend_pid()")
                await conn.execute("CREATE TEMP TABLE written (n INTEGER)")  # a write, its id never read
                killer = asyncio.create_task(_terminate_when(url, pid, "SyncRep"))
        await killer
        await store.aclose()

    asyncio.run(scenario())
