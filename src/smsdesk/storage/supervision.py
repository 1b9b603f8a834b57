"""Supervisors' monitorings of agents, in SQL both backends run."""

from __future__ import annotations

from smsdesk.domain.model import SupervisionMode
from smsdesk.operations.ports import Monitoring
from smsdesk.storage.connection import SqlRepository


class SupervisionSql(SqlRepository):
    __slots__ = ()

    async def save(self, monitoring: Monitoring) -> None:
        await self.db.execute(
            "INSERT INTO supervisor_monitoring "
            "(agent_id, supervisor_id, tenant_id, mode, next_chat_only, created_ms, nickname) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (agent_id, supervisor_id) DO UPDATE SET "
            "mode = excluded.mode, next_chat_only = excluded.next_chat_only, created_ms = excluded.created_ms, "
            "nickname = excluded.nickname",
            (
                monitoring.agent_id,
                monitoring.supervisor_id,
                monitoring.tenant_id,
                monitoring.mode.value,
                int(monitoring.next_chat_only),
                monitoring.created_ms,
                monitoring.nickname,
            ),
        )

    async def of_agent(self, agent_id: str) -> list[Monitoring]:
        rows = await self.db.fetchall(
            "SELECT tenant_id, agent_id, supervisor_id, mode, next_chat_only, created_ms, nickname "
            "FROM supervisor_monitoring WHERE agent_id = ? ORDER BY created_ms, supervisor_id",
            (agent_id,),
        )
        return [
            Monitoring(str(t), str(a), str(s), SupervisionMode(str(m)), bool(n), int(c), nick)
            for t, a, s, m, n, c, nick in rows
        ]

    async def delete(self, agent_id: str, supervisor_id: str) -> bool:
        row = await self.db.fetchone(
            "DELETE FROM supervisor_monitoring WHERE agent_id = ? AND supervisor_id = ? RETURNING agent_id",
            (agent_id, supervisor_id),
        )
        return row is not None
