"""Queues, their members and supervisors, and service numbers, in SQL both backends run."""

from __future__ import annotations

from collections.abc import Sequence

from smsdesk.operations.ports import ServiceNumber
from smsdesk.storage.connection import SqlRepository


class QueuesSql(SqlRepository):
    __slots__ = ()

    async def exists(self, tenant_id: str, name: str) -> bool:
        row = await self.db.fetchone(
            "SELECT 1 FROM queues WHERE tenant_id = ? AND name = ?", (tenant_id, name)
        )
        return row is not None

    async def ensure(self, tenant_id: str, name: str, members: Sequence[str]) -> None:
        await self.db.execute(
            "INSERT INTO queues (tenant_id, name) VALUES (?, ?) ON CONFLICT DO NOTHING", (tenant_id, name)
        )
        await self.db.executemany(
            "INSERT INTO queue_members (tenant_id, queue, user_id) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
            [(tenant_id, name, member) for member in members],
        )

    async def all(self) -> list[tuple[str, str]]:
        rows = await self.db.fetchall("SELECT tenant_id, name FROM queues ORDER BY tenant_id, name")
        return [(str(t), str(q)) for t, q in rows]

    async def members(self, tenant_id: str, queue: str) -> list[str]:
        rows = await self.db.fetchall(
            "SELECT user_id FROM queue_members WHERE tenant_id = ? AND queue = ? ORDER BY user_id",
            (tenant_id, queue),
        )
        return [str(row[0]) for row in rows]

    async def of_member(self, tenant_id: str, user_id: str) -> list[str]:
        rows = await self.db.fetchall(
            "SELECT queue FROM queue_members WHERE tenant_id = ? AND user_id = ? ORDER BY queue",
            (tenant_id, user_id),
        )
        return [str(row[0]) for row in rows]

    async def add_supervisor(self, tenant_id: str, queue: str, user_id: str) -> None:
        await self.db.execute(
            "INSERT INTO queue_supervisors (tenant_id, queue, user_id) VALUES (?, ?, ?) "
            "ON CONFLICT (tenant_id, queue, user_id) DO NOTHING",
            (tenant_id, queue, user_id),
        )

    async def supervised_by(self, tenant_id: str, user_id: str) -> list[str]:
        rows = await self.db.fetchall(
            "SELECT queue FROM queue_supervisors WHERE tenant_id = ? AND user_id = ? ORDER BY queue",
            (tenant_id, user_id),
        )
        return [str(row[0]) for row in rows]

    async def supervisors(self, tenant_id: str, queue: str) -> list[str]:
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

    async def of_tenant(self, tenant_id: str) -> list[str]:
        rows = await self.db.fetchall(
            "SELECT name FROM queues WHERE tenant_id = ? ORDER BY name", (tenant_id,)
        )
        return [str(row[0]) for row in rows]

    async def delete(self, tenant_id: str, name: str) -> None:
        for table in ("queue_members", "queue_supervisors", "queue_hours"):
            await self.db.execute(f"DELETE FROM {table} WHERE tenant_id = ? AND queue = ?", (tenant_id, name))
        await self.db.execute("DELETE FROM queues WHERE tenant_id = ? AND name = ?", (tenant_id, name))

    async def set_members(self, tenant_id: str, name: str, user_ids: Sequence[str]) -> None:
        await self._set("queue_members", tenant_id, name, user_ids)

    async def set_supervisors(self, tenant_id: str, name: str, user_ids: Sequence[str]) -> None:
        await self._set("queue_supervisors", tenant_id, name, user_ids)

    async def _set(self, table: str, tenant_id: str, name: str, user_ids: Sequence[str]) -> None:
        await self.db.execute(f"DELETE FROM {table} WHERE tenant_id = ? AND queue = ?", (tenant_id, name))
        await self.db.executemany(
            f"INSERT INTO {table} (tenant_id, queue, user_id) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
            [(tenant_id, name, user_id) for user_id in user_ids],
        )

    async def set_queues_of_member(self, tenant_id: str, user_id: str, queues: Sequence[str]) -> None:
        await self._set_of_user("queue_members", tenant_id, user_id, queues)

    async def set_supervised_by(self, tenant_id: str, user_id: str, queues: Sequence[str]) -> None:
        await self._set_of_user("queue_supervisors", tenant_id, user_id, queues)

    async def _set_of_user(self, table: str, tenant_id: str, user_id: str, queues: Sequence[str]) -> None:
        await self.db.execute(
            f"DELETE FROM {table} WHERE tenant_id = ? AND user_id = ?", (tenant_id, user_id)
        )
        await self.db.executemany(
            f"INSERT INTO {table} (tenant_id, queue, user_id) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
            [(tenant_id, queue, user_id) for queue in queues],
        )


class ServiceNumbersSql(SqlRepository):
    __slots__ = ()

    async def get(self, number: str) -> ServiceNumber | None:
        row = await self.db.fetchone(
            "SELECT tenant_id, number, queue, connector FROM service_numbers WHERE number = ?", (number,)
        )
        return ServiceNumber(*map(str, row)) if row else None

    async def ensure(self, number: ServiceNumber) -> None:
        await self.db.execute(
            "INSERT INTO service_numbers (number, tenant_id, queue, connector) VALUES (?, ?, ?, ?) "
            "ON CONFLICT DO NOTHING",
            (number.number, number.tenant_id, number.queue, number.connector),
        )

    async def of_agent(self, tenant_id: str, user_id: str) -> list[ServiceNumber]:
        rows = await self.db.fetchall(
            "SELECT n.tenant_id, n.number, n.queue, n.connector FROM service_numbers n "
            "JOIN queue_members m ON m.tenant_id = n.tenant_id AND m.queue = n.queue "
            "WHERE n.tenant_id = ? AND m.user_id = ? ORDER BY n.number",
            (tenant_id, user_id),
        )
        return [ServiceNumber(*map(str, row)) for row in rows]

    async def of_tenant(self, tenant_id: str) -> list[ServiceNumber]:
        rows = await self.db.fetchall(
            "SELECT tenant_id, number, queue, connector FROM service_numbers WHERE tenant_id = ? ORDER BY number",
            (tenant_id,),
        )
        return [ServiceNumber(*map(str, row)) for row in rows]

    async def update(self, number: ServiceNumber) -> None:
        await self.db.execute(
            "UPDATE service_numbers SET queue = ?, connector = ? WHERE number = ? AND tenant_id = ?",
            (number.queue, number.connector, number.number, number.tenant_id),
        )

    async def delete(self, number: str) -> None:
        await self.db.execute("DELETE FROM service_numbers WHERE number = ?", (number,))
