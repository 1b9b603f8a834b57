"""JSON responses in the GWS envelope."""

from __future__ import annotations

from typing import Any

import msgspec
from starlette.responses import Response

from smsdesk.domain.errors import DomainError
from smsdesk.gws.envelope import HTTP_STATUS, STATUS_FOR_KIND, GwsError, StatusCode

_encode = msgspec.json.encode
SUCCESS = _encode({"statusCode": 0})


class JsonResponse(Response):
    media_type = "application/json"

    def __init__(self, content: Any, status_code: int = 200, headers: dict[str, str] | None = None) -> None:
        super().__init__(content, status_code=status_code, headers=headers)

    def render(self, content: Any) -> bytes:
        return content if isinstance(content, bytes) else _encode(content)


def ok(body: dict[str, Any] | None = None) -> JsonResponse:
    if body is None:
        return JsonResponse(SUCCESS)
    return JsonResponse({"statusCode": 0, **body})


def as_gws_error(error: DomainError) -> GwsError:
    return GwsError(STATUS_FOR_KIND[error.kind], error.message)


def error_response(error: GwsError) -> JsonResponse:
    return JsonResponse(error.body(), status_code=error.http_status)


def status_response(status: StatusCode, message: str) -> JsonResponse:
    return JsonResponse(
        {"statusCode": int(status), "statusMessage": message}, status_code=HTTP_STATUS.get(status, 400)
    )


def too_many_requests(status: StatusCode, message: str, retry_after_s: int) -> JsonResponse:
    """429 with ``Retry-After`` and the envelope (GWS has no code for it; see gws-compatibility.md)."""
    return JsonResponse(
        {"statusCode": int(status), "statusMessage": message},
        status_code=429,
        headers={"Retry-After": str(retry_after_s)},
    )
