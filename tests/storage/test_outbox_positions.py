"""Outbox positions are commit order with no holes, on both backends: a reader that has seen
position N never misses a row below N, however concurrent transactions interleave and whatever
order they commit in (docs/architecture.md §6, "Positions are commit order")."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

import pytest

from smsdesk.operations.ports import Notification
from smsdesk.storage.postgres import PostgresStore
from smsdesk.storage.sqlite import SqliteStore
from support.postgres import cluster

pytestmark = pytest.mark.slow


def _store(kind: str, path: Path) -> SqliteStore | PostgresStore:
    store: SqliteStore | PostgresStore
    store = (
        PostgresStore(cluster().database_for(str(path)), pool_size=50)
        if kind == "postgres"
        else SqliteStore(str(path))
    )
    store.migrate()
    return store


def _note(text: str) -> Notification:
    return Notification("t", "u", "/v2/me/smssessions", b'{"n":"%s"}' % text.encode())


def test_positions_are_given_at_commit_so_an_open_transaction_holds_back_no_later_one(tmp_path: Path) -> None:
    """PostgreSQL numbers a transaction's rows inside its COMMIT (migration 0011): a transaction that
    appended and is still open holds no lock a later one needs, the later one commits first and takes
    the lower position, and a reader meanwhile sees exactly what has committed."""
    store = _store("postgres", tmp_path / "order.db")

    async def scenario() -> None:
        first_appended = asyncio.Event()
        release_first = asyncio.Event()

        async def first() -> None:
            async with store.transaction() as tx:
                await tx.outbox.append([_note("first")])
                first_appended.set()
                await release_first.wait()

        async def second() -> None:
            await first_appended.wait()
            async with store.transaction() as tx:
                await tx.outbox.append([_note("second")])

        first_task = asyncio.create_task(first())
        await first_appended.wait()
        await asyncio.wait_for(second(), 5)  # not held back by the open transaction
        assert [(row.position, row.payload) for row in await store.outbox.after(0, 100)] == [
            (1, b'{"n":"second"}')
        ]
        assert await store.outbox.last_position() == 1
        release_first.set()
        await first_task
        rows = await store.outbox.after(0, 100)
        assert [(row.position, row.payload) for row in rows] == [
            (1, b'{"n":"second"}'),
            (2, b'{"n":"first"}'),
        ]
        await store.aclose()

    asyncio.run(scenario())


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_a_reader_following_concurrent_out_of_order_commits_misses_and_repeats_nothing(
    tmp_path: Path, kind: str
) -> None:
    store = _store(kind, tmp_path / f"{kind}.db")
    writers, per_writer = 40, 5
    rng = random.Random(7)

    async def scenario() -> None:
        done = asyncio.Event()
        seen: list[int] = []

        async def writer(number: int) -> None:
            for round_ in range(per_writer):
                await asyncio.sleep(rng.random() * 0.01)
                async with store.transaction() as tx:
                    await tx.outbox.append(
                        [_note(f"{number}.{round_}.{i}") for i in range(rng.randint(1, 3))]
                    )
                    # Hold the transaction open a random while: commits land in another order than starts.
                    await asyncio.sleep(rng.random() * 0.02)

        async def reader() -> None:
            cursor = 0
            while True:
                finished = done.is_set()
                rows = await store.outbox.after(cursor, 1_000)
                for row in rows:
                    assert row.position == cursor + 1, f"after {cursor} the reader saw {row.position}"
                    cursor = row.position
                    seen.append(row.position)
                if finished and not rows:
                    return
                await asyncio.sleep(0.001)

        reading = asyncio.create_task(reader())
        await asyncio.gather(*(writer(n) for n in range(writers)))
        done.set()
        await reading
        assert seen == list(range(1, await store.outbox.last_position() + 1))
        assert len(seen) >= writers * per_writer
        await store.aclose()

    asyncio.run(scenario())


def test_pruning_while_a_group_commit_is_still_open_joins_it(tmp_path: Path) -> None:
    """SQLite: the outbox prune used to BEGIN a transaction of its own, which failed ("cannot start
    a transaction within a transaction") when it ran between an operation's release and the group
    COMMIT (found by the suite's end-of-session check of the server logs)."""
    store = SqliteStore(str(tmp_path / "prune.db"))
    store.migrate()

    async def scenario() -> None:
        for n in range(3):
            async with store.transaction() as tx:
                await tx.outbox.append([_note(str(n))])
        released = asyncio.Event()

        async def operation() -> None:
            async with store.transaction() as tx:
                await tx.outbox.append([_note("open")])
            released.set()

        task = asyncio.create_task(operation())
        await asyncio.sleep(0)  # the operation ran: its batch is open, its COMMIT not yet run
        assert await store.outbox.prune(2**62, 2**62, 10) == 3
        await task
        assert released.is_set()
        assert [n.payload for n in await store.outbox.after(0, 10)] == [b'{"n":"open"}']
        await store.aclose()

    asyncio.run(scenario())
