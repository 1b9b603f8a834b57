"""Facts of the live statistics, in SQL both backends run."""

from __future__ import annotations

from collections.abc import Sequence

from smsdesk.domain.statistics import FactTotal
from smsdesk.operations.ports import Fact
from smsdesk.storage.connection import Row, SqlRepository

_COLUMNS = "tenant_id, queue, kind, at_ms, session_id, user_id, detail, duration_ms"


def _fact(row: Row) -> Fact:
    tenant, queue, kind, at_ms, session_id, user_id, detail, duration = row
    return Fact(
        str(tenant),
        str(queue),
        str(kind),
        int(at_ms),
        session_id,
        user_id,
        detail,
        None if duration is None else int(duration),
    )


class FactsSql(SqlRepository):
    __slots__ = ()

    async def append(self, facts: Sequence[Fact]) -> None:
        for fact in facts:
            await self.db.execute(
                f"INSERT INTO facts ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    fact.tenant_id,
                    fact.queue,
                    fact.kind,
                    fact.at_ms,
                    fact.session_id,
                    fact.user_id,
                    fact.detail,
                    fact.duration_ms,
                ),
            )

    async def queue_totals(
        self, tenant_id: str, queue: str, since_ms: int, threshold_ms: int
    ) -> list[FactTotal]:
        rows = await self.db.fetchall(
            "SELECT kind, COUNT(*), COALESCE(SUM(duration_ms), 0), "
            "SUM(CASE WHEN duration_ms IS NOT NULL AND duration_ms <= ? THEN 1 ELSE 0 END) "
            "FROM facts WHERE tenant_id = ? AND queue = ? AND at_ms >= ? GROUP BY kind ORDER BY kind",
            (threshold_ms, tenant_id, queue, since_ms),
        )
        return [FactTotal(str(k), int(c), int(d), int(w or 0)) for k, c, d, w in rows]

    async def completed_counts(self, tenant_id: str, since_ms: int) -> dict[str, int]:
        rows = await self.db.fetchall(
            "SELECT user_id, COUNT(*) FROM facts WHERE tenant_id = ? AND kind = 'completed' AND at_ms >= ? "
            "AND user_id IS NOT NULL GROUP BY user_id",
            (tenant_id, since_ms),
        )
        return {str(u): int(c) for u, c in rows}

    async def last_agent_states(self, tenant_id: str, user_ids: Sequence[str]) -> list[Fact]:
        facts = []
        for user_id in user_ids:
            row = await self.db.fetchone(
                f"SELECT {_COLUMNS} FROM facts WHERE tenant_id = ? AND user_id = ? AND kind = 'agent_state' "
                "ORDER BY id DESC LIMIT 1",
                (tenant_id, user_id),
            )
            if row is not None:
                facts.append(_fact(row))
        return facts
