"""What both backends' outboxes share: turning rows into records, and where a prune may stop.

Appending differs per backend (how positions are kept in commit order, docs/architecture.md §6):
``storage/sqlite.py`` and ``storage/postgres.py`` each implement the outbox's writer and reader.
"""

from __future__ import annotations

from collections.abc import Iterable

from smsdesk.operations.ports import StoredNotification
from smsdesk.storage.connection import Row

PRUNE_CANDIDATES = (
    "SELECT position, created_ms FROM outbox WHERE position > 0 AND position <= ? "
    "AND position < (SELECT MAX(position) FROM outbox) ORDER BY position LIMIT ?"
)
"""The oldest rows up to a position, never the newest row (it keeps the last position meaningful).
``position > 0`` starts PostgreSQL's index scan past the temporary positions (docs/architecture.md §6)."""


def prune_boundary(rows: Iterable[Row], created_before_ms: int) -> int | None:
    """The last position of the oldest run of ``(position, created_ms)`` rows created before the
    cut-off: what a prune may delete up to (a prefix only, so ``oldest_position`` stays exact)."""
    boundary = None
    for position, created in rows:
        if int(created) >= created_before_ms:
            break
        boundary = int(position)
    return boundary


def stored_notifications(rows: Iterable[Row]) -> list[StoredNotification]:
    return [StoredNotification(int(p), str(u), str(c), bytes(b)) for p, u, c, b in rows]
