"""The GWS REST surface: ``/api/v2/me``, channels, SMS sessions, users, diagnostics.

Routes only translate: parse the request into its operation's Struct, call the operation named
after it, render the answer. Every failure becomes the GWS envelope.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

import smsdesk
from smsdesk.domain.agents import ChannelState
from smsdesk.domain.errors import DomainError
from smsdesk.domain.sms_encoding import analyse
from smsdesk.gws import requests as rq
from smsdesk.gws.bounds import InputBounds, query_integer, query_string
from smsdesk.gws.envelope import GwsError, StatusCode
from smsdesk.gws.representation import Urls, channel_json, message_json, session_json
from smsdesk.http.openapi import OPENAPI_PATH, Limits, openapi_document
from smsdesk.http.responses import JsonResponse, as_gws_error, error_response, ok
from smsdesk.http.security import Caller, RequestSecurity
from smsdesk.operations import agent, queries, smssessions
from smsdesk.operations.delivery import delivery_of
from smsdesk.operations.ports import User
from smsdesk.operations.services import Services

GWS_VERSION = "8.5.200.00"
FEATURES = ["api-multimedia", "api-multimedia-chat", "api-voice"]

Endpoint = Callable[[Request, Caller], Awaitable[Response]]


def user_json(user: User, urls: Urls) -> dict[str, Any]:
    return {
        "id": user.id,
        "userName": user.user_name,
        "firstName": user.first_name,
        "lastName": user.last_name,
        "roles": list(user.roles),
        "enabled": user.enabled,
        "changePasswordOnFirstLogin": False,
        "uri": urls.user(user.id),
        "path": f"/users/{user.id}",
    }


class GwsApi:
    def __init__(
        self, services: Services, security: RequestSecurity, bounds: InputBounds = rq.DEFAULT_BOUNDS
    ) -> None:
        self.services = services
        self.security = security
        self.urls = services.urls
        self.bounds = bounds
        settings = services.settings
        self.openapi_limits = Limits(bounds, settings.max_text_length, settings.user_data_limits.max_keys)
        self._openapi: bytes | None = None

    def _query_integer(self, request: Request, name: str, default: int) -> int:
        return query_integer(request.query_params.get(name), name, default, self.bounds)

    def _endpoint(self, fn: Endpoint) -> Callable[[Request], Awaitable[Response]]:
        async def handle(request: Request) -> Response:
            caller: Caller | None = None
            try:
                caller = await self.security.caller(request)
                response = await fn(request, caller)
            except GwsError as error:
                response = error_response(error)
            except DomainError as error:
                response = error_response(as_gws_error(error))
            if caller is not None:
                caller.decorate(response, request.method)
            return response

        return handle

    def routes(self) -> list[BaseRoute]:
        e = self._endpoint
        # Clients copy the documented URLs: with and without /me, and the misspelled "smsessions".
        # The canonical form comes first because routes are matched in order.
        session_routes: list[BaseRoute] = []
        for prefix in (
            "/api/v2/me/smssessions",
            "/api/v2/smssessions",
            "/api/v2/me/smsessions",
            "/api/v2/smsessions",
        ):
            session_routes += [
                Route(prefix + "/{session_id}", e(self.post_session), methods=["POST"]),
                Route(prefix, e(self.list_sessions), methods=["GET"]),
                Route(prefix + "/{session_id}", e(self.get_session), methods=["GET"]),
                Route(prefix + "/{session_id}/messages", e(self.get_messages), methods=["GET"]),
            ]
        return [
            *session_routes,
            Route("/api/v2/diagnostics/version", self.version, methods=["GET"]),
            Route(OPENAPI_PATH, self.openapi, methods=["GET"]),
            Route("/api/v2/sms/preview", e(self.preview_sms), methods=["GET"]),
            Route("/api/v2/me", e(self.get_me), methods=["GET"]),
            Route("/api/v2/me", e(self.post_me), methods=["POST"]),
            Route("/api/v2/me/channels", e(self.get_channels), methods=["GET"]),
            Route("/api/v2/me/channels/{channel}", e(self.post_channel), methods=["POST"]),
            Route("/api/v2/users", e(self.get_users), methods=["GET"]),
            Route("/api/v2/users/{user_id}", e(self.get_user), methods=["GET"]),
        ]

    async def version(self, request: Request) -> Response:
        return ok({"version": GWS_VERSION, "product": "smsdesk", "productVersion": smsdesk.__version__})

    async def openapi(self, request: Request) -> Response:
        if self._openapi is None:
            self._openapi = msgspec.json.encode(openapi_document(self.openapi_limits))
        return JsonResponse(self._openapi)

    # ----- /api/v2/me -----

    async def get_me(self, request: Request, caller: Caller) -> Response:
        user = caller.user
        body = user_json(user, self.urls)
        wanted = {
            part.strip() for part in request.query_params.get("subresources", "").split(",") if part.strip()
        }
        everything = "*" in wanted
        if everything or "channels" in wanted:
            body["channels"] = [
                channel_json(c.channel, c.state.value) for c in await queries.my_channels(self.services, user)
            ]
        if everything or "smssessions" in wanted:
            body["smssessions"] = [
                session_json(r, user.id, self.urls) for r in await queries.my_sessions(self.services, user)
            ]
        if everything or "features" in wanted:
            body["features"] = FEATURES
        if everything or "settings" in wanted:
            body["settings"] = {}
        if everything or "devices" in wanted:
            body["devices"] = []
        return ok({"user": body})

    async def post_me(self, request: Request, caller: Caller) -> Response:
        operation = rq.decode_operation(await request.body(), rq.ME_OPERATIONS, self.bounds)
        user = caller.user
        if isinstance(operation, rq.StartContactCenterSession):
            reference_id = await agent.start_contact_center_session(self.services, user, operation.channels)
        elif isinstance(operation, rq.EndContactCenterSession):
            reference_id = await agent.end_contact_center_session(self.services, user)
            self.security.sessions.invalidate(caller.http_session.id)
            response = ok({"referenceId": reference_id})
            response.delete_cookie("JSESSIONID", path="/")
            return response
        elif isinstance(operation, rq.Ready):
            reference_id = await agent.set_state(self.services, user, ChannelState.READY)
        else:
            reference_id = await agent.set_state(self.services, user, ChannelState.NOT_READY)
        return ok({"referenceId": reference_id})

    async def get_channels(self, request: Request, caller: Caller) -> Response:
        channels = await queries.my_channels(self.services, caller.user)
        return ok({"channels": [channel_json(c.channel, c.state.value) for c in channels]})

    async def post_channel(self, request: Request, caller: Caller) -> Response:
        operation = rq.decode_operation(await request.body(), rq.CHANNEL_OPERATIONS, self.bounds)
        state = ChannelState.READY if isinstance(operation, rq.Ready) else ChannelState.NOT_READY
        reference_id = await agent.set_state(
            self.services, caller.user, state, request.path_params["channel"]
        )
        return ok({"referenceId": reference_id})

    # ----- users (so an agent can find a colleague to transfer, invite or consult) -----

    async def get_users(self, request: Request, caller: Caller) -> Response:
        users = await queries.colleagues(self.services, caller.user)
        if request.query_params.get("fields") == "*":
            return ok({"users": [user_json(u, self.urls) for u in users]})
        return ok({"uris": [self.urls.user(u.id) for u in users]})

    async def get_user(self, request: Request, caller: Caller) -> Response:
        user_id = request.path_params["user_id"]
        for user in await queries.colleagues(self.services, caller.user):
            if user.id == user_id:
                return ok({"user": user_json(user, self.urls)})
        raise GwsError(StatusCode.NOT_FOUND, "User not found")

    # ----- SMS sessions -----

    async def list_sessions(self, request: Request, caller: Caller) -> Response:
        records = await queries.my_sessions(self.services, caller.user)
        if request.query_params.get("fields") == "*":
            return ok({"smssessions": [session_json(r, caller.user.id, self.urls) for r in records]})
        return ok({"uris": [self.urls.session(r.id) for r in records]})

    async def get_session(self, request: Request, caller: Caller) -> Response:
        record = await queries.my_session(self.services, caller.user, request.path_params["session_id"])
        return ok({"smssession": session_json(record, caller.user.id, self.urls)})

    async def get_messages(self, request: Request, caller: Caller) -> Response:
        start = self._query_integer(request, "startIndex", 1)
        count = self._query_integer(request, "count", 0)
        messages, outbound = await queries.session_messages(
            self.services, caller.user, request.path_params["session_id"], start, count
        )
        rendered = []
        for message in messages:
            body = message_json(message, self.urls)
            sms = outbound.get(message.index)
            if sms is not None:
                body["delivery"] = delivery_of(sms)
            rendered.append(body)
        return ok({"messages": rendered})

    async def preview_sms(self, request: Request, caller: Caller) -> Response:
        """**Extension**: how a text would travel as SMS (encoding and segments) before it is sent."""
        text = query_string(request.query_params.get("text"), "text", self.bounds)
        if text is None:
            raise GwsError(StatusCode.MISSING_PARAMETER, "Missing required parameter: text")
        analysis = analyse(text)
        return ok(
            {
                "encoding": analysis.encoding,
                "segments": analysis.segments,
                "characters": len(text),
                "units": analysis.units,
            }
        )

    async def post_session(self, request: Request, caller: Caller) -> Response:
        operation = rq.decode_operation(await request.body(), rq.SMS_SESSION_OPERATIONS, self.bounds)
        reference_id = await smssessions.perform(
            self.services, caller.user, request.path_params["session_id"], operation
        )
        return ok({"referenceId": reference_id})
