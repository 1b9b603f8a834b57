"""Counters handed out a block at a time (``counters``), in SQL both backends run."""

from __future__ import annotations

from smsdesk.storage.connection import SqlConnection

TAKE_BLOCK = "UPDATE counters SET value = value + ? WHERE name = ? RETURNING value - ?"


async def take_block(db: SqlConnection, name: str, size: int) -> int:
    """The first number of a fresh block of ``size`` numbers of counter ``name``."""
    row = await db.fetchone(TAKE_BLOCK, (size, name, size))
    assert row is not None, f"no counter {name!r}"
    return int(row[0])
