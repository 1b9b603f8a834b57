"""The SMS simulator's HTTP face: customers' handsets sending to, and reading from, the server."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, Protocol

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from smsdesk.gws.envelope import GwsError, StatusCode
from smsdesk.http.responses import ok
from smsdesk.operations.intake import UnknownServiceNumber


class HandsetMessage(Protocol):
    def as_json(self) -> dict[str, object]: ...


class Handsets(Protocol):
    async def deliver_from_handset(
        self, sender: str, recipient: str, text: str, message_id: str | None
    ) -> None: ...

    async def handset(self, number: str) -> Sequence[HandsetMessage]: ...

    async def set_failure(
        self, number: str, failure: Literal["none", "transient", "permanent", "blocked"]
    ) -> None: ...


class SimulatedSms(msgspec.Struct, frozen=True):
    text: str
    to: str
    from_: str = msgspec.field(name="from")
    id: str | None = None


_decode = msgspec.json.Decoder(SimulatedSms).decode


class HandsetSetting(msgspec.Struct, frozen=True):
    number: str
    failure: Literal["none", "transient", "permanent", "blocked"] = "none"


_decode_setting = msgspec.json.Decoder(HandsetSetting).decode


def simulator_routes(handsets: Handsets) -> list[BaseRoute]:
    async def send_from_handset(request: Request) -> Response:
        try:
            sms = _decode(await request.body())
        except msgspec.DecodeError as exc:
            raise GwsError(StatusCode.VALIDATION_ERROR, f"Invalid SMS: {exc}".replace("`", "'")) from None
        if not sms.from_ or not sms.to or not sms.text:
            raise GwsError(StatusCode.MISSING_PARAMETER, "from, to and text must be non-empty")
        try:
            # A RateLimited goes up to the guard, which answers it 429 like every route's.
            await handsets.deliver_from_handset(sms.from_, sms.to, sms.text, sms.id)
        except UnknownServiceNumber:
            raise GwsError(StatusCode.NOT_FOUND, f"Not a service number: {sms.to}") from None
        return ok()

    async def read_handset(request: Request) -> Response:
        number = request.query_params.get("number")
        if not number:
            raise GwsError(StatusCode.MISSING_PARAMETER, "Missing required parameter: number")
        return ok({"messages": [m.as_json() for m in await handsets.handset(number)]})

    async def configure_handset(request: Request) -> Response:
        try:
            setting = _decode_setting(await request.body())
        except msgspec.DecodeError as exc:
            raise GwsError(
                StatusCode.VALIDATION_ERROR, f"Invalid handset setting: {exc}".replace("`", "'")
            ) from None
        await handsets.set_failure(setting.number, setting.failure)
        return ok()

    return [
        Route("/simulator/handsets", configure_handset, methods=["POST"]),
        Route("/simulator/sms", send_from_handset, methods=["POST"]),
        Route("/simulator/sms", read_handset, methods=["GET"]),
    ]
