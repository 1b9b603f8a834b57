"""One schema history per backend, and both reach the same tables and columns."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import asyncpg
import pytest

from smsdesk.storage.migrations import available
from smsdesk.storage.postgres import PostgresStore
from smsdesk.storage.sqlite import SqliteStore
from support.postgres import cluster

BACKEND_ONLY = {
    "postgres": {"outbox_head"},  # the commit-ordered position counter (SQLite's single writer needs none)
    "sqlite": {"sqlite_sequence", "counters"},  # AUTOINCREMENT's bookkeeping; referenceId blocks (one node)
}


def test_every_migration_exists_for_both_backends_under_the_same_number_and_name() -> None:
    sqlite = [(m.version, m.name) for m in available("sqlite")]
    postgres = [(m.version, m.name) for m in available("postgres")]
    assert sqlite == postgres
    assert [version for version, _ in sqlite] == sorted({version for version, _ in sqlite})


@pytest.mark.slow
def test_both_backends_reach_the_same_tables_and_columns(tmp_path: Path) -> None:
    path = tmp_path / "schema.db"
    SqliteStore(str(path)).migrate()
    with sqlite3.connect(path) as db:
        tables = [row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        sqlite_schema = {
            table: {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
            for table in tables
            if table not in BACKEND_ONLY["sqlite"]
        }

    url = cluster().database_for(str(path))
    store = PostgresStore(url)
    assert store.migrate()
    assert store.migrate() == []  # idempotent

    async def columns() -> dict[str, set[str]]:
        conn = await asyncpg.connect(url)
        try:
            rows = await conn.fetch(
                "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'public'"
            )
        finally:
            await conn.close()
        schema: dict[str, set[str]] = {}
        for table, column in rows:
            if table not in BACKEND_ONLY["postgres"]:
                schema.setdefault(table, set()).add(column)
        return schema

    import asyncio

    assert asyncio.run(columns()) == sqlite_schema
