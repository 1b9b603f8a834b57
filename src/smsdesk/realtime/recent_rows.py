"""The newest outbox rows fan-out has passed, kept by agent, so that rebuilding a client that
starts among them (a Bayeux client changing nodes, a reconnect a moment later) reads memory instead
of the outbox. In a cluster under round-robin every connect may change nodes: this window is what
makes such a hand-over cost its claim alone (docs/architecture.md §9).

The window is contiguous: it holds every row from its first position to the last it was given,
fan-out gives it every row in position order, and a row out of order empties it (it starts over).
Its size is bounded by a row count (the oldest go first), never by time or by agent.
"""

from __future__ import annotations

from collections import deque

from smsdesk.operations.ports import StoredNotification

DEFAULT_CAPACITY = 4_096
"""Rows kept: several seconds of a busy contact center's notifications (a few MB)."""


class RecentRows:
    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        self.capacity = capacity
        self._order: deque[StoredNotification] = deque()
        self._by_user: dict[str, deque[StoredNotification]] = {}

    @property
    def first(self) -> int | None:
        return self._order[0].position if self._order else None

    @property
    def last(self) -> int | None:
        return self._order[-1].position if self._order else None

    def add(self, row: StoredNotification) -> None:
        if self.capacity <= 0:
            return
        if self._order and row.position != self._order[-1].position + 1:
            self.clear()  # not contiguous: what it held no longer says "every row after"
        self._order.append(row)
        self._by_user.setdefault(row.user_id, deque()).append(row)
        while len(self._order) > self.capacity:
            self._evict()

    def covers(self, after: int) -> bool:
        """Whether every row after ``after``, up to the last one given, is here."""
        first = self.first
        return first is not None and first - 1 <= after <= self._order[-1].position

    def of_user_after(self, user_id: str, after: int, limit: int) -> list[StoredNotification]:
        """The agent's rows after ``after`` (``covers(after)`` must hold), oldest first."""
        rows = self._by_user.get(user_id)
        if not rows:
            return []
        found: list[StoredNotification] = []
        for row in reversed(rows):
            if row.position <= after:
                break
            found.append(row)
        found.reverse()
        return found[:limit]

    def forget_below(self, position: int) -> None:
        """Rows below ``position`` were pruned from the outbox: a client that starts before them must
        be told of the gap, as the outbox would tell it."""
        while self._order and self._order[0].position < position:
            self._evict()

    def clear(self) -> None:
        self._order.clear()
        self._by_user.clear()

    def _evict(self) -> None:
        row = self._order.popleft()
        rows = self._by_user[row.user_id]
        rows.popleft()
        if not rows:
            del self._by_user[row.user_id]
