"""Who may do what on the Bayeux endpoint (deny by default), and how much a client may make it hold.

An authenticated agent may handshake, and subscribe to its own ``/v2/me/...`` topics (or the
wildcards clients use: ``/v2/me/*``, ``/v2/me/**``, ``/**``). Nothing else, and no client publishes.
Delivery is per session anyway (an agent's notifications go only to that agent's sessions), so a
wildcard can never reveal another agent's traffic.
"""

from __future__ import annotations

from typing import Any

from smsdesk.bayeux import ServerSession
from smsdesk.bayeux.settings import MemoryBounds
from smsdesk.config import Settings
from smsdesk.operations.ports import User

ALLOWED_WILDCARDS = frozenset({"/**", "/v2/**", "/v2/me/*", "/v2/me/**"})


class GwsSecurityPolicy:
    def can_handshake(self, principal: object, message: dict[str, Any]) -> bool:
        return isinstance(principal, User)

    def can_subscribe(self, session: ServerSession, channel: str) -> bool:
        if not isinstance(session.principal, User):
            return False
        if channel in ALLOWED_WILDCARDS:
            return True
        parts = channel.split("/")
        return channel.startswith("/v2/me/") and len(parts) >= 4 and all(parts[1:]) and "*" not in channel

    def can_publish(self, session: ServerSession, channel: str, message: dict[str, Any]) -> bool:
        return False


def bayeux_memory_bounds(settings: Settings) -> MemoryBounds:
    """What a client may make the server hold, from the settings (docs/reliability.md)."""
    return MemoryBounds(
        max_subscriptions_per_client=settings.bayeux_max_subscriptions_per_client,
        max_subscriptions_per_principal=settings.bayeux_max_subscriptions_per_user,
        max_queue_bytes=settings.bayeux_max_queue_bytes,
        max_node_queue_bytes=settings.bayeux_max_node_queue_bytes,
    )
