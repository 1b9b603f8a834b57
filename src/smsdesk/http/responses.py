"""JSON responses in the GWS envelope, and the one place that maps any failure to one.

Every refusal the server sends, whoever detects it (a route, the router's 404/405, the body guard,
the Bayeux endpoint's HTTP refusals, uvicorn's parser through ``http/server_protocol.py``), is
built from :func:`error_for` and :func:`envelope_bytes`, so the statusCode ↔ HTTP status table in
docs/gws-compatibility.md has exactly one implementation. Routes refuse by raising (a
:class:`GwsError`, a ``DomainError``, a limit's exception) or, speaking a provider's protocol, with
:func:`http_refusal`: none writes an envelope itself.
"""

from __future__ import annotations

from typing import Any

import msgspec
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Match, Route
from starlette.types import Send

from smsdesk.domain.errors import DomainError
from smsdesk.gws.envelope import STATUS_FOR_KIND, GwsError, StatusCode
from smsdesk.operations.ports import StorageConflict, StorageInDoubt, StorageUnavailable
from smsdesk.operations.ratelimit import RateLimited
from smsdesk.operations.signin_throttle import SignInThrottled

_encode = msgspec.json.encode
SUCCESS = _encode({"statusCode": 0})


UNKNOWN_OUTCOME_HEADER = "X-Smsdesk-Outcome"
"""**Extension**: ``unknown`` on a 503 whose request may or may not have been done (its commit met
a dying database); absent on every other refusal, which did nothing (docs/gws-compatibility.md)."""

UNAVAILABLE: tuple[type[Exception], ...] = (StorageUnavailable,)
"""Failures that are the database's absence, not a fault: answered 503 and logged once by the
database state, never with a traceback per request."""


class JsonResponse(Response):
    media_type = "application/json"

    def __init__(self, content: Any, status_code: int = 200, headers: dict[str, str] | None = None) -> None:
        super().__init__(content, status_code=status_code, headers=headers)

    def render(self, content: Any) -> bytes:
        return content if isinstance(content, bytes) else _encode(content)


class BodyTooLarge(Exception):
    """The request body went past ``max_body_bytes`` while it was being read."""

    def __init__(self, limit: int) -> None:
        super().__init__(limit)
        self.limit = limit


def ok(body: dict[str, Any] | None = None) -> JsonResponse:
    if body is None:
        return JsonResponse(SUCCESS)
    return JsonResponse({"statusCode": 0, **body})


REFUSALS: tuple[type[Exception], ...] = (
    GwsError,
    DomainError,
    SignInThrottled,
    RateLimited,
    StorageConflict,
    StorageUnavailable,
)
"""Failures that are answers rather than faults. A GWS route answers these itself, so that the
answer still carries the caller's session cookie and counts as the operation's statusCode; any
other failure goes up to the guard (``http/guard.py``), which answers it through the same
:func:`error_for`."""


def error_for(exc: BaseException, path: str = "") -> GwsError | None:
    """The envelope answering ``exc``; None when there is nobody left to answer (the client left)."""
    if isinstance(exc, GwsError):
        return exc
    if isinstance(exc, DomainError):
        return GwsError(STATUS_FOR_KIND[exc.kind], exc.message)
    if isinstance(exc, SignInThrottled):
        return _too_many_requests(StatusCode.NOT_AUTHENTICATED, str(exc), exc.retry_after_s)
    if isinstance(exc, RateLimited):
        return _too_many_requests(StatusCode.FORBIDDEN, str(exc), exc.retry_after_s)
    if isinstance(exc, StorageConflict):
        # Still undone by concurrent transactions after the route's retries: nothing was written,
        # the server is fine, and the request may simply be repeated.
        return GwsError(
            StatusCode.INTERNAL_ERROR,
            "Busy with concurrent changes: try again",
            http_status=503,
            headers={"Retry-After": "1"},
        )
    if isinstance(exc, StorageInDoubt):
        # The commit's outcome is unknown: the client must find out before it repeats the request.
        return GwsError(
            StatusCode.INTERNAL_ERROR,
            f"Outcome unknown: {exc}",
            http_status=503,
            headers={"Retry-After": str(exc.retry_after_s), UNKNOWN_OUTCOME_HEADER: "unknown"},
        )
    if isinstance(exc, StorageUnavailable):
        # Nothing was done: the database is away (failing over, restarting); repeating it is safe.
        return GwsError(
            StatusCode.INTERNAL_ERROR,
            "The database is unavailable (failing over or restarting); nothing was done: try again",
            http_status=503,
            headers={"Retry-After": str(exc.retry_after_s)},
        )
    if isinstance(exc, ClientDisconnect):
        return None
    if isinstance(exc, BodyTooLarge):
        return too_large(exc.limit)
    if isinstance(exc, RecursionError):
        # The decoding edge refuses deep JSON first; this is the backstop for any other decoder.
        return GwsError(StatusCode.VALIDATION_ERROR, "Invalid request body: nested too deeply")
    if isinstance(exc, HTTPException):
        return _http_error(exc, path)
    return GwsError(StatusCode.INTERNAL_ERROR, "Internal error")


def _http_error(exc: HTTPException, path: str) -> GwsError:
    if exc.status_code == 404:
        return GwsError(StatusCode.NOT_FOUND, f"No such resource: {path[:200]}")
    if exc.status_code == 405:
        allow = (exc.headers or {}).get("Allow", "")
        return GwsError(
            StatusCode.VALIDATION_ERROR,
            f"Method not allowed on {path[:200]}; allowed: {allow}",
            http_status=405,
            headers={"Allow": allow},
        )
    return GwsError(status_for_http(exc.status_code), exc.detail, http_status=exc.status_code)


_STATUS_FOR_HTTP = {
    401: StatusCode.NOT_AUTHENTICATED,
    403: StatusCode.FORBIDDEN,
    404: StatusCode.NOT_FOUND,
    409: StatusCode.IN_USE,
    429: StatusCode.FORBIDDEN,  # as the rate limits answer (gws-compatibility.md)
}


def status_for_http(http_status: int) -> StatusCode:
    """The statusCode of a refusal known only by its HTTP status (a route outside /api/v2 that
    speaks a provider's protocol, the framework's own)."""
    if http_status >= 500:
        return StatusCode.INTERNAL_ERROR
    return _STATUS_FOR_HTTP.get(http_status, StatusCode.VALIDATION_ERROR)


def http_refusal(http_status: int, message: str, headers: dict[str, str] | None = None) -> JsonResponse:
    """A refusal by HTTP status (415, 403 from a signature check, ...), in the envelope."""
    return error_response(GwsError(status_for_http(http_status), message, http_status, headers))


def too_large(limit: int) -> GwsError:
    return GwsError(
        StatusCode.VALIDATION_ERROR,
        f"Request body larger than {limit} bytes (limit max_body_bytes)",
        http_status=413,
    )


def envelope_bytes(error: GwsError) -> bytes:
    return _encode(error.body())


def error_response(error: GwsError) -> JsonResponse:
    return JsonResponse(error.body(), status_code=error.http_status, headers=error.headers or None)


def _too_many_requests(status: StatusCode, message: str, retry_after_s: int) -> GwsError:
    """429 with ``Retry-After`` and the envelope (GWS has no code for it; see gws-compatibility.md)."""
    return GwsError(status, message, http_status=429, headers={"Retry-After": str(retry_after_s)})


async def send_error(send: Send, error: GwsError) -> None:
    """Answer with ``error`` on a raw ASGI ``send`` (middleware, before any route ran)."""
    body = envelope_bytes(error)
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    headers += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in error.headers.items()]
    await send({"type": "http.response.start", "status": error.http_status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def raw_http_error(error: GwsError, reason: str, retry_after_s: int | None = None) -> bytes:
    """A whole HTTP/1.1 response carrying ``error``, for the connection layer that answers before
    any ASGI app runs (a malformed request, a timeout); the connection is closed after it."""
    body = envelope_bytes(error)
    retry = f"retry-after: {retry_after_s}\r\n" if retry_after_s is not None else ""
    head = (
        f"HTTP/1.1 {error.http_status} {reason}\r\n"
        "content-type: application/json\r\n"
        f"content-length: {len(body)}\r\n"
        f"{retry}"
        "connection: close\r\n\r\n"
    )
    return head.encode("latin-1") + body


async def http_exception_handler(request: Request, exc: Exception) -> Response:
    """Starlette's handler for the router's own refusals (unknown route, wrong method)."""
    if isinstance(exc, HTTPException) and exc.status_code == 405:
        # The router names only the first route that matched the path; a resource served by one
        # route per method (GET and POST /api/v2/me) allows all of them.
        exc = HTTPException(405, headers={"Allow": ", ".join(_allowed_methods(request))})
    error = error_for(exc, request.url.path)
    assert error is not None
    return error_response(error)


def _allowed_methods(request: Request) -> list[str]:
    methods: set[str] = set()
    for route in request.app.router.routes:
        match, _ = route.matches(request.scope)
        if match == Match.PARTIAL and isinstance(route, Route) and route.methods:
            methods |= route.methods
    return sorted(methods)


def bayeux_refusal(status: int, errors: list[dict[str, Any]]) -> tuple[int, bytes]:
    """An HTTP-level refusal of a Bayeux request (wrong method, too big, not a Bayeux batch): the
    GWS envelope, like every other non-200 reply under ``/api/v2``, naming the Bayeux error."""
    reason = str(errors[0].get("error", "400::message_invalid")) if errors else "400::message_invalid"
    if reason == "400::request_too_large":
        status = 413
    error = GwsError(StatusCode.VALIDATION_ERROR, f"Invalid Bayeux request: {reason}", http_status=status)
    return status, envelope_bytes(error)
