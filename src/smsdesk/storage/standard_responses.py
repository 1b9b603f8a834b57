"""Standard responses, in SQL both backends run."""

from __future__ import annotations

from smsdesk.operations.ports import StandardResponse
from smsdesk.storage.connection import Row, SqlRepository

_COLUMNS = "id, tenant_id, name, category, text, created_ms, updated_ms"


def _response(row: Row) -> StandardResponse:
    response_id, tenant_id, name, category, text, created_ms, updated_ms = row
    return StandardResponse(
        str(response_id),
        str(tenant_id),
        str(name),
        str(category),
        str(text),
        int(created_ms),
        int(updated_ms),
    )


class StandardResponsesSql(SqlRepository):
    __slots__ = ()

    async def of_tenant(self, tenant_id: str) -> list[StandardResponse]:
        rows = await self.db.fetchall(
            f"SELECT {_COLUMNS} FROM standard_responses WHERE tenant_id = ? ORDER BY category, name, id",
            (tenant_id,),
        )
        return [_response(row) for row in rows]

    async def get(self, tenant_id: str, response_id: str) -> StandardResponse | None:
        row = await self.db.fetchone(
            f"SELECT {_COLUMNS} FROM standard_responses WHERE tenant_id = ? AND id = ?",
            (tenant_id, response_id),
        )
        return _response(row) if row else None

    async def by_name(self, tenant_id: str, name: str) -> StandardResponse | None:
        row = await self.db.fetchone(
            f"SELECT {_COLUMNS} FROM standard_responses WHERE tenant_id = ? AND name = ?", (tenant_id, name)
        )
        return _response(row) if row else None

    async def insert(self, response: StandardResponse) -> bool:
        row = await self.db.fetchone(
            f"INSERT INTO standard_responses ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (tenant_id, name) DO NOTHING RETURNING id",
            (
                response.id,
                response.tenant_id,
                response.name,
                response.category,
                response.text,
                response.created_ms,
                response.updated_ms,
            ),
        )
        return row is not None

    async def update(self, response: StandardResponse) -> bool:
        row = await self.db.fetchone(
            "UPDATE standard_responses SET name = ?, category = ?, text = ?, updated_ms = ? "
            "WHERE tenant_id = ? AND id = ? AND NOT EXISTS "
            "(SELECT 1 FROM standard_responses o WHERE o.tenant_id = ? AND o.name = ? AND o.id != ?) "
            "RETURNING id",
            (
                response.name,
                response.category,
                response.text,
                response.updated_ms,
                response.tenant_id,
                response.id,
                response.tenant_id,
                response.name,
                response.id,
            ),
        )
        return row is not None

    async def delete(self, tenant_id: str, response_id: str) -> bool:
        row = await self.db.fetchone(
            "DELETE FROM standard_responses WHERE tenant_id = ? AND id = ? RETURNING id",
            (tenant_id, response_id),
        )
        return row is not None
