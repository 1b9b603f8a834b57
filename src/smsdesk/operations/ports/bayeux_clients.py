"""Where a cluster keeps its Bayeux clients (PostgreSQL; docs/architecture.md §9)."""

from __future__ import annotations

import json
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
    """Bumped by every subscription change."""
    delivered: int
    """The highest outbox position handed to the client in a reply, as its owner last wrote it."""
    connected: bool
    last_seen_ms: int


@dataclass(frozen=True, slots=True)
class Claim:
    """A client this node has just made its own, and who owned it before."""

    stored: StoredBayeuxClient
    previous_owner: str | None
    previous_owner_alive: bool
    """Whether the previous owner (another node) is alive, so that it must release the client first."""


@dataclass(frozen=True, slots=True)
class Inserted:
    start: int
    """Where the new client's notifications start: after every position committed when it was made."""
    removed: list[tuple[str, str | None]]
    """``(client id, owner)`` of the user's oldest clients the cluster-wide cap removed."""


@dataclass(frozen=True, slots=True)
class ClientState:
    """What an owner hands over when it releases a client: the highest position it handed to the
    client, its subscriptions (None when too many to tell in a notification: read the row), and
    whether it has connected (its first connect answered): the row learns that only when written
    behind, and a client changing hands faster than that must not be taken for a new one, whose
    connect is answered at once."""

    delivered: int | None
    subscriptions: tuple[str, ...] | None
    connected: bool | None = None

    MAX_BYTES = 7_000
    """What fits in a PostgreSQL notification, with room to spare."""

    def encode(self) -> str:
        text = json.dumps(
            {"delivered": self.delivered, "subscriptions": self.subscriptions, "connected": self.connected}
        )
        if len(text.encode()) > self.MAX_BYTES:
            text = json.dumps(
                {"delivered": self.delivered, "subscriptions": None, "connected": self.connected}
            )
        return text

    @classmethod
    def parse(cls, text: str) -> ClientState | None:
        try:
            value = json.loads(text) if text else None
        except ValueError:
            return None
        if not isinstance(value, dict):
            return None
        delivered = value.get("delivered")
        subscriptions = value.get("subscriptions")
        connected = value.get("connected")
        return cls(
            delivered if isinstance(delivered, int) and not isinstance(delivered, bool) else None,
            tuple(str(s) for s in subscriptions) if isinstance(subscriptions, list) else None,
            connected if isinstance(connected, bool) else None,
        )


OVER_CAP = -1
"""``set_subscriptions`` refused: the user's clients would hold too many subscriptions."""


class BayeuxClientDirectory(Protocol):
    """Single statements, each committed on its own."""

    node: str
    """This node's id: what ``owner`` holds for the clients it serves."""

    async def get(self, client_id: str) -> StoredBayeuxClient | None: ...
    async def insert(
        self, client: StoredBayeuxClient, now_ms: int, max_per_user: int, catch_up: bool = True
    ) -> Inserted:
        """Store a new client, owned by this node, starting at ``client.delivered``, or with
        ``catch_up`` after the database's last position if that is later; then the user's oldest
        beyond ``max_per_user`` (0: no cap) go, and their owners are told."""
        ...

    async def claim(self, client_id: str, now_ms: int, token: str) -> Claim | None:
        """Make this node the client's owner, and ask its previous owner, if another live node, to
        release it (``smsdesk_clients``; its reply names ``token``). None: no such client."""
        ...

    async def set_subscriptions(
        self, client_id: str, subscriptions: Sequence[str], user_cap: int = 0
    ) -> int | None:
        """Store the client's subscriptions; returns the new version, None when there is no such
        client, and ``OVER_CAP`` (nothing stored) when its user's clients would then hold more than
        ``user_cap`` subscriptions over the whole cluster (0: no cap)."""
        ...

    async def record_delivery(self, client_id: str, delivered: int, now_ms: int) -> bool:
        """Write down that a reply carrying messages up to ``delivered`` is going to the client, if
        this node still owns it (False: another node claimed it meanwhile)."""
        ...

    async def record(self, changes: Sequence[tuple[str, int, int]]) -> list[str]:
        """Write behind ``(client id, delivered, last seen ms)`` of clients this node owns; returns
        the ids of those that are gone (expired, removed by the cap). A client another node owns
        now is left alone: that node's claim asks this one to release it."""
        ...

    async def delete(self, client_id: str) -> None: ...
    async def delete_of_user(self, user_id: str) -> int:
        """Remove every client of the user (disabled, deleted, or their password changed), telling
        each owner, this node included, to drop its copy: their next message is answered 402."""
        ...

    async def expire(self, seen_before_ms: int) -> int:
        """Drop the clients no node has served since then; returns how many went."""
        ...
