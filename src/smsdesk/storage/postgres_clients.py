"""The cluster's Bayeux clients in PostgreSQL (``bayeux_clients``; docs/architecture.md §9)."""

from __future__ import annotations

import json
from collections.abc import Sequence

from smsdesk.operations.ports import StoredBayeuxClient
from smsdesk.storage.postgres import PostgresStore


class PostgresBayeuxClients:
    """The ``BayeuxClientDirectory``: single statements on pooled connections, each committed alone."""

    __slots__ = ("store",)

    def __init__(self, store: PostgresStore) -> None:
        self.store = store

    async def get(self, client_id: str) -> StoredBayeuxClient | None:
        pool = await self.store.pool()
        row = await pool.fetchrow(
            "SELECT id, user_id, tenant_id, ack, subscriptions, version, delivered, connected, last_seen_ms "
            "FROM bayeux_clients WHERE id = $1",
            client_id,
        )
        if row is None:
            return None
        return StoredBayeuxClient(
            row[0],
            row[1],
            row[2],
            bool(row[3]),
            tuple(json.loads(row[4])),
            row[5],
            row[6],
            bool(row[7]),
            row[8],
        )

    async def insert(self, client: StoredBayeuxClient, now_ms: int, max_per_user: int) -> int:
        pool = await self.store.pool()
        async with pool.acquire() as conn, conn.transaction():
            await conn.execute(
                "INSERT INTO bayeux_clients (id, user_id, tenant_id, ack, subscriptions, version, delivered, "
                "connected, created_ms, last_seen_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)",
                client.id,
                client.user_id,
                client.tenant_id,
                int(client.ack),
                json.dumps(list(client.subscriptions)),
                client.version,
                client.delivered,
                int(client.connected),
                now_ms,
            )
            if max_per_user <= 0:
                return 0
            # The per-user cap over the whole cluster: the user's oldest clients go, wherever they
            # were made; the nodes holding them answer their next message 402 (shared_clients).
            removed: int = await conn.fetchval(
                "WITH gone AS (DELETE FROM bayeux_clients WHERE id IN (SELECT id FROM bayeux_clients "
                "WHERE user_id = $1 ORDER BY created_ms DESC, id DESC OFFSET $2) RETURNING id) "
                "SELECT COUNT(*) FROM gone",
                client.user_id,
                max_per_user,
            )
            return removed

    async def set_subscriptions(self, client_id: str, subscriptions: Sequence[str]) -> int | None:
        pool = await self.store.pool()
        version: int | None = await pool.fetchval(
            "UPDATE bayeux_clients SET subscriptions = $2, version = version + 1 WHERE id = $1 RETURNING version",
            client_id,
            json.dumps(sorted(subscriptions)),
        )
        return version

    async def record_delivery(
        self, client_id: str, version: int, expected: int, delivered: int, now_ms: int
    ) -> bool:
        pool = await self.store.pool()
        status = await pool.execute(
            "UPDATE bayeux_clients SET delivered = $4, connected = 1, last_seen_ms = $5 "
            "WHERE id = $1 AND version = $2 AND delivered = $3",
            client_id,
            version,
            expected,
            delivered,
            now_ms,
        )
        return status.endswith(" 1")

    async def advance_delivery(self, client_id: str, delivered: int, now_ms: int) -> None:
        pool = await self.store.pool()
        await pool.execute(
            "UPDATE bayeux_clients SET delivered = GREATEST(delivered, $2), connected = 1, last_seen_ms = $3 "
            "WHERE id = $1",
            client_id,
            delivered,
            now_ms,
        )

    async def touch(self, client_id: str, now_ms: int) -> None:
        pool = await self.store.pool()
        await pool.execute(
            "UPDATE bayeux_clients SET last_seen_ms = $2, connected = 1 WHERE id = $1", client_id, now_ms
        )

    async def delete(self, client_id: str) -> None:
        pool = await self.store.pool()
        await pool.execute("DELETE FROM bayeux_clients WHERE id = $1", client_id)

    async def expire(self, seen_before_ms: int) -> int:
        pool = await self.store.pool()
        status = await pool.execute("DELETE FROM bayeux_clients WHERE last_seen_ms < $1", seen_before_ms)
        return int(status.split()[-1])
