"""Idempotency keys (``operations/ports/idempotency.py``), in SQL both backends run."""

from __future__ import annotations

from smsdesk.operations.ports.idempotency import RememberedRequest
from smsdesk.storage.connection import SqlRepository


class IdempotencyKeysSql(SqlRepository):
    __slots__ = ()

    async def claim(
        self, tenant_id: str, user_id: str, key: str, request: str, now_ms: int
    ) -> RememberedRequest | None:
        # ON CONFLICT waits for a concurrent claim of the same key to end: the key is then either
        # free again (it rolled back: this insert succeeds) or remembered (read below).
        inserted = await self.db.fetchone(
            "INSERT INTO idempotency_keys (user_id, key, tenant_id, request, outcome, created_ms) "
            "VALUES (?, ?, ?, ?, NULL, ?) ON CONFLICT DO NOTHING RETURNING key",
            (user_id, key, tenant_id, request, now_ms),
        )
        if inserted is not None:
            return None
        row = await self.db.fetchone(
            "SELECT request, outcome FROM idempotency_keys WHERE user_id = ? AND key = ?", (user_id, key)
        )
        return RememberedRequest(str(row[0]), None if row[1] is None else str(row[1])) if row else None

    async def remember(self, user_id: str, key: str, outcome: str) -> None:
        await self.db.execute(
            "UPDATE idempotency_keys SET outcome = ? WHERE user_id = ? AND key = ?", (outcome, user_id, key)
        )

    async def prune(self, created_before_ms: int) -> int:
        rows = await self.db.fetchall(
            "DELETE FROM idempotency_keys WHERE created_ms < ? RETURNING key", (created_before_ms,)
        )
        return len(rows)
