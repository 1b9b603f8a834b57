"""A client's server-side state, and the ``/meta/connect`` it may be holding."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from smsdesk.bayeux.ack import AckState

LONG_POLLING = "long-polling"
WEBSOCKET = "websocket"


class ServerSession:
    """One handshaken client. Identity-hashed, so the application may keep sessions in sets.

    ``subscriptions`` is read-only for the application: change it through the protocol.
    ``attributes`` is free for the application to use.
    """

    __slots__ = (
        "abort",
        "ack",
        "attributes",
        "connect",
        "connected",
        "id",
        "last_active",
        "principal",
        "push",
        "queue",
        "queue_bytes",
        "removed",
        "sequence",
        "subscriptions",
        "transport",
    )

    def __init__(self, client_id: str, principal: object, ack: bool, now: float) -> None:
        self.id = client_id
        self.principal = principal
        self.subscriptions: set[str] = set()
        self.queue: list[bytes] = []
        """Encoded messages not yet sent."""
        self.queue_bytes = 0
        """Their size: what the server counts against ``MemoryBounds``."""
        self.ack: AckState | None = AckState() if ack else None
        self.connect: Connect | None = None
        """The client's current ``/meta/connect``, until it is answered."""
        self.connected = False
        """Whether a connect was answered yet: the first one after a handshake returns at once."""
        self.last_active = now
        """Monotonic time the last connect was answered (or of the handshake); drives expiry."""
        self.push: Callable[[], None] | None = None
        """Set by a websocket without the ack extension: messages are pushed as they come."""
        self.abort: Callable[[], None] | None = None
        """Set by a websocket transport: drops its connection at once, with whatever it still had to
        write (for a client dropped because it reads too slowly)."""
        self.transport: str | None = None
        self.removed: str | None = None
        """Why the session is gone (``disconnect``, ``expired``, ``overflow``, ``over_cap``, ``closed``), or None."""
        self.sequence = 0
        """The highest application sequence number of the messages queued so far (see
        :meth:`BayeuxServer.deliver`); with the ack extension, batch ids follow it."""
        self.attributes: dict[str, Any] = {}

    @property
    def pending(self) -> int:
        """Messages held for this client: queued plus sent-but-unacknowledged."""
        return len(self.queue) + (self.ack.unacked_count if self.ack is not None else 0)

    @property
    def pending_bytes(self) -> int:
        """Bytes held for this client: queued plus sent-but-unacknowledged."""
        return self.queue_bytes + (self.ack.unacked_bytes if self.ack is not None else 0)

    def has_output(self) -> bool:
        return bool(self.queue) or (self.ack is not None and self.ack.has_unacked())

    def __repr__(self) -> str:
        return f"ServerSession({self.id!r}, subscriptions={sorted(self.subscriptions)!r})"


class Connect:
    """A ``/meta/connect`` being answered; the transport holds it until ``reason`` is set."""

    __slots__ = (
        "_waker",
        "browser",
        "hold",
        "message",
        "multiple_clients",
        "reason",
        "sequence",
        "session",
        "sync",
        "transport",
    )

    def __init__(
        self,
        session: ServerSession,
        message: dict[str, Any],
        transport: str,
        browser: str | None,
        sync: tuple[int, int, int, int] | None,
    ) -> None:
        self.session = session
        self.message = message
        self.transport = transport
        self.browser = browser
        self.sync = sync
        self.hold = False
        self.multiple_clients = False
        self.reason: str | None = None
        """Why the hold ended: ``message``, ``timeout``, ``superseded``, ``gone``, ``removed``..."""
        self.sequence: int | None = None
        """Set when the reply is made: the sequence of the last message it carries fresh, if any."""
        self._waker: Callable[[], None] | None = None

    def wake(self, reason: str) -> None:
        if self.reason is None:
            self.reason = reason
            if self._waker is not None:
                self._waker()

    def start(self, waker: Callable[[], None]) -> None:
        self._waker = waker
        if self.reason is not None:
            waker()

    def stop(self) -> None:
        self._waker = None


class HoldTimeouts:
    """When each held ``/meta/connect`` must be answered anyway (``timeout``), for all of them.

    Every connect is held for the same time, so deadlines come in the order holds start: a dict in
    insertion order is already the queue of deadlines, and one loop timer, set for the oldest,
    serves them all. A timer per connect would be armed and cancelled on almost every long-poll.
    The timer fires up to ``SLACK_S`` late, so that one pass answers the connects that fell due
    together (10,000 websocket clients time out 400 connects a second) rather than one pass each."""

    SLACK_S = 0.1

    __slots__ = ("_held", "_timer", "timeout_s")

    def __init__(self, timeout_s: float) -> None:
        self.timeout_s = timeout_s
        self._held: dict[Connect, float] = {}
        self._timer: asyncio.TimerHandle | None = None

    def add(self, connect: Connect) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout_s
        self._held[connect] = deadline
        if self._timer is None:
            self._timer = loop.call_at(deadline + self.SLACK_S, self._expire)

    def discard(self, connect: Connect) -> None:
        self._held.pop(connect, None)

    def _expire(self) -> None:
        self._timer = None
        loop = asyncio.get_running_loop()
        now = loop.time()
        held = self._held
        due: list[Connect] = []
        for connect, deadline in held.items():  # one pass: the oldest first, up to the first not due
            if deadline > now:
                self._timer = loop.call_at(deadline + self.SLACK_S, self._expire)
                break
            due.append(connect)
        for connect in due:
            del held[connect]
            connect.wake("timeout")

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._held.clear()
