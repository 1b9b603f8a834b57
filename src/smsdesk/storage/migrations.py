"""Numbered SQL migrations, applied in order, each in a transaction.

Each backend has its own folder (``migrations/sqlite/``, ``migrations/postgres/``) holding the same
numbers and names: one schema history per backend, kept equal by a test that compares the tables and
columns both reach."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from importlib import resources


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str


BACKENDS = ("sqlite", "postgres")


def available(backend: str = "sqlite") -> list[Migration]:
    folder = resources.files("smsdesk.storage").joinpath("migrations", backend)
    found = []
    for entry in folder.iterdir():
        if entry.name.endswith(".sql"):
            number, _, rest = entry.name.partition("_")
            found.append(Migration(int(number), rest.removesuffix(".sql"), entry.read_text()))
    return sorted(found, key=lambda m: m.version)


def apply_sqlite(connection: sqlite3.Connection) -> list[Migration]:
    """Bring the schema up to date; returns the migrations applied now."""
    connection.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT)"
    )
    done = {row[0] for row in connection.execute("SELECT version FROM schema_migrations")}
    applied = []
    for migration in available():
        if migration.version in done:
            continue
        connection.execute("BEGIN IMMEDIATE")
        try:
            for statement in migration.sql.split(";\n"):
                if statement.strip():
                    connection.execute(statement)
            connection.execute(
                "INSERT INTO schema_migrations (version, name) VALUES (?, ?)",
                (migration.version, migration.name),
            )
            connection.execute("COMMIT")
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        applied.append(migration)
    return applied
