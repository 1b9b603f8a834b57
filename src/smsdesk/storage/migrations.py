"""Numbered SQL migrations, applied in order, each in a transaction.

One file per schema change (``migrations/NNNN_name.sql``), shared by both backends and written in
PostgreSQL's type names; for SQLite three of them read as SQLite's own (:data:`SQLITE_WORDS`). What
only one backend runs is written ``{sqlite:...}`` or ``{postgres:...}`` inside the shared file, and a
change that differs throughout has a variant file, ``NNNN_name.sqlite.sql`` or
``NNNN_name.postgres.sql``, used by that backend instead (a backend with neither applies nothing
under that number, so both histories keep the same numbers). A test checks that both backends reach
the same tables and columns.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from importlib import resources


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str


BACKENDS = ("sqlite", "postgres")

SQLITE_WORDS = {
    "BIGSERIAL PRIMARY KEY": "INTEGER PRIMARY KEY AUTOINCREMENT",
    "BIGINT": "INTEGER",
    "BYTEA": "BLOB",
}
"""PostgreSQL's type names as SQLite spells them (SQLite would accept the first two with the same
meaning but a different declared type; ``INTEGER PRIMARY KEY`` is its rowid)."""

_ONLY = re.compile(r"\{(sqlite|postgres):([^{}]*)\}")
_WORD = re.compile(r"\b(" + "|".join(SQLITE_WORDS) + r")\b")


def render(sql: str, backend: str) -> str:
    """A shared migration as ``backend`` runs it."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}")
    sql = _ONLY.sub(lambda m: m.group(2) if m.group(1) == backend else "", sql)
    if backend == "sqlite":
        sql = _WORD.sub(lambda m: SQLITE_WORDS[m.group(1)], sql)
    return sql


def available(backend: str = "sqlite") -> list[Migration]:
    folder = resources.files("smsdesk.storage").joinpath("migrations")
    chosen: dict[tuple[int, str], str] = {}
    variants: dict[tuple[int, str], str] = {}
    for entry in folder.iterdir():
        if not entry.name.endswith(".sql"):
            continue
        number, _, rest = entry.name.removesuffix(".sql").partition("_")
        name, _, variant = rest.partition(".")
        key = (int(number), name)
        if not variant:
            chosen.setdefault(key, render(entry.read_text(), backend))
        elif variant == backend:
            variants[key] = entry.read_text()
        else:
            chosen.setdefault(key, "")  # the other backend's own change: nothing to apply here
    chosen.update(variants)
    return [Migration(version, name, sql) for (version, name), sql in sorted(chosen.items())]


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
