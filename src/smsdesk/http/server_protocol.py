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
- the **GWS envelope** on every refusal it writes itself (400, 408, 429, 431), built by
  ``http/responses.py`` like every other one.

It also sends a response's head and the first part of its body in one write (``_OneWrite``):
uvicorn writes them separately, two system calls where one does, on every response.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from smsdesk.bayeux.asgi import DISCONNECT_WATCH
from smsdesk.gws.envelope import GwsError, StatusCode
from smsdesk.http.responses import raw_http_error

log = logging.getLogger("smsdesk.http")


@dataclass(frozen=True)
class ConnectionLimits:
    header_timeout_s: float = 10.0
    body_timeout_s: float = 30.0
    max_header_bytes: int = 65_536
    max_connections_per_address: int = 256  # 0: no cap


_REASONS = {400: "Bad Request", 408: "Request Timeout", 429: "Too Many Requests", 431: "Header Too Large"}


def _refusal(status: int, message: str) -> bytes:
    error = GwsError(StatusCode.VALIDATION_ERROR, message, http_status=status)
    return raw_http_error(error, _REASONS[status])


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


def guarded_protocol(limits: ConnectionLimits) -> type[HttpToolsProtocol]:
    """The protocol class to give uvicorn (``http=``); its per-address counts are its own."""
    open_per_address: dict[str, int] = {}
    deadlines = _Deadlines(limits)
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
        "(limit max_connections_per_address)",
    )

    class GuardedHttpToolsProtocol(HttpToolsProtocol):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._address: str | None = None
            self._header_bytes = 0
            self._on_gone: Callable[[], None] | None = None
            # Built once per connection, put in every request's scope.
            self._watch_extension: dict[object, object] = {"watch": self._watch_disconnect}

        # ----- the per-address cap -----

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            address = self.client[0] if self.client else None
            cap = limits.max_connections_per_address
            if address is not None and cap > 0:
                if open_per_address.get(address, 0) >= cap:
                    log.debug("refused a connection from %s: %d already open", address, cap)
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
            self._release()
            super().handle_websocket_upgrade()

        # ----- timeouts -----

        def _arm(self, delay: float, refusal: bytes, what: str) -> None:
            deadlines.arm(self, self.loop, delay, refusal, what)

        def _disarm(self) -> None:
            deadlines.disarm(self)

        def expired(self, refusal: bytes, what: str) -> None:
            if self.transport.is_closing():
                return
            log.debug("closed a connection from %s: request %s too slow", self._address, what)
            # Headers too slow: no request has started, so nothing was answered. Body too slow: the
            # application may have answered already (say a 401 before reading the body); then
            # the connection is only closed.
            if what == "headers" or not self.cycle.response_started:
                self.transport.write(refusal)
            self.transport.close()

        def _refuse(self, refusal: bytes) -> None:
            self._disarm()
            if not self.transport.is_closing():
                self.transport.write(refusal)
                self.transport.close()

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
            return not self.transport.is_closing()

        # Once a connection is refused, the parser may still call back for the rest of the bytes it
        # was fed: no request is started, nothing is buffered.

        def on_headers_complete(self) -> None:
            if not self.transport.is_closing():
                self._arm(limits.body_timeout_s, body_timeout, "body")
                previous = self.cycle
                super().on_headers_complete()
                # Not for an upgrade (no new cycle), nor HEAD (uvicorn writes no body to flush the head).
                if self.cycle is not previous and self.scope["method"] != "HEAD":
                    self.cycle.transport = _OneWrite(self.transport)  # type: ignore[assignment]

        def on_body(self, body: bytes) -> None:
            if not self.transport.is_closing():
                super().on_body(body)

        def on_message_complete(self) -> None:
            self._disarm()
            if not self.transport.is_closing():
                super().on_message_complete()

        def data_received(self, data: bytes) -> None:
            if self.transport.is_closing():
                return  # refused already; the rest of what the client sends is dropped
            super().data_received(data)

        def send_400_response(self, msg: str) -> None:
            # uvicorn's own refusal of what its parser cannot read, in the envelope.
            self._refuse(_MALFORMED)

    return GuardedHttpToolsProtocol


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
