"""The outbox: every notification, in commit order, with a position (docs/architecture.md §3, §6)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Notification:
    """One outbox row: a notification for one user on one topic, already encoded as JSON."""

    tenant_id: str
    user_id: str
    channel: str
    payload: bytes


@dataclass(frozen=True, slots=True)
class StoredNotification:
    position: int
    user_id: str
    channel: str
    payload: bytes


class OutboxWriter(Protocol):
    """Appending, inside an operation's transaction."""

    async def append(self, notifications: Sequence[Notification]) -> None:
        """Append the rows, the last statement of a transaction that notifies. **Positions are
        commit order with no holes**: a reader that sees position N sees every row below it, and a
        rolled-back transaction consumes no position. A row's position is known once its
        transaction has committed (the store's commit listeners are told)."""
        ...


class OutboxReader(Protocol):
    """Reading committed rows, outside any operation (the fan-out, replays, pruning)."""

    async def after(self, position: int, limit: int) -> list[StoredNotification]:
        """Committed rows after ``position``, in order."""
        ...

    async def of_user_after(
        self, user_id: str, position: int, upto: int | None, limit: int
    ) -> list[StoredNotification]:
        """One agent's rows with ``position < p <= upto`` (no upper bound when ``upto`` is None), in
        order: what a reconnecting client missed."""
        ...

    async def last_position(self) -> int: ...
    async def oldest_position(self) -> int:
        """The oldest position still stored: every row from here on is there, nothing before it is
        (pruning removes a prefix and keeps the newest row). 1 when nothing was ever written."""
        ...

    async def prune(self, created_before_ms: int, upto: int, limit: int) -> int:
        """Delete up to ``limit`` of the oldest rows, stopping at the first one created at or after
        ``created_before_ms`` or past ``upto``, and never the newest row (it keeps ``last_position``
        and ``oldest_position`` meaningful). Only a prefix goes, so ``oldest_position() - 1`` is
        exactly the highest pruned position. Returns how many rows were deleted."""
        ...


class CommitListener(Protocol):
    """Told, in commit order, that outbox rows up to ``position`` are committed (None: some rows,
    whose positions the store does not know: read the table); ``rows`` are the newest of them,
    ending at ``position``, when the store has them at hand (its own commits, or rows a cluster's
    announcement carried), so that the fan-out delivers them without reading the table."""

    def committed(self, position: int | None, rows: Sequence[StoredNotification] | None) -> None: ...
