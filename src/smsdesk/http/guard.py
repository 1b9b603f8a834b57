"""Pure ASGI middleware: the request body limit, one spelling of every path (no trailing-slash
redirects), and the promise that every failure is answered with the envelope and no stack trace."""

from __future__ import annotations

import logging

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from smsdesk.gws.envelope import StatusCode
from smsdesk.http.responses import UNAVAILABLE, BodyTooLarge, error_for, send_error, too_large

log = logging.getLogger("smsdesk.http")


class Guard:
    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if path.startswith("/api/") and path.endswith("/"):
            # A trailing slash names the same API resource: answered in place, never redirected (a
            # GWS client would not follow a 307 to another URL with its POST body). Pages keep
            # theirs: /desktop/ is the desktop, /desktop redirects to it.
            stripped = path.rstrip("/") or "/"
            scope = {**scope, "path": stripped, "raw_path": stripped.encode("latin-1", "replace")}
        await guarded(self.app, scope, receive, send, self.max_body_bytes)


async def guarded(app: ASGIApp, scope: Scope, receive: Receive, send: Send, max_body_bytes: int) -> int:
    """Run ``app`` on one HTTP request with the body limit enforced and any failure answered with
    the envelope (or, when the client hung up, with one debug line and nothing sent). Returns the
    HTTP status sent (499 when the client left before an answer, as nginx logs it)."""
    path: str = scope["path"]
    for name, value in scope["headers"]:
        if name == b"content-length" and value.isdigit() and int(value) > max_body_bytes:
            refusal = too_large(max_body_bytes)
            await send_error(send, refusal)
            return refusal.http_status
    received = 0
    status = 0

    async def limited_receive() -> Message:
        nonlocal received
        message = await receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > max_body_bytes:
                raise BodyTooLarge(max_body_bytes)
        return message

    async def tracking_send(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = int(message["status"])
        await send(message)

    try:
        await app(scope, limited_receive, tracking_send)
    except Exception as exc:
        error = error_for(exc, path)
        if error is None:
            # The client hung up mid-request: an ordinary event, nobody to answer.
            log.debug("client left during %s %s", scope.get("method"), path)
            return status or 499
        if error.status == StatusCode.INTERNAL_ERROR and not isinstance(exc, UNAVAILABLE):
            log.exception("unhandled error on %s %s", scope.get("method"), path)
        if not status:
            await send_error(send, error)
            status = error.http_status
    return status or 499
