"""HTTP sessions, the cluster's secrets and sign-in throttling, in SQL both backends run."""

from __future__ import annotations

from smsdesk.operations.ports import StoredHttpSession
from smsdesk.storage.connection import SqlRepository


class HttpSessionsSql(SqlRepository):
    __slots__ = ()

    async def get(self, session_id: str) -> StoredHttpSession | None:
        row = await self.db.fetchone(
            "SELECT id, user_id, tenant_id, created_ms, last_seen_ms, ended_ms FROM http_sessions WHERE id = ?",
            (session_id,),
        )
        return StoredHttpSession(*row) if row else None

    async def insert(self, session: StoredHttpSession, max_per_user: int) -> None:
        await self.db.execute(
            "INSERT INTO http_sessions (id, user_id, tenant_id, created_ms, last_seen_ms, ended_ms) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (
                session.id,
                session.user_id,
                session.tenant_id,
                session.created_ms,
                session.last_seen_ms,
                session.ended_ms,
            ),
        )
        await self.db.execute(
            "UPDATE http_sessions SET ended_ms = ? WHERE user_id = ? AND ended_ms IS NULL AND id NOT IN "
            "(SELECT id FROM http_sessions WHERE user_id = ? AND ended_ms IS NULL "
            "ORDER BY last_seen_ms DESC, id LIMIT ?)",
            (session.last_seen_ms, session.user_id, session.user_id, max_per_user),
        )

    async def touch(self, session_id: str, now_ms: int) -> None:
        await self.db.execute(
            "UPDATE http_sessions SET last_seen_ms = ? WHERE id = ? AND last_seen_ms < ?",
            (now_ms, session_id, now_ms),
        )

    async def end(self, session: StoredHttpSession, now_ms: int) -> None:
        await self.db.execute(
            "INSERT INTO http_sessions (id, user_id, tenant_id, created_ms, last_seen_ms, ended_ms) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET ended_ms = excluded.ended_ms",
            (
                session.id,
                session.user_id,
                session.tenant_id,
                session.created_ms,
                session.last_seen_ms,
                now_ms,
            ),
        )

    async def end_all_of_user(self, user_id: str, now_ms: int) -> None:
        await self.db.execute(
            "UPDATE http_sessions SET ended_ms = ? WHERE user_id = ? AND ended_ms IS NULL", (now_ms, user_id)
        )

    async def prune(self, created_before_ms: int) -> None:
        await self.db.execute("DELETE FROM http_sessions WHERE created_ms < ?", (created_before_ms,))


class ClusterSecretsSql(SqlRepository):
    __slots__ = ()

    async def get_or_create(self, name: str, proposed: str) -> str:
        await self.db.execute(
            "INSERT INTO cluster_secrets (name, value) VALUES (?, ?) ON CONFLICT DO NOTHING", (name, proposed)
        )
        row = await self.db.fetchone("SELECT value FROM cluster_secrets WHERE name = ?", (name,))
        assert row is not None
        return str(row[0])


class SignInThrottlesSql(SqlRepository):
    __slots__ = ()

    async def lock(self, user_name: str, address: str) -> str | None:
        # An upsert that changes nothing still locks the row (PostgreSQL; SQLite has one writer), so
        # two nodes counting failures of one pair take turns.
        await self.db.execute(
            "INSERT INTO signin_throttles (user_name, address, state, updated_ms) VALUES (?, ?, '', 0) "
            "ON CONFLICT (user_name, address) DO UPDATE SET state = signin_throttles.state",
            (user_name, address),
        )
        return await self.get(user_name, address)

    async def get(self, user_name: str, address: str) -> str | None:
        row = await self.db.fetchone(
            "SELECT state FROM signin_throttles WHERE user_name = ? AND address = ?", (user_name, address)
        )
        return str(row[0]) if row and row[0] else None

    async def save(self, user_name: str, address: str, state: str, now_ms: int) -> None:
        await self.db.execute(
            "UPDATE signin_throttles SET state = ?, updated_ms = ? WHERE user_name = ? AND address = ?",
            (state, now_ms, user_name, address),
        )

    async def forget(self, user_name: str, address: str) -> None:
        await self.db.execute(
            "DELETE FROM signin_throttles WHERE user_name = ? AND address = ?", (user_name, address)
        )

    async def prune(self, updated_before_ms: int) -> None:
        await self.db.execute("DELETE FROM signin_throttles WHERE updated_ms < ?", (updated_before_ms,))
