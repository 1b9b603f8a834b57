"""Storage for supervisors, facts (live statistics) and the user-data audit trail.

A mixin of the transaction class: every method runs on ``await self.db.execute(sql, params)`` in
portable SQL (``?`` placeholders, ``ON CONFLICT``, no engine-specific functions), so the same
statements serve SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from smsdesk.domain.model import SupervisionMode
from smsdesk.domain.statistics import FactTotal
from smsdesk.operations.ports import Fact, Monitoring, ServiceNumber, UserDataAuditEntry

if TYPE_CHECKING:
    from smsdesk.storage.sql import SqlConnection

_FACT_COLUMNS = "tenant_id, queue, kind, at_ms, session_id, user_id, detail, duration_ms"
_AUDIT_COLUMNS = "tenant_id, session_id, version, key, operation, user_id, old_value, new_value, changed_ms"


def _fact(row: Sequence[Any]) -> Fact:
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


class SupervisionSql:
    db: SqlConnection  # set by the transaction class

    # ----- supervisors of queues -----

    async def add_queue_supervisor(self, tenant_id: str, queue: str, user_id: str) -> None:
        await self.db.execute(
            "INSERT INTO queue_supervisors (tenant_id, queue, user_id) VALUES (?, ?, ?) "
            "ON CONFLICT (tenant_id, queue, user_id) DO NOTHING",
            (tenant_id, queue, user_id),
        )

    async def supervised_queues(self, tenant_id: str, user_id: str) -> list[str]:
        rows = await self.db.fetchall(
            "SELECT queue FROM queue_supervisors WHERE tenant_id = ? AND user_id = ? ORDER BY queue",
            (tenant_id, user_id),
        )
        return [str(row[0]) for row in rows]

    async def queue_supervisors(self, tenant_id: str, queue: str) -> list[str]:
        rows = await self.db.fetchall(
            "SELECT user_id FROM queue_supervisors WHERE tenant_id = ? AND queue = ? ORDER BY user_id",
            (tenant_id, queue),
        )
        return [str(row[0]) for row in rows]

    async def supervises_agent(self, tenant_id: str, supervisor_id: str, agent_id: str) -> bool:
        row = await self.db.fetchone(
            "SELECT 1 FROM queue_supervisors s JOIN queue_members m "
            "ON m.tenant_id = s.tenant_id AND m.queue = s.queue "
            "WHERE s.tenant_id = ? AND s.user_id = ? AND m.user_id = ? LIMIT 1",
            (tenant_id, supervisor_id, agent_id),
        )
        return row is not None

    async def all_queues(self) -> list[tuple[str, str]]:
        rows = await self.db.fetchall("SELECT tenant_id, name FROM queues ORDER BY tenant_id, name")
        return [(str(t), str(q)) for t, q in rows]

    async def queue_members(self, tenant_id: str, queue: str) -> list[str]:
        rows = await self.db.fetchall(
            "SELECT user_id FROM queue_members WHERE tenant_id = ? AND queue = ? ORDER BY user_id",
            (tenant_id, queue),
        )
        return [str(row[0]) for row in rows]

    # ----- monitoring -----

    async def save_monitoring(self, monitoring: Monitoring) -> None:
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

    async def monitoring_of_agent(self, agent_id: str) -> list[Monitoring]:
        rows = await self.db.fetchall(
            "SELECT tenant_id, agent_id, supervisor_id, mode, next_chat_only, created_ms, nickname "
            "FROM supervisor_monitoring WHERE agent_id = ? ORDER BY created_ms, supervisor_id",
            (agent_id,),
        )
        return [
            Monitoring(str(t), str(a), str(s), SupervisionMode(str(m)), bool(n), int(c), nick)
            for t, a, s, m, n, c, nick in rows
        ]

    async def delete_monitoring(self, agent_id: str, supervisor_id: str) -> bool:
        row = await self.db.fetchone(
            "DELETE FROM supervisor_monitoring WHERE agent_id = ? AND supervisor_id = ? RETURNING agent_id",
            (agent_id, supervisor_id),
        )
        return row is not None

    # ----- facts -----

    async def append_facts(self, facts: Sequence[Fact]) -> None:
        for fact in facts:
            await self.db.execute(
                f"INSERT INTO facts ({_FACT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
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

    async def queue_fact_totals(
        self, tenant_id: str, queue: str, since_ms: int, threshold_ms: int
    ) -> list[FactTotal]:
        """Per kind, the queue's facts since ``since_ms``: count, summed duration, and how many
        lasted at most ``threshold_ms``."""
        rows = await self.db.fetchall(
            "SELECT kind, COUNT(*), COALESCE(SUM(duration_ms), 0), "
            "SUM(CASE WHEN duration_ms IS NOT NULL AND duration_ms <= ? THEN 1 ELSE 0 END) "
            "FROM facts WHERE tenant_id = ? AND queue = ? AND at_ms >= ? GROUP BY kind ORDER BY kind",
            (threshold_ms, tenant_id, queue, since_ms),
        )
        return [FactTotal(str(k), int(c), int(d), int(w or 0)) for k, c, d, w in rows]

    async def completed_counts(self, tenant_id: str, since_ms: int) -> dict[str, int]:
        """Sessions each agent completed (as owner) since ``since_ms``."""
        rows = await self.db.fetchall(
            "SELECT user_id, COUNT(*) FROM facts WHERE tenant_id = ? AND kind = 'completed' AND at_ms >= ? "
            "AND user_id IS NOT NULL GROUP BY user_id",
            (tenant_id, since_ms),
        )
        return {str(u): int(c) for u, c in rows}

    async def live_session_counts(self, tenant_id: str) -> dict[str, int]:
        rows = await self.db.fetchall(
            "SELECT user_id, COUNT(*) FROM session_parties WHERE tenant_id = ? "
            "AND state IN ('Invited', 'Chatting', 'LeftChat') GROUP BY user_id",
            (tenant_id,),
        )
        return {str(u): int(c) for u, c in rows}

    async def queues_of_member(self, tenant_id: str, user_id: str) -> list[str]:
        rows = await self.db.fetchall(
            "SELECT queue FROM queue_members WHERE tenant_id = ? AND user_id = ? ORDER BY queue",
            (tenant_id, user_id),
        )
        return [str(row[0]) for row in rows]

    async def last_agent_states(self, tenant_id: str, user_ids: Sequence[str]) -> list[Fact]:
        """Each agent's latest ``agent_state`` fact (whenever it was written: state outlives days)."""
        facts = []
        for user_id in user_ids:
            row = await self.db.fetchone(
                f"SELECT {_FACT_COLUMNS} FROM facts WHERE tenant_id = ? AND user_id = ? AND kind = 'agent_state' "
                "ORDER BY id DESC LIMIT 1",
                (tenant_id, user_id),
            )
            if row is not None:
                facts.append(_fact(row))
        return facts

    # ----- the user-data audit trail -----

    async def append_user_data_audit(self, entries: Sequence[UserDataAuditEntry]) -> None:
        for entry in entries:
            await self.db.execute(
                f"INSERT INTO user_data_audit ({_AUDIT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    entry.tenant_id,
                    entry.session_id,
                    entry.version,
                    entry.key,
                    entry.operation,
                    entry.user_id,
                    entry.old_value,
                    entry.new_value,
                    entry.changed_ms,
                ),
            )

    async def user_data_audit(self, session_id: str) -> list[UserDataAuditEntry]:
        rows = await self.db.fetchall(
            f"SELECT {_AUDIT_COLUMNS} FROM user_data_audit WHERE session_id = ? ORDER BY id",
            (session_id,),
        )
        return [
            UserDataAuditEntry(str(t), str(s), int(v), str(k), str(o), u, old, new, int(c))
            for t, s, v, k, o, u, old, new, c in rows
        ]

    # ----- outbound conversations -----

    async def service_numbers_of_agent(self, tenant_id: str, user_id: str) -> list[ServiceNumber]:
        """The service numbers routed to queues the agent serves: the numbers they may text from."""
        rows = await self.db.fetchall(
            "SELECT n.tenant_id, n.number, n.queue, n.connector FROM service_numbers n "
            "JOIN queue_members m ON m.tenant_id = n.tenant_id AND m.queue = n.queue "
            "WHERE n.tenant_id = ? AND m.user_id = ? ORDER BY n.number",
            (tenant_id, user_id),
        )
        return [ServiceNumber(*map(str, row)) for row in rows]
