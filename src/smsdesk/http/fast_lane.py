"""The two hottest requests, answered without the generic middleware stack.

Every GWS operation costs the server two HTTP requests: ``POST /api/v2/me/smssessions/{id}`` and
the Bayeux long-poll (``POST /api/v2/notifications``) that carries its notification to each
desktop. On those two, Starlette's generic stack (its error middleware, the request counter, the
guard, its exception middleware, a router trying routes in order, the request/response wrappers)
cost about a fifth of the server's time per operation (docs/architecture.md, "Where the time
goes"). The fast lane recognises them by method and path before any of that, does once what the
stack did for them (body limit, any failure answered with the envelope, the request counted
under the same route template) and calls the very same endpoint code. Everything else (and these
two too when CORS is configured, since its middleware must see every response) takes the
ordinary path.

A websocket to the Bayeux endpoint goes straight to it as well. None of the stack's layers acts on a
websocket (they pass it through), but each stays suspended in the connection's task for its whole
life: with 10,000 desktops connected, that is memory held for nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from smsdesk.http.guard import guarded

SESSION_PREFIX = "/api/v2/me/smssessions/"
SESSION_ROUTE = SESSION_PREFIX + "{session_id}"

CountRequest = Callable[[str, str, int], None]
"""Told (method, route template, HTTP status) of every request the lane answers."""


class FastLane:
    def __init__(
        self,
        *,
        bayeux: ASGIApp,
        bayeux_path: str,
        session_operation: Callable[[Request], Awaitable[Response]],
        count: CountRequest,
        max_body_bytes: int,
    ) -> None:
        self.bayeux = bayeux
        self.bayeux_path = bayeux_path
        self.bayeux_below = bayeux_path + "/"
        self.session_operation = session_operation
        self.count = count
        self.max_body_bytes = max_body_bytes

    def _is_bayeux(self, path: str) -> bool:
        return path == self.bayeux_path or path.startswith(self.bayeux_below)

    async def handled(self, scope: Scope, receive: Receive, send: Send) -> bool:
        """Answer the request (or serve the websocket) if it is one of ours; False leaves it
        untouched for the stack."""
        path: str = scope["path"]
        if scope["type"] == "websocket":
            if not self._is_bayeux(path):
                return False
            await self.bayeux(scope, receive, send)
            return True
        if scope["method"] != "POST":
            return False
        if self._is_bayeux(path):
            status = await guarded(self.bayeux, scope, receive, send, self.max_body_bytes)
            self.count("POST", self.bayeux_path, status)
            return True
        if path.startswith(SESSION_PREFIX):
            session_id = path[len(SESSION_PREFIX) :]
            if session_id and "/" not in session_id:
                scope["path_params"] = {"session_id": session_id}
                status = await guarded(self._session, scope, receive, send, self.max_body_bytes)
                self.count("POST", SESSION_ROUTE, status)
                return True
        return False

    async def _session(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = await self.session_operation(Request(scope, receive))
        await response(scope, receive, send)


class FastLaneApplication(Starlette):
    """A Starlette application whose hottest requests may skip its stack (``fast_lane``)."""

    fast_lane: FastLane | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.fast_lane is not None and scope["type"] in ("http", "websocket"):
            scope["app"] = self
            if await self.fast_lane.handled(scope, receive, send):
                return
        await super().__call__(scope, receive, send)
