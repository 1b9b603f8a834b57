"""Carriers' webhooks: ``POST /connectors/{name}/inbound`` and ``POST /connectors/{name}/status``.

The bodies are form-encoded, in the Twilio format. These routes do no authentication and no CSRF
check: each request is signed by the provider (``X-Twilio-Signature``) and the connector checks the
signature against its configured public URL, so this module only moves bytes. It knows connectors
through the :class:`WebhookConnector` Protocol (``app.py`` hands over the ones that have webhooks),
because the HTTP layer must not import the connectors layer.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal, Protocol
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from smsdesk.operations.intake import UnknownServiceNumber
from smsdesk.operations.ratelimit import RateLimited

SIGNATURE_HEADER = "X-Twilio-Signature"
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
Kind = Literal["inbound", "status"]


class WebhookResult(Protocol):
    @property
    def http_status(self) -> int: ...

    @property
    def body(self) -> str: ...

    @property
    def content_type(self) -> str: ...

    @property
    def reason(self) -> str: ...


class WebhookConnector(Protocol):
    async def handle_webhook(
        self, kind: Kind, form: Mapping[str, str], signature: str | None
    ) -> WebhookResult: ...


def webhook_routes(connectors: Mapping[str, WebhookConnector]) -> list[BaseRoute]:
    async def receive(request: Request, kind: Kind) -> Response:
        name = request.path_params["name"]
        connector = connectors.get(name)
        if connector is None:
            return PlainTextResponse(f"no connector {name!r} takes webhooks here", status_code=404)
        media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if media_type != FORM_CONTENT_TYPE:
            return PlainTextResponse(f"expected {FORM_CONTENT_TYPE}", status_code=415)
        try:
            text = (await request.body()).decode("utf-8")
        except UnicodeDecodeError:
            return PlainTextResponse("the form is not UTF-8", status_code=400)
        # Blank values stay: providers sign every field they send, empty ones included.
        form = dict(parse_qsl(text, keep_blank_values=True))
        try:
            result = await connector.handle_webhook(kind, form, request.headers.get(SIGNATURE_HEADER))
        except UnknownServiceNumber as error:
            # Retrying will not make the number ours: answer 404 so the provider's console shows why.
            return PlainTextResponse(f"not a service number: {error}", status_code=404)
        except RateLimited as error:
            return PlainTextResponse(
                str(error), status_code=429, headers={"Retry-After": str(error.retry_after_s)}
            )
        # Refusals are logged by the connector, which knows why (and against which URL it checked).
        body = result.body or (result.reason if result.http_status != 200 else "")
        return Response(body, status_code=result.http_status, media_type=result.content_type)

    async def inbound(request: Request) -> Response:
        return await receive(request, "inbound")

    async def status(request: Request) -> Response:
        return await receive(request, "status")

    return [
        Route("/connectors/{name}/inbound", inbound, methods=["POST"]),
        Route("/connectors/{name}/status", status, methods=["POST"]),
    ]
