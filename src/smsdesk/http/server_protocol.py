"""uvicorn's httptools connection, held to the limits the HTTP server itself should enforce.

uvicorn has a keep-alive timeout between requests but none while a request arrives, no bound on
header size, no per-address connection cap, and answers a request its parser refuses with plain
text. A client sending a byte at a time could therefore hold a connection (and a file descriptor)
forever. This subclass adds, per connection:

- a **header timeout**: from the connection's opening (or a request's first byte on a kept-alive
  connection) to the end of its headers;
- a **body timeout**: from the end of the headers to the end of the body;
- a **header size** limit (request line plus headers);
- a cap on **connections per client address** (a websocket leaves the count when it upgrades:
  it is then driven by the websocket protocol, with its own ping timeouts);
- a **send timeout**: a client that reads nothing of what waits to be written to it (the
  transport above its high-water mark) for ``send_timeout_s`` is cut off, and the buffer with it;
- a **file-descriptor reserve**: with the process's open connections near its open-file limit, a
  new connection is answered 503 at once (with a warning and a counter), before the limit is hit
  and the event loop starts dropping connections without a word;
- the **GWS envelope** on every refusal it writes itself (400, 408, 429, 431, 503), built by
  ``http/responses.py`` like every other one. A refusal is followed by a **lingering close**: the
  server stops writing, reads and discards what the client still sends for up to ``LINGER_S``,
  then closes. Closing at once with the client's request unread would make the kernel answer it
  with a reset, which clients report as "connection reset" without ever reading the refusal.

``guarded_websocket_protocol`` does the same for websockets (uvicorn's websockets-sansio
protocol, which ``auto`` chooses): a high-water mark on each socket's write buffer, the send
timeout, and the ``TRANSPORT_ABORT`` scope extension, with which the Bayeux endpoint drops a
client it gave up on together with whatever was still waiting to be written to it.

It also sends a response's head and the first part of its body in one write (``_OneWrite``):
uvicorn writes them separately, two system calls where one does, on every response.
"""

from __future__ import annotations

import asyncio
import logging
import os
import resource
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.http11 import Request

from smsdesk.bayeux.asgi import DISCONNECT_WATCH, TRANSPORT_ABORT
from smsdesk.gws.envelope import GwsError, StatusCode
from smsdesk.http.responses import raw_http_error
from smsdesk.lograte import RateLimitedWarning

log = logging.getLogger("smsdesk.http")
limit_log = RateLimitedWarning(log)

LINGER_S = 2.0
"""How long a refused connection is read (and what arrives discarded) before it is closed."""


@dataclass(frozen=True)
class ConnectionLimits:
    header_timeout_s: float = 10.0
    body_timeout_s: float = 30.0
    max_header_bytes: int = 65_536
    max_connections_per_address: int = 256  # 0: no cap
    send_timeout_s: float = 30.0
    websocket_high_water_bytes: int = 65_536


@dataclass
class ConnectionStats:
    """What the connection layer refused, for ``GET /metrics``. One per process: the file
    descriptors it guards are the process's."""

    refused_per_address: int = 0
    refused_short_of_descriptors: int = 0
    cut_off_not_reading: int = 0
    descriptor_budget: int = 0
    """Connections this process serves at most (its open-file limit less the reserve); 0: unknown."""


PROCESS_CONNECTIONS = ConnectionStats()


def descriptor_budget(open_file_limit: int) -> int:
    """Connections to serve at most under ``open_file_limit``: the rest is kept for what else the
    process opens (its database, log files, the event loop's own, outgoing HTTP and SMPP)."""
    return max(1, open_file_limit - max(64, open_file_limit // 20))


def open_descriptors() -> int | None:
    """File descriptors the process holds now (Linux), for an operator's graph."""
    try:
        return len(os.listdir("/proc/self/fd"))
    except OSError:
        return None


_REASONS = {
    400: "Bad Request",
    408: "Request Timeout",
    429: "Too Many Requests",
    431: "Header Too Large",
    503: "Service Unavailable",
}


def _refusal(status: int, message: str, retry_after_s: int | None = None) -> bytes:
    code = StatusCode.INTERNAL_ERROR if status == 503 else StatusCode.VALIDATION_ERROR
    error = GwsError(code, message, http_status=status)
    return raw_http_error(error, _REASONS[status], retry_after_s)


_MALFORMED = _refusal(400, "Malformed HTTP request")


class _Deadlines:
    """The read deadlines of every connection, checked by one timer a few times per timeout.

    A request arms and clears a deadline three times (headers, body, done); a loop timer for each
    would cost an allocation and a heap operation apiece, on the hottest path there is. Here arming
    is a dict write, and a deadline fires at most a quarter of the shortest timeout late."""

    def __init__(self, limits: ConnectionLimits) -> None:
        self.period = max(0.05, min(1.0, limits.header_timeout_s / 4, limits.body_timeout_s / 4))
        self.armed: dict[Any, tuple[float, bytes, str]] = {}
        self.timer: asyncio.TimerHandle | None = None

    def arm(
        self, connection: Any, loop: asyncio.AbstractEventLoop, delay: float, refusal: bytes, what: str
    ) -> None:
        self.armed[connection] = (loop.time() + delay, refusal, what)
        if self.timer is None:
            self.timer = loop.call_later(self.period, self._sweep, loop)

    def disarm(self, connection: Any) -> None:
        self.armed.pop(connection, None)

    def _sweep(self, loop: asyncio.AbstractEventLoop) -> None:
        self.timer = None
        now = loop.time()
        expired = [(c, refusal, what) for c, (at, refusal, what) in self.armed.items() if at <= now]
        for connection, refusal, what in expired:
            del self.armed[connection]
            connection.expired(refusal, what)
        if self.armed:
            self.timer = loop.call_later(self.period, self._sweep, loop)


_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"


class _OneWrite:
    """The transport as one response sees it: its head is held until its body's first write, and
    both leave in one system call. Everything else goes straight to the transport.

    uvicorn writes the head when the application starts the response, and the body when it sends
    it: for the small JSON answers this server sends, two ``send()`` calls (and two wake-ups of the
    client) where one does. A ``100 Continue`` comes before the head and is not held; a HEAD
    request's response (a head and no body write) is not given one. It keeps no
    reference to the request's cycle, which refers to it: a cycle of references would outlive
    every request until the garbage collector's next pass.
    """

    __slots__ = ("_head", "_held", "_transport")

    def __init__(self, transport: asyncio.Transport) -> None:
        self._transport = transport
        self._head: bytes | None = None
        self._held = False

    def write(self, data: bytes) -> None:
        head = self._head
        if head is not None:
            self._head = None
            if len(data) < 65_536:
                self._transport.write(head + data)
            else:  # not worth a copy
                self._transport.writelines((head, data))
        elif not self._held and data != _CONTINUE:
            self._held = True
            self._head = data
        else:
            self._transport.write(data)

    def close(self) -> None:
        # The application failed between the head and the body: the response is cut off either way.
        self._head = None
        self._transport.close()

    def is_closing(self) -> bool:
        return self._transport.is_closing()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


def guarded_protocol(
    limits: ConnectionLimits, stats: ConnectionStats = PROCESS_CONNECTIONS
) -> type[HttpToolsProtocol]:
    """The protocol class to give uvicorn (``http=``); its per-address counts are its own."""
    open_per_address: dict[str, int] = {}
    deadlines = _Deadlines(limits)
    stalls = _Deadlines(limits)  # a connection has at most one read deadline and one send deadline
    open_file_limit = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    budget = stats.descriptor_budget = descriptor_budget(open_file_limit)
    # Refusals linger (each holding its descriptor a moment) in the first half of the reserve only.
    linger_room = budget + (open_file_limit - budget) // 2
    header_timeout = _refusal(
        408, f"Request headers not received within {limits.header_timeout_s:g} s (limit header_timeout_s)"
    )
    body_timeout = _refusal(
        408, f"Request body not received within {limits.body_timeout_s:g} s (limit body_timeout_s)"
    )
    headers_too_large = _refusal(
        431, f"Request headers larger than {limits.max_header_bytes} bytes (limit max_header_bytes)"
    )
    too_many = _refusal(
        429,
        f"More than {limits.max_connections_per_address} open connections from one address "
        "(limit max_connections_per_address); retry once some have closed",
        retry_after_s=1,
    )
    short_of_descriptors = _refusal(
        503, "The server is short of file descriptors; retry in a moment", retry_after_s=1
    )

    class GuardedHttpToolsProtocol(HttpToolsProtocol):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._address: str | None = None
            self._header_bytes = 0
            self._on_gone: Callable[[], None] | None = None
            self._lingering = False
            # Built once per connection, put in every request's scope.
            self._watch_extension: dict[object, object] = {"watch": self._watch_disconnect}

        # ----- the file-descriptor reserve and the per-address cap -----

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            address = self.client[0] if self.client else None
            if len(self.connections) > budget:
                stats.refused_short_of_descriptors += 1
                limit_log.warn(
                    "descriptors",
                    "short of file descriptors: %d connections open, the most this process serves "
                    "under its open-file limit of %d; new connections are answered 503 until some "
                    "close (raise the limit: LimitNOFILE= in systemd, ulimit -n)",
                    len(self.connections),
                    open_file_limit,
                )
                if len(self.connections) <= linger_room:
                    self._refuse(short_of_descriptors)
                else:  # the descriptor is what is short: no lingering (the client may see a reset)
                    self.transport.write(short_of_descriptors)
                    self.transport.close()
                return
            cap = limits.max_connections_per_address
            if address is not None and cap > 0:
                if open_per_address.get(address, 0) >= cap:
                    stats.refused_per_address += 1
                    limit_log.warn(
                        "per-address",
                        "refused a connection from %s: %d already open (limit max_connections_per_address)",
                        address,
                        cap,
                    )
                    self._refuse(too_many)
                    return
                open_per_address[address] = open_per_address.get(address, 0) + 1
                self._address = address
            self._arm(limits.header_timeout_s, header_timeout, "headers")

        def _release(self) -> None:
            address, self._address = self._address, None
            if address is not None:
                left = open_per_address.get(address, 1) - 1
                if left > 0:
                    open_per_address[address] = left
                else:
                    open_per_address.pop(address, None)

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            stalls.disarm(self)
            self._release()
            gone, self._on_gone = self._on_gone, None
            answering = self.cycle is not None and not self.cycle.response_complete
            super().connection_lost(exc)
            if gone is not None and answering:
                gone()

        # ----- the disconnect watch (bayeux/asgi.py, DISCONNECT_WATCH) -----

        def _watch_disconnect(self, callback: Callable[[], None] | None) -> None:
            if callback is not None and self.cycle is not None and self.cycle.disconnected:
                callback()  # the client left while the request was being handled, before this
                return
            self._on_gone = callback

        def handle_websocket_upgrade(self) -> None:
            self._disarm()
            stalls.disarm(self)
            self._release()
            super().handle_websocket_upgrade()

        # ----- timeouts -----

        def _arm(self, delay: float, refusal: bytes, what: str) -> None:
            deadlines.arm(self, self.loop, delay, refusal, what)

        def _disarm(self) -> None:
            deadlines.disarm(self)

        def expired(self, refusal: bytes, what: str) -> None:
            if what == "linger":
                self.transport.close()
                return
            if what == "send":
                stats.cut_off_not_reading += 1
                log.info(
                    "cut off a connection from %s: it read nothing for %g s (limit send_timeout_s)",
                    self._address or (self.client[0] if self.client else "?"),
                    limits.send_timeout_s,
                )
                self.transport.abort()
                return
            if self.transport.is_closing() or self._lingering:
                return
            log.debug("closed a connection from %s: request %s too slow", self._address, what)
            # Headers too slow: no request has started, so nothing was answered. Body too slow: the
            # application may have answered already (say a 401 before reading the body); then
            # the connection is only closed.
            if what == "headers" or not self.cycle.response_started:
                self._refuse(refusal)
            else:
                self.transport.close()

        def _refuse(self, refusal: bytes) -> None:
            """Answer ``refusal`` and close after a lingering read (module docstring)."""
            self._disarm()
            if self.transport.is_closing() or self._lingering:
                return
            self._lingering = True
            self._release()  # a refused connection is not one of the address's open ones
            self.transport.write(refusal)
            if self.transport.can_write_eof():
                self.transport.write_eof()
                self._arm(LINGER_S, b"", "linger")
            else:
                self.transport.close()

        # ----- the send timeout -----

        def pause_writing(self) -> None:
            super().pause_writing()
            stalls.arm(self, self.loop, limits.send_timeout_s, b"", "send")

        def resume_writing(self) -> None:
            super().resume_writing()
            stalls.disarm(self)

        # ----- parser callbacks -----

        def on_message_begin(self) -> None:
            super().on_message_begin()
            self._header_bytes = 0
            self._on_gone = None
            self.scope.setdefault("extensions", {})[DISCONNECT_WATCH] = self._watch_extension
            self._arm(limits.header_timeout_s, header_timeout, "headers")

        def on_url(self, url: bytes) -> None:
            if self._within_header_limit(len(url)):
                super().on_url(url)

        def on_header(self, name: bytes, value: bytes) -> None:
            if self._within_header_limit(len(name) + len(value)):
                super().on_header(name, value)

        def _within_header_limit(self, size: int) -> bool:
            self._header_bytes += size
            if self._header_bytes > limits.max_header_bytes:
                self._refuse(headers_too_large)
            return not self._refused()

        def _refused(self) -> bool:
            return self._lingering or self.transport.is_closing()

        # Once a connection is refused, the parser may still call back for the rest of the bytes it
        # was fed: no request is started, nothing is buffered.

        def on_headers_complete(self) -> None:
            if not self._refused():
                self._arm(limits.body_timeout_s, body_timeout, "body")
                previous = self.cycle
                super().on_headers_complete()
                # Not for an upgrade (no new cycle), nor HEAD (uvicorn writes no body to flush the head).
                if self.cycle is not previous and self.scope["method"] != "HEAD":
                    self.cycle.transport = _OneWrite(self.transport)  # type: ignore[assignment]

        def on_body(self, body: bytes) -> None:
            if not self._refused():
                super().on_body(body)

        def on_message_complete(self) -> None:
            self._disarm()
            if not self._refused():
                super().on_message_complete()

        def data_received(self, data: bytes) -> None:
            if self._refused():
                return  # refused already; the rest of what the client sends is read and dropped
            super().data_received(data)

        def eof_received(self) -> None:
            if self._lingering:
                self.transport.close()  # the client has said all it will: nothing left to drop

        def send_400_response(self, msg: str) -> None:
            # uvicorn's own refusal of what its parser cannot read, in the envelope.
            self._refuse(_MALFORMED)

    return GuardedHttpToolsProtocol


def guarded_websocket_protocol(
    limits: ConnectionLimits, stats: ConnectionStats = PROCESS_CONNECTIONS
) -> type[WebSocketsSansIOProtocol]:
    """The websocket protocol class to give uvicorn (``ws=``): uvicorn's websockets-sansio one with
    a high-water mark on each socket's write buffer, the send timeout, and ``TRANSPORT_ABORT``."""
    stalls = _Deadlines(limits)

    class GuardedWebSocketProtocol(WebSocketsSansIOProtocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            super().connection_made(transport)
            self.transport.set_write_buffer_limits(high=limits.websocket_high_water_bytes)

        def handle_connect(self, event: Request) -> None:
            super().handle_connect(event)
            if self.initial_response is None and not self.close_sent:
                # The application's task starts on the loop's next turn, with this very scope.
                self.scope["extensions"][TRANSPORT_ABORT] = {"abort": self.transport.abort}

        def pause_writing(self) -> None:
            super().pause_writing()
            stalls.arm(self, self.loop, limits.send_timeout_s, b"", "send")

        def resume_writing(self) -> None:
            super().resume_writing()
            stalls.disarm(self)

        def connection_lost(self, exc: Exception | None) -> None:
            stalls.disarm(self)
            super().connection_lost(exc)

        def expired(self, refusal: bytes, what: str) -> None:
            stats.cut_off_not_reading += 1
            log.info(
                "cut off a websocket from %s: it read nothing for %g s (limit send_timeout_s)",
                self.client[0] if self.client else "?",
                limits.send_timeout_s,
            )
            self.transport.abort()

    return GuardedWebSocketProtocol


def raise_open_file_limit() -> int:
    """Raise the soft open-file limit to the hard one, and return it. Every connection holds a file
    descriptor; the common soft default (1,024) would let a thousand idle sockets lock out every
    new client, while the hard limit is what the operator actually granted."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        wanted = hard if hard != resource.RLIM_INFINITY else max(soft, 1_048_576)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
            soft = wanted
        except (ValueError, OSError) as error:
            log.warning("could not raise the open-file limit from %d to %d: %s", soft, wanted, error)
    return soft
