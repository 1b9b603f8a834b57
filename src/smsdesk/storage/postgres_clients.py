"""The cluster's Bayeux clients in PostgreSQL (``bayeux_clients``; docs/architecture.md §9)."""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine, Sequence
from typing import Any, Concatenate, ParamSpec, TypeVar

from smsdesk.operations.ports import OVER_CAP, Claim, Inserted, StoredBayeuxClient
from smsdesk.storage.connection import Row
from smsdesk.storage.postgres import CLIENTS_CHANNEL, NODE_APPLICATION, PostgresStore

_COLUMNS = "id, user_id, tenant_id, ack, subscriptions, version, delivered, connected, last_seen_ms"

_CLAIM = f"""
WITH previous AS (
    SELECT id, owner FROM bayeux_clients WHERE id = $1 FOR UPDATE
), moved AS (
    UPDATE bayeux_clients c SET owner = $2, last_seen_ms = GREATEST(c.last_seen_ms, $3)
      FROM previous WHERE c.id = previous.id
    RETURNING c.id, c.user_id, c.tenant_id, c.ack, c.subscriptions, c.version, c.delivered, c.connected,
              c.last_seen_ms, previous.owner
), alive AS (
    SELECT moved.owner FROM moved
     WHERE moved.owner IS NOT NULL AND moved.owner <> $2
       AND EXISTS (SELECT 1 FROM pg_stat_activity WHERE application_name = '{NODE_APPLICATION} ' || moved.owner)
)
SELECT moved.*, alive.owner IS NOT NULL,
       CASE WHEN alive.owner IS NOT NULL
            THEN pg_notify('{CLIENTS_CHANNEL}', alive.owner || ' release ' || $1 || ' ' || $2 || ' ' || $4) END
  FROM moved LEFT JOIN alive ON true
"""
"""Take the client over in one statement: the row is this node's, and a previous owner that is alive
(its LISTEN connection is there) is asked, at commit, to release it."""


def _stored(row: Row) -> StoredBayeuxClient:
    client_id, user_id, tenant_id, ack, subscriptions, version, delivered, connected, last_seen = row[:9]
    return StoredBayeuxClient(
        str(client_id),
        str(user_id),
        str(tenant_id),
        bool(ack),
        tuple(json.loads(str(subscriptions))),
        int(str(version)),
        int(str(delivered)),
        bool(connected),
        int(str(last_seen)),
    )


_P = ParamSpec("_P")
_T = TypeVar("_T")


def _reaching(
    method: Callable[Concatenate[PostgresBayeuxClients, _P], Coroutine[Any, Any, _T]],
) -> Callable[Concatenate[PostgresBayeuxClients, _P], Coroutine[Any, Any, _T]]:
    """The database's absence raised as ``StorageUnavailable`` (and reported once)."""

    async def reaching(self: PostgresBayeuxClients, /, *args: _P.args, **kwargs: _P.kwargs) -> _T:
        async with self.store.reaching():
            return await method(self, *args, **kwargs)

    return reaching


class PostgresBayeuxClients:
    """The ``BayeuxClientDirectory``: single statements on pooled connections, each committed alone."""

    __slots__ = ("node", "store")

    def __init__(self, store: PostgresStore) -> None:
        self.store = store
        self.node = store.node

    @_reaching
    async def get(self, client_id: str) -> StoredBayeuxClient | None:
        pool = await self.store.delivery_pool()
        row = await pool.fetchrow(f"SELECT {_COLUMNS} FROM bayeux_clients WHERE id = $1", client_id)
        return _stored(row) if row is not None else None

    @_reaching
    async def insert(
        self, client: StoredBayeuxClient, now_ms: int, max_per_user: int, catch_up: bool = True
    ) -> Inserted:
        pool = await self.store.delivery_pool()
        async with pool.acquire() as conn, conn.transaction():
            start: int = await conn.fetchval(
                "INSERT INTO bayeux_clients (id, user_id, tenant_id, ack, subscriptions, version, delivered, "
                "connected, created_ms, last_seen_ms, owner) "
                "SELECT $1, $2, $3, $4, $5, $6, CASE WHEN $11 THEN GREATEST($7, position) ELSE $7 END, "
                "$8, $9, $9, $10 FROM outbox_head WHERE id = 1 RETURNING delivered",
                client.id,
                client.user_id,
                client.tenant_id,
                int(client.ack),
                json.dumps(list(client.subscriptions)),
                client.version,
                client.delivered,
                int(client.connected),
                now_ms,
                self.node,
                catch_up,
            )
            if max_per_user <= 0:
                return Inserted(start, [])
            # The per-user cap over the whole cluster: the user's oldest clients go, wherever they
            # were made; their owners are told (shared_clients), and answer their next message 402.
            rows = await conn.fetch(
                "WITH gone AS (DELETE FROM bayeux_clients WHERE id IN (SELECT id FROM bayeux_clients "
                "WHERE user_id = $1 ORDER BY created_ms DESC, id DESC OFFSET $2) RETURNING id, owner) "
                f"SELECT id, owner, CASE WHEN owner IS NOT NULL AND owner <> $3 "
                f"THEN pg_notify('{CLIENTS_CHANNEL}', owner || ' gone ' || id) END FROM gone",
                client.user_id,
                max_per_user,
                self.node,
            )
            return Inserted(start, [(str(r[0]), None if r[1] is None else str(r[1])) for r in rows])

    @_reaching
    async def claim(self, client_id: str, now_ms: int, token: str) -> Claim | None:
        pool = await self.store.delivery_pool()
        row = await pool.fetchrow(_CLAIM, client_id, self.node, now_ms, token)
        if row is None:
            return None
        return Claim(_stored(row), None if row[9] is None else str(row[9]), bool(row[10]))

    @_reaching
    async def set_subscriptions(
        self, client_id: str, subscriptions: Sequence[str], user_cap: int = 0
    ) -> int | None:
        pool = await self.store.delivery_pool()
        row = await pool.fetchrow(
            "WITH others AS (SELECT COALESCE(SUM(json_array_length(o.subscriptions::json)), 0) AS held "
            "FROM bayeux_clients c JOIN bayeux_clients o ON o.user_id = c.user_id AND o.id <> c.id "
            "WHERE c.id = $1), "
            "changed AS (UPDATE bayeux_clients SET subscriptions = $2, version = version + 1 "
            "FROM others WHERE id = $1 AND ($3 <= 0 OR others.held + $4 <= $3) RETURNING version) "
            "SELECT (SELECT version FROM changed), EXISTS (SELECT 1 FROM bayeux_clients WHERE id = $1)",
            client_id,
            json.dumps(sorted(subscriptions)),
            user_cap,
            len(subscriptions),
        )
        version, exists = (row[0], row[1]) if row is not None else (None, False)
        if version is not None:
            return int(version)
        return OVER_CAP if exists else None

    @_reaching
    async def record_delivery(self, client_id: str, delivered: int, now_ms: int) -> bool:
        pool = await self.store.delivery_pool()
        status = await pool.execute(
            "UPDATE bayeux_clients SET delivered = GREATEST(delivered, $2), last_seen_ms = $3, connected = 1 "
            "WHERE id = $1 AND owner = $4",
            client_id,
            delivered,
            now_ms,
            self.node,
        )
        return bool(status.endswith(" 1"))

    @_reaching
    async def record(self, changes: Sequence[tuple[str, int, int]]) -> list[str]:
        pool = await self.store.delivery_pool()
        # Rows are locked in id order: two nodes flushing overlapping sets (a client changing hands
        # between them) then wait for each other instead of deadlocking.
        rows = await pool.fetch(
            "WITH v AS (SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[]) AS v(id, delivered, seen)), "
            "mine AS (SELECT c.id FROM bayeux_clients c JOIN v ON v.id = c.id WHERE c.owner = $4 "
            "ORDER BY c.id FOR UPDATE OF c), "
            "changed AS (UPDATE bayeux_clients c SET delivered = GREATEST(c.delivered, v.delivered), "
            "last_seen_ms = GREATEST(c.last_seen_ms, v.seen), connected = 1 "
            "FROM v, mine WHERE c.id = mine.id AND v.id = mine.id RETURNING c.id) "
            "SELECT v.id FROM v WHERE NOT EXISTS (SELECT 1 FROM bayeux_clients c WHERE c.id = v.id)",
            [c[0] for c in changes],
            [c[1] for c in changes],
            [c[2] for c in changes],
            self.node,
        )
        return [str(r[0]) for r in rows]

    @_reaching
    async def delete(self, client_id: str) -> None:
        pool = await self.store.delivery_pool()
        await pool.execute("DELETE FROM bayeux_clients WHERE id = $1", client_id)

    @_reaching
    async def delete_of_user(self, user_id: str) -> int:
        pool = await self.store.pool()
        rows = await pool.fetch(
            "WITH gone AS (DELETE FROM bayeux_clients WHERE user_id = $1 RETURNING id, owner) "
            f"SELECT id, CASE WHEN owner IS NOT NULL THEN pg_notify('{CLIENTS_CHANNEL}', owner || ' gone ' || id) END "
            "FROM gone",
            user_id,
        )
        return len(rows)

    @_reaching
    async def expire(self, seen_before_ms: int) -> int:
        pool = await self.store.delivery_pool()
        status = await pool.execute("DELETE FROM bayeux_clients WHERE last_seen_ms < $1", seen_before_ms)
        return int(status.split()[-1])
