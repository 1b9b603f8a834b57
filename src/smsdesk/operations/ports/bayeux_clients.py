"""Where a cluster keeps its Bayeux clients (PostgreSQL; docs/architecture.md §9)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class StoredBayeuxClient:
    """A Bayeux client as a cluster keeps it (docs/architecture.md §9)."""

    id: str
    user_id: str
    tenant_id: str
    ack: bool
    subscriptions: tuple[str, ...]
    version: int
    """Bumped by every subscription change: a node holding an older copy must not answer from it."""
    delivered: int
    """The highest outbox position handed to the client in a reply."""
    connected: bool
    last_seen_ms: int


class BayeuxClientDirectory(Protocol):
    """Single statements, each committed on its own."""

    async def get(self, client_id: str) -> StoredBayeuxClient | None: ...
    async def insert(self, client: StoredBayeuxClient, now_ms: int, max_per_user: int) -> int:
        """Store a new client; then the user's oldest beyond ``max_per_user`` (0: no cap) go.
        Returns how many went."""
        ...

    async def set_subscriptions(self, client_id: str, subscriptions: Sequence[str]) -> int | None:
        """Store the client's subscriptions; returns the new version (None: no such client)."""
        ...

    async def record_delivery(
        self, client_id: str, version: int, expected: int, delivered: int, now_ms: int
    ) -> bool:
        """Move ``delivered`` from ``expected`` to ``delivered``, unless the client changed elsewhere
        (another subscription version, or another node answered it meanwhile)."""
        ...

    async def advance_delivery(self, client_id: str, delivered: int, now_ms: int) -> None:
        """Move ``delivered`` forward to at least ``delivered`` (websocket pushes, recorded lazily)."""
        ...

    async def touch(self, client_id: str, now_ms: int) -> None: ...
    async def delete(self, client_id: str) -> None: ...
    async def expire(self, seen_before_ms: int) -> int:
        """Drop the clients no node has served since then; returns how many went."""
        ...
