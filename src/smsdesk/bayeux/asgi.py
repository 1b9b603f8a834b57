"""The ASGI endpoint: the long-polling transport (HTTP POST) and the websocket transport, on one mount.

Any path under the mount is accepted: the CometD JavaScript client appends the message type
(``/handshake``, ``/connect``...) or a bare ``/`` to the URL, and that suffix carries no meaning
the message bodies do not already carry.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import secrets
from collections.abc import Awaitable, Callable
from typing import Any, cast

import msgspec
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute
from starlette.types import Message as AsgiEvent
from starlette.types import Receive, Scope, Send

from smsdesk.bayeux.policy import Rejection, Unavailable
from smsdesk.bayeux.server import BayeuxServer, Message, encode
from smsdesk.bayeux.session import LONG_POLLING, WEBSOCKET, Connect, ServerSession
from smsdesk.bayeux.settings import BayeuxSettings
from smsdesk.jsondepth import nests_deeper_than

log = logging.getLogger("smsdesk.bayeux")

Authenticate = Callable[[dict[str, Any]], Awaitable[object]]
BROWSER_COOKIE = "BAYEUX_BROWSER"
_decode = msgspec.json.decode
_JSON = b"application/json;charset=UTF-8"
_DEFAULTS = BayeuxSettings()

DISCONNECT_WATCH = "disconnect_watch"
"""An ASGI scope extension a server may offer: ``scope["extensions"][DISCONNECT_WATCH]["watch"]``,
called with a callback, has it called if the client goes away before the response is complete (``None``
withdraws it). Without it, a held long-poll learns of the client leaving from a task awaiting
``receive()``: a task created and cancelled for every long-poll, which is most requests."""

TRANSPORT_ABORT = "transport_abort"
"""An ASGI scope extension a websocket server may offer: ``scope["extensions"][TRANSPORT_ABORT]["abort"]()``
drops the connection at once, discarding whatever it still had to write. Without it, a client
dropped for reading too slowly is sent a close frame, which leaves only once the client reads."""

FRAME_BYTES = 65_536
"""Queued messages a websocket frame carries at most (one larger message goes alone). The writer
takes the next frame's worth only when the last one was written, so what a slow reader has not
taken stays in its session's queue, where the byte limits see it, not in frames piling up."""


def _error(error: str) -> list[Message]:
    return [{"successful": False, "error": error}]


class Refused:
    """A POST body or frame refused whole, with the Bayeux error messages that say why."""

    __slots__ = ("errors",)

    def __init__(self, errors: list[Message]) -> None:
        self.errors = errors


Refusal = Callable[[int, list[Message]], tuple[int, bytes]]
"""Renders an HTTP-level refusal (status, Bayeux error messages) as the (status, body) sent."""


def bayeux_errors(status: int, errors: list[Message]) -> tuple[int, bytes]:
    """The default refusal: the Bayeux error messages themselves."""
    return status, encode(errors)


def parse(body: bytes, settings: BayeuxSettings = _DEFAULTS) -> list[Message] | Refused:
    """The batch as a list of messages, or why it is refused."""
    if nests_deeper_than(body, settings.max_json_depth):
        return Refused(_error("400::message_too_deep"))
    try:
        value = _decode(body)
    except msgspec.DecodeError:
        return Refused(_error("400::invalid_json"))
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list) or not value:
        return Refused(_error("400::message_invalid"))
    if len(value) > settings.max_batch:
        return Refused(_error("400::batch_too_large"))
    if all(isinstance(m, dict) and isinstance(m.get("channel"), str) for m in value):
        return cast(list[Message], value)
    errors: list[Message] = []
    for m in value:
        if not isinstance(m, dict):
            errors.append({"successful": False, "error": "400::message_invalid"})
            continue
        error: Message = {"successful": False, "error": "400::batch_rejected"}
        if isinstance(m.get("channel"), str):
            error["channel"] = m["channel"]
        else:
            error["error"] = "400::channel_missing"
        if "id" in m:
            error["id"] = m["id"]
        errors.append(error)
    return Refused(errors)


def _browser(scope: Scope) -> str | None:
    for key, value in scope["headers"]:
        if key == b"cookie":
            for part in bytes(value).decode("latin-1").split(";"):
                name, _, token = part.strip().partition("=")
                if name == BROWSER_COOKIE and 0 < len(token) <= 64 and token.isalnum():
                    return token
    return None


def _frame(parts: list[bytes]) -> bytes:
    return b"[" + b",".join(parts) + b"]"


class BayeuxEndpoint:
    """A pure ASGI app. ``authenticate(scope)`` runs for every HTTP request and once per websocket;
    it returns the principal, or a :class:`Rejection` that is sent as-is."""

    def __init__(
        self, server: BayeuxServer, authenticate: Authenticate, refusal: Refusal = bayeux_errors
    ) -> None:
        self.server = server
        self.authenticate = authenticate
        # How an HTTP-level refusal (not a Bayeux reply) is written: the application may want its
        # own error format there, as every other non-200 answer of its API has.
        self.refusal = refusal
        self.max_bytes = server.settings.max_request_bytes

    def routes(self, path: str) -> list[BaseRoute]:
        """Starlette routes serving the endpoint at ``path`` itself and below it: a ``Mount`` alone
        does not match the bare path (POSTs get redirected, websocket upgrades refused)."""
        return [Route(path, self), WebSocketRoute(path, self), Mount(path, app=self)]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self._http(scope, receive, send)
        elif scope["type"] == "websocket":
            await self._websocket(scope, receive, send)

    # ----- long-polling -----

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["method"] != "POST":
            await _respond(send, *self.refusal(405, _error("405::method_not_allowed")), [(b"allow", b"POST")])
            return
        principal = await self.authenticate(cast(dict[str, Any], scope))
        if isinstance(principal, Rejection):
            await _reject(send, principal)
            return
        body = await self._body(scope, receive)
        if body is None:
            await _respond(send, *self.refusal(400, _error("400::request_too_large")))
            return
        messages = parse(body, self.server.settings)
        if isinstance(messages, Refused):
            await _respond(send, *self.refusal(400, messages.errors))
            return
        browser = _browser(scope)
        headers: list[tuple[bytes, bytes]] = []
        parts: list[bytes] = []
        shared = self.server.shared
        if shared is not None:
            try:
                await shared.before(self.server, messages, principal)
            except Unavailable:
                await _respond(send, 200, _frame([encode(r) for r in self.server.unavailable(messages)]))
                return
        replies = self.server.handle(messages, principal, LONG_POLLING, browser)
        if shared is not None:
            await shared.after(self.server, messages, replies, principal)
        for reply in replies:
            if isinstance(reply, Connect):
                try:
                    if reply.hold:
                        await self._hold(reply, scope, receive)
                finally:
                    answer = self.server.finish_connect(reply)
                parts.extend(await _recorded(self.server, reply, answer))
            else:
                if browser is None and reply["channel"] == "/meta/handshake" and reply["successful"]:
                    browser = secrets.token_hex(16)
                    cookie = f"{BROWSER_COOKIE}={browser}; Path=/; HttpOnly"
                    headers.append((b"set-cookie", cookie.encode()))
                parts.append(encode(reply))
        await _respond(send, 200, _frame(parts), headers)

    async def _body(self, scope: Scope, receive: Receive) -> bytes | None:
        for key, value in scope["headers"]:
            if key == b"content-length" and value.isdigit() and int(value) > self.max_bytes:
                return None
        chunks: list[bytes] = []
        size = 0
        while True:
            event = await receive()
            if event["type"] != "http.request":
                return b""
            chunk: bytes = event.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                return None
            chunks.append(chunk)
            if not event.get("more_body", False):
                return b"".join(chunks)

    async def _hold(self, connect: Connect, scope: Scope, receive: Receive) -> None:
        """Wait until the connect must be answered, or until the client goes away: then nothing is
        drained from the queue, so messages are not written into a closed connection."""
        woken = asyncio.get_running_loop().create_future()

        def wake() -> None:
            if not woken.done():
                woken.set_result(None)

        self.server.hold(connect, wake)
        offered = scope.get("extensions", {}).get(DISCONNECT_WATCH)
        watch: Callable[[Callable[[], None] | None], None] | None = offered.get("watch") if offered else None
        stop_watching: Callable[[], object]
        if watch is not None:
            watch(functools.partial(connect.wake, "gone"))
            stop_watching = functools.partial(watch, None)
        else:

            def watched(task: asyncio.Future[Any]) -> None:
                if not task.cancelled() and (
                    task.exception() is not None or task.result()["type"] == "http.disconnect"
                ):
                    connect.wake("gone")

            # After the body, ASGI receive() returns only when the client disconnects.
            watcher = asyncio.ensure_future(receive())
            watcher.add_done_callback(watched)
            stop_watching = watcher.cancel
        try:
            await woken
        finally:
            stop_watching()

    # ----- websocket -----

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (await receive())["type"] != "websocket.connect":
            return
        if not self.server.settings.websocket_enabled:
            await send({"type": "websocket.close", "code": 1008})
            return
        principal = await self.authenticate(cast(dict[str, Any], scope))
        if isinstance(principal, Rejection):
            if "websocket.http.response" in scope.get("extensions", {}):
                await send(
                    {
                        "type": "websocket.http.response.start",
                        "status": principal.status,
                        "headers": _headers(principal),
                    }
                )
                await send({"type": "websocket.http.response.body", "body": principal.body})
            else:
                await send({"type": "websocket.close", "code": 1008})
            return
        subprotocol = "cometd" if "cometd" in scope.get("subprotocols", ()) else None
        await send({"type": "websocket.accept", "subprotocol": subprotocol})
        offered = scope.get("extensions", {}).get(TRANSPORT_ABORT)
        connection = _WebSocketConnection(self.server, send, offered.get("abort") if offered else None)
        try:
            while await self._frame_received(connection, await receive(), principal):
                pass
        finally:
            await connection.finish()

    async def _frame_received(
        self, connection: _WebSocketConnection, event: AsgiEvent, principal: object
    ) -> bool:
        """Handle one incoming frame; False when the connection ends. A method of its own so that
        nothing of a frame stays referenced while the connection waits for the next one, which is
        most of its life (10,000 idle websockets hold that much less memory)."""
        if event["type"] != "websocket.receive":
            return False
        text = event.get("text")
        data: bytes = text.encode() if text is not None else event.get("bytes") or b""
        if len(data) > self.max_bytes:
            connection.close_code = 1009
            return False
        messages = parse(data, self.server.settings)
        if isinstance(messages, Refused):
            connection.add([encode(error) for error in messages.errors])
            return True
        shared = self.server.shared
        if shared is not None:
            try:
                await shared.before(self.server, messages, principal)
            except Unavailable:
                connection.add([encode(r) for r in self.server.unavailable(messages)])
                return True
        replies = self.server.handle(messages, principal, WEBSOCKET, None)
        if shared is not None:
            await shared.after(self.server, messages, replies, principal)
        await connection.received(replies)
        return True


async def _recorded(server: BayeuxServer, connect: Connect, answer: list[bytes]) -> list[bytes]:
    """``answer`` once a cluster has recorded what it carries; an empty reply if it may be stale."""
    shared = server.shared
    if shared is None or not answer or await shared.sent(connect):
        return answer
    return [server.empty_connect_reply(connect)]


class _WebSocketConnection:
    """Every frame goes through one writer task, in the order its content left the session queue.
    Frames are made under a lock: in a cluster, making one awaits the database, and a push must not
    overtake a connect reply that took older messages from the queue.

    The writer task exists only while there is something to write: most websockets are idle most
    of the time, and an idle one then holds no task, no event and no frame queue."""

    __slots__ = (
        "_abort_transport",
        "_making",
        "_writer",
        "close_code",
        "closed",
        "dirty",
        "frames",
        "held",
        "send",
        "server",
        "session",
    )

    def __init__(
        self, server: BayeuxServer, send: Send, abort_transport: Callable[[], None] | None = None
    ) -> None:
        self.server = server
        self.send = send
        self._abort_transport = abort_transport
        self.frames: list[bytes] = []
        self.dirty = False
        """Something may be ready (a push, a held connect woken) that the writer has not looked at."""
        self.held: Connect | None = None
        self.session: ServerSession | None = None
        self.close_code: int | None = None
        self.closed = False
        self._making = asyncio.Lock()
        self._writer: asyncio.Task[None] | None = None

    def push(self) -> None:
        self.dirty = True
        if self._writer is None and not self.closed:
            self._writer = asyncio.get_running_loop().create_task(self._write())

    def add(self, parts: list[bytes]) -> None:
        if parts:
            self.frames.append(_frame(parts))
            self.push()

    async def _answer(self, connect: Connect) -> list[bytes]:
        return await _recorded(self.server, connect, self.server.finish_connect(connect))

    async def received(self, replies: list[Message | Connect]) -> None:
        async with self._making:
            parts: list[bytes] = []
            for reply in replies:
                if not isinstance(reply, Connect):
                    parts.append(encode(reply))
                    continue
                session = reply.session
                if self.held is not None:
                    self.held.wake("superseded")
                    held, self.held = self.held, None
                    parts.extend(await self._answer(held))
                # Without the ack extension messages are pushed as they come; with it they ride on
                # connect replies only, which carry the batch ids the client acknowledges.
                session.push = self.push if session.ack is None else None
                session.abort = self.abort
                self.session = session
                if reply.hold:
                    self.held = reply
                    self.server.hold(reply, self.push)
                else:
                    parts.extend(await self._answer(reply))
            self.add(parts)

    async def _collect(self) -> None:
        async with self._making:
            held = self.held
            if held is not None and held.reason is not None:
                self.held = None
                self.add(await self._answer(held))
            session = self.session
            if session is not None and session.push == self.push and session.queue:
                self.add(self.server.drain(session, FRAME_BYTES))
                if session.queue:
                    self.dirty = True  # the next frame's worth, once this one is written
                if self.server.shared is not None:
                    self.server.shared.pushed(session)

    async def _write(self) -> None:
        try:
            while self.dirty or self.frames:
                self.dirty = False
                await self._collect()
                while self.frames:
                    frame = self.frames.pop(0)
                    try:
                        await self.send({"type": "websocket.send", "text": frame.decode()})
                    except Exception:
                        # The socket is gone; the receive loop ends the connection. Nothing more
                        # may be taken from the session's queue for it.
                        self.closed = True
                        return
        finally:
            # No await between the loop's last check and this: a push from here on starts a new writer.
            self._writer = None

    def abort(self) -> None:
        """Drop the connection now with everything it still had to write: its client is too slow
        to read (``BayeuxServer`` dropped its session for that)."""
        if self.closed:
            return
        self.closed = True
        self.frames.clear()
        if self._writer is not None:
            self._writer.cancel()
        if self._abort_transport is not None:
            self._abort_transport()
        else:
            task = asyncio.get_running_loop().create_task(self._close_without_waiting())
            _closing.add(task)
            task.add_done_callback(_closing.discard)

    async def _close_without_waiting(self) -> None:
        # A close frame leaves only once the client reads; nothing else of this connection waits.
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.send({"type": "websocket.close", "code": 1013}), 1.0)

    async def finish(self) -> None:
        self.closed = True  # nothing may be drained for a dead socket from here on
        if self._writer is not None:
            self._writer.cancel()
        held, self.held = self.held, None
        if held is not None:
            held.wake("gone")
            held.reason = "gone"  # even if already woken: nothing may be drained for a dead socket
            self.server.finish_connect(held)
        session = self.session
        if session is not None and session.push == self.push:
            session.push = None
        if session is not None and session.abort == self.abort:
            session.abort = None
        if self.close_code is not None:
            try:
                await self.send({"type": "websocket.close", "code": self.close_code})
            except Exception:
                log.debug("websocket already closed")


_closing: set[asyncio.Task[None]] = set()  # close frames on their way (a task must be referenced)


def _headers(rejection: Rejection) -> list[tuple[bytes, bytes]]:
    headers = [
        (b"content-type", rejection.content_type.encode()),
        (b"content-length", str(len(rejection.body)).encode()),
    ]
    headers += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in rejection.headers]
    return headers


async def _reject(send: Send, rejection: Rejection) -> None:
    await send({"type": "http.response.start", "status": rejection.status, "headers": _headers(rejection)})
    await send({"type": "http.response.body", "body": rejection.body})


async def _respond(
    send: Send, status: int, body: bytes, extra: list[tuple[bytes, bytes]] | None = None
) -> None:
    headers = [
        (b"content-type", _JSON),
        (b"content-length", str(len(body)).encode()),
        (b"cache-control", b"no-cache, no-store"),
    ]
    if extra:
        headers += extra
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
