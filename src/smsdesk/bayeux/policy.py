"""What the embedding application plugs in: who may do what, and what to hear about sessions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from smsdesk.bayeux.session import ServerSession


class SecurityPolicy(Protocol):
    """Deny by default: the server refuses whatever the policy does not explicitly allow."""

    def can_handshake(self, principal: object, message: dict[str, Any]) -> bool: ...

    def can_subscribe(self, session: ServerSession, channel: str) -> bool: ...

    def can_publish(self, session: ServerSession, channel: str, message: dict[str, Any]) -> bool: ...


class SessionListener(Protocol):
    def on_handshake(self, session: ServerSession, message: dict[str, Any]) -> dict[str, Any] | None:
        """After a successful handshake, before its reply is sent; ``message['ext']`` is available.
        May return entries to add to the reply's ``ext`` (an application extension telling the
        client where it starts, for example); ``None`` adds nothing."""

    def on_subscribe(self, session: ServerSession, channel: str) -> None:
        """After ``channel`` was added to the session's subscriptions, before the reply is sent, so a
        message delivered from here is queued for the client's next connect (replay)."""

    def on_removed(self, session: ServerSession, expired: bool) -> None:
        """The session is gone: ``expired`` is true for idle expiry only. ``session.removed`` says
        why (``disconnect``, ``expired``, ``overflow``, ``closed``)."""


@dataclass(frozen=True)
class Rejection:
    """Returned by the endpoint's ``authenticate`` callback to refuse a request. Sent as-is over
    HTTP; a websocket upgrade is refused with it when the server supports it, else closed (1008)."""

    status: int
    body: bytes
    content_type: str = "application/json"
    headers: tuple[tuple[str, str], ...] = ()
