"""Agents' channel states, their presence, and what routing reads of them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from smsdesk.domain.agents import ChannelState
from smsdesk.domain.routing import AgentAvailability


@dataclass(frozen=True, slots=True)
class AgentChannel:
    channel: str
    state: ChannelState
    reason: str | None = None
    """Why the server, not the agent, put the channel in this state (e.g. ``SessionExpired``)."""


class Agents(Protocol):
    """``agent_channels``, ``agent_presence`` and the routing columns of ``users``. Reads lock
    nothing; presence only ever moves forward (docs/architecture.md §7)."""

    async def channels(self, user_id: str) -> list[AgentChannel]: ...
    async def set_channel(
        self, tenant_id: str, user_id: str, channel: str, state: ChannelState, reason: str | None = None
    ) -> None: ...
    async def clear_channels(self, user_id: str) -> None: ...
    async def routing_candidates(
        self, tenant_id: str, queue: str, capacity: int, seen_since_ms: int
    ) -> list[AgentAvailability]:
        """The queue's agents logged in on SMS; only those seen since ``seen_since_ms`` count as Ready."""
        ...

    async def note_offer(self, user_id: str, now_ms: int) -> None:
        """When the agent was last offered a session (routing prefers the oldest)."""
        ...

    async def note_presence(self, seen: Sequence[tuple[str, str]], now_ms: int) -> None:
        """Agents ``(tenant_id, user_id)`` seen at ``now_ms``. Rows are written in user order, so two
        nodes recording at once never wait for each other in a cycle."""
        ...

    async def last_seen(self, user_id: str) -> int | None: ...
    async def ready_absent(self, seen_before_ms: int) -> list[tuple[str, str]]:
        """``(tenant_id, user_id)`` of agents Ready on SMS and not seen since then."""
        ...
