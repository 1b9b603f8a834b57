"""The user-data audit trail, in SQL both backends run."""

from __future__ import annotations

from collections.abc import Sequence

from smsdesk.operations.ports import UserDataAuditEntry
from smsdesk.storage.connection import SqlRepository

_COLUMNS = "tenant_id, session_id, version, key, operation, user_id, old_value, new_value, changed_ms"


class UserDataAuditSql(SqlRepository):
    __slots__ = ()

    async def append(self, entries: Sequence[UserDataAuditEntry]) -> None:
        for entry in entries:
            await self.db.execute(
                f"INSERT INTO user_data_audit ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
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

    async def of_session(self, session_id: str) -> list[UserDataAuditEntry]:
        rows = await self.db.fetchall(
            f"SELECT {_COLUMNS} FROM user_data_audit WHERE session_id = ? ORDER BY id", (session_id,)
        )
        return [
            UserDataAuditEntry(str(t), str(s), int(v), str(k), str(o), u, old, new, int(c))
            for t, s, v, k, o, u, old, new, c in rows
        ]
