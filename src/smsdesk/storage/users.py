"""Users and contact centers, in SQL both backends run."""

from __future__ import annotations

import json

from smsdesk.operations.ports import ContactCenter, User
from smsdesk.storage.connection import Row, SqlRepository

_COLUMNS = "id, tenant_id, user_name, first_name, last_name, roles, enabled, password_hash, password_signin"


def _user(row: Row | None) -> User | None:
    if row is None:
        return None
    uid, tenant, name, first, last, roles, enabled, password_hash, password_signin = row
    return User(
        str(uid),
        str(tenant),
        str(name),
        str(first),
        str(last),
        tuple(json.loads(str(roles))),
        bool(enabled),
        str(password_hash),
        bool(password_signin),
    )


class UsersSql(SqlRepository):
    __slots__ = ()

    async def by_name(self, user_name: str) -> User | None:
        return _user(
            await self.db.fetchone(f"SELECT {_COLUMNS} FROM users WHERE user_name = ?", (user_name,))
        )

    async def by_id(self, tenant_id: str, user_id: str) -> User | None:
        return _user(
            await self.db.fetchone(
                f"SELECT {_COLUMNS} FROM users WHERE id = ? AND tenant_id = ?", (user_id, tenant_id)
            )
        )

    async def all(self, tenant_id: str | None = None) -> list[User]:
        if tenant_id is None:
            rows = await self.db.fetchall(f"SELECT {_COLUMNS} FROM users ORDER BY user_name")
        else:
            rows = await self.db.fetchall(
                f"SELECT {_COLUMNS} FROM users WHERE tenant_id = ? ORDER BY user_name", (tenant_id,)
            )
        return [u for u in map(_user, rows) if u is not None]

    async def insert(self, user: User) -> None:
        await self.db.execute(
            f"INSERT INTO users ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                user.id,
                user.tenant_id,
                user.user_name,
                user.first_name,
                user.last_name,
                json.dumps(list(user.roles)),
                int(user.enabled),
                user.password_hash,
                int(user.password_signin),
            ),
        )

    async def set_password_hash(self, user_id: str, password_hash: str) -> None:
        await self.db.execute("UPDATE users SET password_hash = ? WHERE id = ?", (password_hash, user_id))

    async def update(self, user: User) -> None:
        await self.db.execute(
            "UPDATE users SET first_name = ?, last_name = ?, roles = ?, enabled = ?, password_signin = ? "
            "WHERE id = ?",
            (
                user.first_name,
                user.last_name,
                json.dumps(list(user.roles)),
                int(user.enabled),
                int(user.password_signin),
                user.id,
            ),
        )

    async def delete(self, user_id: str) -> None:
        for statement in _DELETE_USER:
            await self.db.execute(statement, (user_id,) * statement.count("?"))


_DELETE_USER = (
    "DELETE FROM queue_members WHERE user_id = ?",
    "DELETE FROM queue_supervisors WHERE user_id = ?",
    "DELETE FROM supervisor_monitoring WHERE agent_id = ? OR supervisor_id = ?",
    "DELETE FROM agent_channels WHERE user_id = ?",
    "DELETE FROM agent_presence WHERE user_id = ?",
    "DELETE FROM http_sessions WHERE user_id = ?",
    "DELETE FROM bayeux_clients WHERE user_id = ?",
    "DELETE FROM signin_throttles WHERE user_name = (SELECT user_name FROM users WHERE id = ?)",
    "DELETE FROM users WHERE id = ?",
)


class TenantsSql(SqlRepository):
    __slots__ = ()

    async def ensure(self, tenant_id: str, name: str) -> None:
        await self.db.execute(
            "INSERT INTO tenants (id, name) VALUES (?, ?) ON CONFLICT DO NOTHING", (tenant_id, name)
        )

    async def by_name(self, name: str) -> str | None:
        row = await self.db.fetchone("SELECT id FROM tenants WHERE id = ? OR name = ?", (name, name))
        return str(row[0]) if row else None

    async def get(self, tenant_id: str) -> ContactCenter | None:
        row = await self.db.fetchone(
            "SELECT id, name, retention_days FROM tenants WHERE id = ?", (tenant_id,)
        )
        return (
            ContactCenter(str(row[0]), str(row[1]), None if row[2] is None else int(row[2])) if row else None
        )

    async def set_retention_days(self, tenant_id: str, days: int | None) -> None:
        await self.db.execute("UPDATE tenants SET retention_days = ? WHERE id = ?", (days, tenant_id))

    async def with_retention(self) -> list[ContactCenter]:
        rows = await self.db.fetchall(
            "SELECT id, name, retention_days FROM tenants WHERE retention_days IS NOT NULL ORDER BY id"
        )
        return [ContactCenter(str(i), str(n), int(d)) for i, n, d in rows]
