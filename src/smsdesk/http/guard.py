"""Pure ASGI middleware: request body limit, and the promise that no failure leaks a stack trace."""

from __future__ import annotations

import logging
from typing import Any

import msgspec
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from smsdesk.gws.envelope import StatusCode

log = logging.getLogger("smsdesk.http")

_INTERNAL = msgspec.json.encode(
    {"statusCode": int(StatusCode.INTERNAL_ERROR), "statusMessage": "Internal error"}
)


def _too_large(limit: int) -> bytes:
    return msgspec.json.encode(
        {
            "statusCode": int(StatusCode.VALIDATION_ERROR),
            "statusMessage": f"Request body larger than {limit} bytes",
        }
    )


class BodyTooLarge(Exception):
    pass


async def _send_json(send: Send, status: int, body: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


class Guard:
    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.max_body_bytes
        for name, value in scope["headers"]:
            if name == b"content-length" and value.isdigit() and int(value) > limit:
                await _send_json(send, 413, _too_large(limit))
                return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge:
            if not started:
                await _send_json(send, 413, _too_large(limit))
        except Exception:
            log.exception("unhandled error on %s %s", scope.get("method"), scope.get("path"))
            if not started:
                await _send_json(send, 500, _INTERNAL)


def header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return bytes(value).decode("latin-1")
    return None


__all__: list[Any] = ["Guard", "header"]
