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


def test_a_later_transaction_cannot_take_a_position_before_an_earlier_one_commits(tmp_path: Path) -> None:
    store = _store("postgres", tmp_path / "order.db")

    async def scenario() -> None:
        first_appended = asyncio.Event()
        release_first = asyncio.Event()
        seen_while_open: list[int] = []

        async def first() -> int:
            async with store.transaction() as tx:
                position = await tx.outbox.append([_note("first")])
                first_appended.set()
                await release_first.wait()
            return position

        async def second() -> int:
            await first_appended.wait()
            async with store.transaction() as tx:
                return await tx.outbox.append([_note("second")])

        first_task = asyncio.create_task(first())
        second_task = asyncio.create_task(second())
        await first_appended.wait()
        await asyncio.sleep(0.3)
        # The second transaction waits for the first: it has no position yet, and a reader sees neither.
        assert not second_task.done()
        seen_while_open = [row.position for row in await store.outbox.after(0, 100)]
        assert seen_while_open == []
        assert await store.outbox.last_position() == 0
        release_first.set()
        first_position, second_position = await first_task, await second_task
        assert (first_position, second_position) == (1, 2)
        rows = await store.outbox.after(0, 100)
        assert [(row.position, row.payload) for row in rows] == [
            (1, b'{"n":"first"}'),
            (2, b'{"n":"second"}'),
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
