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
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from smsdesk.http.responses import http_refusal
from smsdesk.operations.intake import UnknownServiceNumber

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
            return http_refusal(404, f"No connector {name!r} takes webhooks here")
        media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if media_type != FORM_CONTENT_TYPE:
            return http_refusal(415, f"Expected {FORM_CONTENT_TYPE}")
        try:
            text = (await request.body()).decode("utf-8")
        except UnicodeDecodeError:
            return http_refusal(400, "The form is not UTF-8")
        # Blank values stay: providers sign every field they send, empty ones included.
        form = dict(parse_qsl(text, keep_blank_values=True))
        try:
            result = await connector.handle_webhook(kind, form, request.headers.get(SIGNATURE_HEADER))
        except UnknownServiceNumber as error:
            # Retrying will not make the number ours: answer 404 so the provider's console shows why.
            # (A RateLimited goes up to the guard, which answers it 429 with Retry-After.)
            return http_refusal(404, f"Not a service number: {error}")
        # Refusals are logged by the connector, which knows why (and against which URL it checked).
        if result.http_status != 200:
            return http_refusal(result.http_status, result.reason or "Refused")
        # Accepted: the provider's own answer (e.g. empty TwiML), which it parses.
        return Response(result.body, status_code=200, media_type=result.content_type)

    async def inbound(request: Request) -> Response:
        return await receive(request, "inbound")

    async def status(request: Request) -> Response:
        return await receive(request, "status")

    return [
        Route("/connectors/{name}/inbound", inbound, methods=["POST"]),
        Route("/connectors/{name}/status", status, methods=["POST"]),
    ]
