"""While the server runs, SQLite's WAL is copied into the database file by a worker thread
(``storage/sqlite._Checkpointer``), not inside the COMMITs on the event loop's thread, and the WAL
still restarts from its beginning although commits never pause."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from smsdesk.operations.ports import Notification
from smsdesk.storage.sqlite import FALLBACK_CHECKPOINT_PAGES, SqliteStore

PAYLOAD = b"x" * 4_000
COMMITS = 3_000  # ~3 WAL pages each: well past SQLite's 1,000 and short of the fallback threshold


async def _write(store: SqliteStore) -> None:
    for _ in range(COMMITS):
        async with store.transaction() as tx:
            await tx.append_notifications([Notification("t", "u", "/v2/me/smssessions", PAYLOAD)])


def _wal_pages(path: Path) -> int:
    wal = path.with_name(path.name + "-wal")
    return wal.stat().st_size // 4_096 if wal.exists() else 0


def test_the_background_checkpoint_keeps_the_wal_small_under_steady_commits(tmp_path: Path) -> None:
    path = tmp_path / "serving.db"
    store = SqliteStore(str(path))
    store.migrate()

    async def serve() -> int:
        store.checkpoint_in_background(interval_s=0.02)
        await _write(store)
        pages = _wal_pages(path)
        await store.aclose()
        return pages

    # The loop's COMMITs no longer checkpoint below the fallback threshold, so a WAL this much
    # smaller than what was written can only have been restarted after the worker's checkpoints.
    assert asyncio.run(serve()) < FALLBACK_CHECKPOINT_PAGES // 4
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0] == COMMITS
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_without_the_thread_the_loops_commits_would_have_to_checkpoint(tmp_path: Path) -> None:
    """The control for the test above: the same writes, with the loop's COMMITs told to leave the
    checkpoint to the thread but no thread, grow the WAL past a quarter of the threshold."""
    path = tmp_path / "control.db"
    store = SqliteStore(str(path))
    store.migrate()
    store._db.execute(f"PRAGMA wal_autocheckpoint={FALLBACK_CHECKPOINT_PAGES}")
    asyncio.run(_write(store))
    assert _wal_pages(path) >= FALLBACK_CHECKPOINT_PAGES // 4
    store.close()
