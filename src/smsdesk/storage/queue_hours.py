"""Queues' opening hours and automatic replies, in SQL both backends run."""

from __future__ import annotations

from smsdesk.operations.ports import QueueHours
from smsdesk.storage.connection import Row, SqlRepository

_COLUMNS = (
    "tenant_id, queue, timezone, weekly, closed_dates, when_closed, closed_reply, waiting_reply, "
    "waiting_after_s, updated_ms"
)


def _hours(row: Row) -> QueueHours:
    tenant_id, queue, timezone, weekly, closed_dates, when_closed, closed, waiting, after_s, updated_ms = row
    return QueueHours(
        tenant_id=str(tenant_id),
        queue=str(queue),
        timezone=timezone,
        weekly=weekly,
        closed_dates=tuple(d for d in str(closed_dates).split(",") if d),
        when_closed=str(when_closed),
        closed_reply=closed,
        waiting_reply=waiting,
        waiting_after_s=None if after_s is None else int(after_s),
        updated_ms=int(updated_ms),
    )


class QueueHoursSql(SqlRepository):
    __slots__ = ()

    async def get(self, tenant_id: str, queue: str) -> QueueHours | None:
        row = await self.db.fetchone(
            f"SELECT {_COLUMNS} FROM queue_hours WHERE tenant_id = ? AND queue = ?", (tenant_id, queue)
        )
        return _hours(row) if row else None

    async def of_tenant(self, tenant_id: str) -> list[QueueHours]:
        rows = await self.db.fetchall(
            f"SELECT {_COLUMNS} FROM queue_hours WHERE tenant_id = ? ORDER BY queue", (tenant_id,)
        )
        return [_hours(row) for row in rows]

    async def all(self) -> list[QueueHours]:
        rows = await self.db.fetchall(f"SELECT {_COLUMNS} FROM queue_hours ORDER BY tenant_id, queue")
        return [_hours(row) for row in rows]

    async def put(self, hours: QueueHours) -> None:
        await self.db.execute(
            f"INSERT INTO queue_hours ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (tenant_id, queue) DO UPDATE SET timezone = excluded.timezone, weekly = excluded.weekly, "
            "closed_dates = excluded.closed_dates, when_closed = excluded.when_closed, "
            "closed_reply = excluded.closed_reply, waiting_reply = excluded.waiting_reply, "
            "waiting_after_s = excluded.waiting_after_s, updated_ms = excluded.updated_ms",
            (
                hours.tenant_id,
                hours.queue,
                hours.timezone,
                hours.weekly,
                ",".join(hours.closed_dates),
                hours.when_closed,
                hours.closed_reply,
                hours.waiting_reply,
                hours.waiting_after_s,
                hours.updated_ms,
            ),
        )
