"""What the embedding application plugs in: who may do what, and what to hear about sessions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

if TYPE_CHECKING:
    from smsdesk.bayeux.session import Connect, ServerSession

Server = TypeVar("Server", contravariant=True)
"""The server a :class:`SharedClients` is handed: a type parameter, so that this module, which the
server imports, need not import the server."""


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


class Unavailable(Exception):
    """Raised by :meth:`SharedClients.before` when the application cannot serve a batch now (where
    it keeps its clients does not answer). The transport answers every message of the batch
    unsuccessful (``503::unavailable``) with the server's connect advice (``reconnect: retry``), so
    a client keeps its clientId and retries, with its own backoff, instead of handshaking again."""


class SharedClients(Protocol[Server]):
    """Where a cluster keeps its clients, so that any node serves any client's messages.

    Without it (one server) a client lives in the memory of the server that handshook it. With it,
    the transports ask, around every batch, that this node's copy of each named client be made
    current, that what the batch changed be recorded, and that a connect reply carrying messages be
    recorded before it is sent. The server holds a ``SharedClients[BayeuxServer]``.
    """

    async def before(self, server: Server, messages: list[dict[str, Any]], principal: object) -> None:
        """Make this node's copies of the clients the messages name current (adopt or resync);
        :class:`Unavailable` when that cannot be done now."""

    async def after(
        self, server: Server, messages: list[dict[str, Any]], replies: list[Any], principal: object
    ) -> None:
        """Record what handshakes, subscriptions and disconnects in the batch changed; runs before
        any reply is sent."""

    async def sent(self, connect: Connect) -> bool:
        """A connect reply is about to go (``connect.sequence``: its last fresh message, if any).
        False: the client's state changed elsewhere; send an empty reply instead."""

    def pushed(self, session: ServerSession) -> None:
        """Messages up to ``session.sequence`` were pushed over a websocket (recorded lazily)."""


@dataclass(frozen=True)
class Rejection:
    """Returned by the endpoint's ``authenticate`` callback to refuse a request. Sent as-is over
    HTTP; a websocket upgrade is refused with it when the server supports it, else closed (1008)."""

    status: int
    body: bytes
    content_type: str = "application/json"
    headers: tuple[tuple[str, str], ...] = ()
