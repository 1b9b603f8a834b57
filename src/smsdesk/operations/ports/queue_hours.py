"""A queue's opening hours and automatic replies."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class QueueHours:
    """What is stored for one queue. No ``timezone``: no opening hours (always open)."""

    tenant_id: str
    queue: str
    timezone: str | None = None
    weekly: str | None = None
    closed_dates: tuple[str, ...] = ()
    when_closed: str = "queue"  # "queue": wait for the opening; "complete": end after the closed reply
    closed_reply: str | None = None
    waiting_reply: str | None = None
    waiting_after_s: int | None = None
    updated_ms: int = 0


class QueueHoursRepository(Protocol):
    """``queue_hours``: one row per queue that has hours or replies. Reads lock nothing; a write
    replaces the queue's row whole."""

    async def get(self, tenant_id: str, queue: str) -> QueueHours | None: ...
    async def of_tenant(self, tenant_id: str) -> list[QueueHours]: ...
    async def all(self) -> list[QueueHours]:
        """Every queue's row, of every contact center (the background work reads them together)."""
        ...

    async def put(self, hours: QueueHours) -> None: ...
