"""Agents' channels, presence and routing load, in SQL both backends run."""

from __future__ import annotations

from collections.abc import Sequence

from smsdesk.domain.agents import SMS_CHANNEL, ChannelState
from smsdesk.domain.routing import AgentAvailability
from smsdesk.operations.ports import AgentChannel
from smsdesk.storage.connection import SqlRepository


class AgentsSql(SqlRepository):
    __slots__ = ()

    async def channels(self, user_id: str) -> list[AgentChannel]:
        rows = await self.db.fetchall(
            "SELECT channel, state, reason FROM agent_channels WHERE user_id = ? ORDER BY channel", (user_id,)
        )
        return [AgentChannel(str(c), ChannelState(str(s)), None if r is None else str(r)) for c, s, r in rows]

    async def set_channel(
        self, tenant_id: str, user_id: str, channel: str, state: ChannelState, reason: str | None = None
    ) -> None:
        await self.db.execute(
            "INSERT INTO agent_channels (user_id, tenant_id, channel, state, reason) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (user_id, channel) DO UPDATE SET state = excluded.state, reason = excluded.reason",
            (user_id, tenant_id, channel, state.value, reason),
        )

    async def clear_channels(self, user_id: str) -> None:
        await self.db.execute("DELETE FROM agent_channels WHERE user_id = ?", (user_id,))

    async def routing_candidates(
        self, tenant_id: str, queue: str, capacity: int, seen_since_ms: int
    ) -> list[AgentAvailability]:
        rows = await self.db.fetchall(
            """
            SELECT m.user_id, c.state, u.last_offer_ms, COALESCE(a.last_seen_ms, 0),
                   (SELECT COUNT(*) FROM session_parties p
                     WHERE p.user_id = m.user_id AND p.state IN ('Invited', 'Chatting', 'LeftChat'))
              FROM queue_members m
              JOIN agent_channels c ON c.user_id = m.user_id AND c.channel = ?
              JOIN users u ON u.id = m.user_id AND u.enabled = 1
              LEFT JOIN agent_presence a ON a.user_id = m.user_id
             WHERE m.tenant_id = ? AND m.queue = ?
            """,
            (SMS_CHANNEL, tenant_id, queue),
        )
        return [
            AgentAvailability(
                str(uid),
                state == ChannelState.READY.value and int(seen) >= seen_since_ms,
                int(load),
                capacity,
                int(last_offer),
            )
            for uid, state, last_offer, seen, load in rows
        ]

    async def note_offer(self, user_id: str, now_ms: int) -> None:
        await self.db.execute("UPDATE users SET last_offer_ms = ? WHERE id = ?", (now_ms, user_id))

    async def note_presence(self, seen: Sequence[tuple[str, str]], now_ms: int) -> None:
        await self.db.executemany(
            "INSERT INTO agent_presence (user_id, tenant_id, last_seen_ms) VALUES (?, ?, ?) "
            "ON CONFLICT (user_id) DO UPDATE SET last_seen_ms = excluded.last_seen_ms "
            "WHERE agent_presence.last_seen_ms < excluded.last_seen_ms",
            # In one order on every node: two nodes' flushes never wait for each other in a cycle.
            [(user_id, tenant_id, now_ms) for tenant_id, user_id in sorted(seen, key=lambda e: e[1])],
        )

    async def last_seen(self, user_id: str) -> int | None:
        row = await self.db.fetchone("SELECT last_seen_ms FROM agent_presence WHERE user_id = ?", (user_id,))
        return int(row[0]) if row else None

    async def ready_absent(self, seen_before_ms: int) -> list[tuple[str, str]]:
        rows = await self.db.fetchall(
            """
            SELECT c.tenant_id, c.user_id
              FROM agent_channels c
              LEFT JOIN agent_presence a ON a.user_id = c.user_id
             WHERE c.channel = ? AND c.state = ? AND COALESCE(a.last_seen_ms, 0) < ?
            """,
            (SMS_CHANNEL, ChannelState.READY.value, seen_before_ms),
        )
        return [(str(t), str(u)) for t, u in rows]
