"""The GWS REST surface: ``/api/v2/me``, channels, SMS sessions, users, diagnostics.

Routes only translate: parse the request into its operation's Struct, call the operation named
after it, render the answer. Every failure becomes the GWS envelope.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

import smsdesk
from smsdesk.domain.agents import ChannelState
from smsdesk.domain.clock import now_ms
from smsdesk.domain.sms_encoding import analyse
from smsdesk.gws import requests as rq
from smsdesk.gws.bounds import InputBounds, query_integer, query_string
from smsdesk.gws.envelope import GwsError, StatusCode
from smsdesk.gws.representation import (
    Urls,
    channel_json,
    history_entry_json,
    message_json,
    monitoring_json,
    queue_json,
    session_json,
    standard_response_json,
    statistics_json,
    supervised_session_json,
    user_data_audit_entry_json,
)
from smsdesk.http.admin_api import AdminRoutes, admin_user_json, is_admin
from smsdesk.http.openapi import OPENAPI_PATH, Limits, openapi_document
from smsdesk.http.responses import REFUSALS, JsonResponse, error_for, error_response, ok
from smsdesk.http.security import Caller, RequestSecurity
from smsdesk.operations import (
    agent,
    conversations,
    customer_history,
    idempotency,
    opening_hours,
    queries,
    smssessions,
    standard_responses,
    statistics,
    supervision,
)
from smsdesk.operations.administration import Administration
from smsdesk.operations.delivery import delivery_of
from smsdesk.operations.ports import QueueHours, StandardResponse, StorageConflict, User
from smsdesk.operations.services import Services

GWS_VERSION = "8.5.200.00"
FEATURES = ["api-multimedia", "api-multimedia-chat", "api-voice"]

Endpoint = Callable[[Request, Caller], Awaitable[Response]]
OperationEndpoint = Callable[[Request, Caller, rq.Operation], Awaitable[Response]]
OperationTable = dict[str, type[rq.Operation]]
RouteHandler = Callable[[Request], Awaitable[Response]]


log = logging.getLogger("smsdesk.http")

CONFLICT_RETRIES = 3
"""How often an operation undone by a concurrent transaction is run again before giving up."""


def _refusal(refused: Exception) -> tuple[Response, StatusCode]:
    error = error_for(refused)
    assert error is not None  # a refusal always has an answer
    return error_response(error), error.status


IDEMPOTENCY_KEY_MAX = 255


def idempotency_key(request: Request) -> str | None:
    """The request's ``Idempotency-Key`` header (an extension), checked: 1 to 255 visible ASCII
    characters, or None when absent."""
    key = request.headers.get("idempotency-key")
    if key is None:
        return None
    if not 0 < len(key) <= IDEMPOTENCY_KEY_MAX or not all(33 <= ord(c) <= 126 for c in key):
        raise GwsError(
            StatusCode.VALIDATION_ERROR,
            f"Invalid Idempotency-Key header: 1 to {IDEMPOTENCY_KEY_MAX} visible ASCII characters",
        )
    return key


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
        self,
        services: Services,
        security: RequestSecurity,
        bounds: InputBounds = rq.DEFAULT_BOUNDS,
        on_operation: Callable[[str, int], None] | None = None,
        admin: Administration | None = None,
        signin_options: Callable[[], dict[str, Any]] | None = None,
    ) -> None:
        self.services = services
        self.security = security
        self.admin = admin if admin is not None else Administration(services)
        self.admin_routes = AdminRoutes(self.admin, services.urls, bounds)
        self.signin_options = signin_options
        self.urls = services.urls
        self.on_operation = on_operation  # told (operationName, statusCode) of every POSTed operation
        self.bounds = bounds
        settings = services.settings
        self.openapi_limits = Limits(bounds, settings.max_text_length, settings.user_data_limits.max_keys)
        self._openapi: bytes | None = None

    def _query_integer(self, request: Request, name: str, default: int) -> int:
        return query_integer(request.query_params.get(name), name, default, self.bounds)

    def _endpoint(self, fn: Endpoint) -> RouteHandler:
        """A route for a signed-in caller; a refusal is answered in the envelope, and every answer
        carries the caller's session cookie."""

        async def handle(request: Request) -> Response:
            caller: Caller | None = None
            try:
                caller = await self.security.caller(request)
                response = await self._run(request, partial(fn, request, caller))
            except REFUSALS as refused:
                response, _ = _refusal(refused)
            if caller is not None:
                caller.decorate(response, request.method)
            return response

        return handle

    def _operation_endpoint(self, operations: OperationTable, fn: OperationEndpoint) -> RouteHandler:
        """A POST naming its operation in the body (``operations``): like :meth:`_endpoint`, with
        the body read once into the operation's Struct, and the operation counted by name and
        statusCode once its name is known."""

        async def handle(request: Request) -> Response:
            caller: Caller | None = None
            name: str | None = None
            status_code = StatusCode.SUCCESS
            try:
                caller = await self.security.caller(request)
                body = rq.read_body(await request.body(), self.bounds)
                name = body.operation_name
                operation = rq.operation_in(operations, body, self.bounds)
                response = await self._run(request, partial(fn, request, caller, operation))
            except REFUSALS as refused:
                response, status_code = _refusal(refused)
            if name is not None and self.on_operation is not None:
                self.on_operation(rq.counted_name(name), int(status_code))
            if caller is not None:
                caller.decorate(response, request.method)
            return response

        return handle

    @staticmethod
    async def _run(request: Request, attempt: Callable[[], Awaitable[Response]]) -> Response:
        """The operation, run again when the database undid it for a concurrent one (PostgreSQL
        deadlock or serialization failure: nothing was written, so running it again is safe)."""
        for _ in range(CONFLICT_RETRIES):
            try:
                return await attempt()
            except StorageConflict:
                log.info(
                    "%s %s met a concurrent transaction; running it again", request.method, request.url.path
                )
        return await attempt()  # a conflict now is answered 503 (``error_for``)

    def session_operation(self) -> RouteHandler:
        """``POST /api/v2/me/smssessions/{session_id}`` as one callable, for the fast lane."""
        return self._operation_endpoint(rq.SMS_SESSION_OPERATIONS, self.post_session)

    def routes(self) -> list[BaseRoute]:
        e, o = self._endpoint, self._operation_endpoint
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
                Route(prefix + "/{session_id}", self.session_operation(), methods=["POST"]),
                Route(prefix, e(self.list_sessions), methods=["GET"]),
                Route(prefix, o(rq.SESSION_COLLECTION_OPERATIONS, self.post_sessions), methods=["POST"]),
                Route(prefix + "/{session_id}", e(self.get_session), methods=["GET"]),
                Route(prefix + "/{session_id}/messages", e(self.get_messages), methods=["GET"]),
                Route(prefix + "/{session_id}/userDataAudit", e(self.get_user_data_audit), methods=["GET"]),
                Route(prefix + "/{session_id}/history", e(self.get_history), methods=["GET"]),
            ]
        return [
            *session_routes,
            Route("/api/v2/diagnostics/version", self.version, methods=["GET"]),
            Route(OPENAPI_PATH, self.openapi, methods=["GET"]),
            Route("/api/v2/sms/preview", e(self.preview_sms), methods=["GET"]),
            Route("/api/v2/me", e(self.get_me), methods=["GET"]),
            Route("/api/v2/me", o(rq.ME_OPERATIONS, self.post_me), methods=["POST"]),
            Route("/api/v2/me/channels", e(self.get_channels), methods=["GET"]),
            Route("/api/v2/me/statistics", e(self.get_statistics), methods=["GET"]),
            Route(
                "/api/v2/me/channels/{channel}", o(rq.CHANNEL_OPERATIONS, self.post_channel), methods=["POST"]
            ),
            Route("/api/v2/signin-options", self.get_signin_options, methods=["GET"]),
            Route("/api/v2/users", e(self.get_users), methods=["GET"]),
            Route("/api/v2/users", e(self.admin_routes.create_user), methods=["POST"]),
            Route("/api/v2/users/{user_id}", e(self.get_user), methods=["GET"]),
            Route("/api/v2/users/{user_id}", e(self.admin_routes.update_user), methods=["PUT"]),
            Route("/api/v2/users/{user_id}", e(self.admin_routes.delete_user), methods=["DELETE"]),
            Route("/api/v2/queues", e(self.admin_routes.create_queue), methods=["POST"]),
            Route("/api/v2/queues/{queue}", e(self.admin_routes.update_queue), methods=["PUT"]),
            Route("/api/v2/queues/{queue}", e(self.admin_routes.delete_queue), methods=["DELETE"]),
            Route("/api/v2/service-numbers", e(self.admin_routes.list_numbers), methods=["GET"]),
            Route("/api/v2/service-numbers", e(self.admin_routes.create_number), methods=["POST"]),
            Route("/api/v2/service-numbers/{number}", e(self.admin_routes.update_number), methods=["PUT"]),
            Route("/api/v2/service-numbers/{number}", e(self.admin_routes.delete_number), methods=["DELETE"]),
            Route("/api/v2/contact-center", e(self.admin_routes.get_contact_center), methods=["GET"]),
            Route("/api/v2/contact-center", e(self.admin_routes.update_contact_center), methods=["PUT"]),
            Route("/api/v2/audit", e(self.admin_routes.get_audit), methods=["GET"]),
            Route(
                "/api/v2/customers/{phone_number}", e(self.admin_routes.erase_customer), methods=["DELETE"]
            ),
            Route(
                "/api/v2/users/{user_id}/channels/smssession",
                o(rq.SUPERVISOR_CHANNEL_OPERATIONS, self.post_supervisor_channel),
                methods=["POST"],
            ),
            Route(
                "/api/v2/users/{user_id}/channels/sms",
                o(rq.SUPERVISOR_CHANNEL_OPERATIONS, self.post_supervisor_channel),
                methods=["POST"],
            ),
            Route("/api/v2/users/{user_id}/smssessions", e(self.get_supervised_sessions), methods=["GET"]),
            Route("/api/v2/me/standard-responses", e(self.search_standard_responses), methods=["GET"]),
            Route("/api/v2/standard-responses", e(self.list_standard_responses), methods=["GET"]),
            Route("/api/v2/standard-responses", e(self.create_standard_response), methods=["POST"]),
            Route("/api/v2/standard-responses/{response_id}", e(self.get_standard_response), methods=["GET"]),
            Route("/api/v2/standard-responses/{response_id}", e(self.put_standard_response), methods=["PUT"]),
            Route(
                "/api/v2/standard-responses/{response_id}",
                e(self.delete_standard_response),
                methods=["DELETE"],
            ),
            Route("/api/v2/queues", e(self.get_queues), methods=["GET"]),
            Route("/api/v2/queues/{queue}", e(self.get_queue), methods=["GET"]),
            Route("/api/v2/queues/{queue}/opening-hours", e(self.put_opening_hours), methods=["PUT"]),
            Route("/api/v2/queues/{queue}/opening-hours", e(self.delete_opening_hours), methods=["DELETE"]),
            Route("/api/v2/queues/{queue}/automatic-replies", e(self.put_automatic_replies), methods=["PUT"]),
            Route(
                "/api/v2/users/{user_id}/smssessions/{session_id}",
                o(rq.SUPERVISOR_SESSION_OPERATIONS, self.post_supervisor_session),
                methods=["POST"],
            ),
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
                channel_json(c.channel, c.state.value, c.reason)
                for c in await queries.my_channels(self.services, user)
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

    async def post_me(self, request: Request, caller: Caller, operation: rq.Operation) -> Response:
        user = caller.user
        if isinstance(operation, rq.StartContactCenterSession):
            reference_id = await agent.start_contact_center_session(self.services, user, operation.channels)
        elif isinstance(operation, rq.EndContactCenterSession):
            reference_id = await agent.end_contact_center_session(self.services, user)
            await self.security.sessions.invalidate(caller.http_session)
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
        return ok({"channels": [channel_json(c.channel, c.state.value, c.reason) for c in channels]})

    async def post_channel(self, request: Request, caller: Caller, operation: rq.Operation) -> Response:
        state = ChannelState.READY if isinstance(operation, rq.Ready) else ChannelState.NOT_READY
        reference_id = await agent.set_state(
            self.services, caller.user, state, request.path_params["channel"]
        )
        return ok({"referenceId": reference_id})

    # ----- users (so an agent can find a colleague to transfer, invite or consult) -----

    async def get_signin_options(self, request: Request) -> Response:
        """**Extension**, no authentication: how the sign-in pages may sign a user in."""
        options = self.signin_options() if self.signin_options is not None else {}
        return ok({"passwordSignIn": True, "provider": None, **options})

    async def get_users(self, request: Request, caller: Caller) -> Response:
        if is_admin(caller.user):
            # An administrator reads every user of the contact center, disabled ones included, with
            # their queues (additive fields).
            views = await self.admin.users(caller.user)
            if request.query_params.get("fields") == "*":
                return ok({"users": [admin_user_json(v, user_json(v.user, self.urls)) for v in views]})
            return ok({"uris": [self.urls.user(v.user.id) for v in views]})
        if request.query_params.get("subresources") == "channels":
            # **Extension**: each colleague's channels, in the shape of GET /api/v2/me/channels.
            return ok(
                {
                    "users": [
                        {
                            **user_json(u, self.urls),
                            "channels": [channel_json(c.channel, c.state.value, c.reason) for c in cs],
                        }
                        for u, cs in await queries.colleagues_with_channels(self.services, caller.user)
                    ]
                }
            )
        users = await queries.colleagues(self.services, caller.user)
        if request.query_params.get("fields") == "*":
            return ok({"users": [user_json(u, self.urls) for u in users]})
        return ok({"uris": [self.urls.user(u.id) for u in users]})

    async def get_user(self, request: Request, caller: Caller) -> Response:
        user_id = request.path_params["user_id"]
        if is_admin(caller.user):
            view = await self.admin.user(caller.user, user_id)
            return ok({"user": admin_user_json(view, user_json(view.user, self.urls))})
        for user in await queries.colleagues(self.services, caller.user):
            if user.id == user_id:
                return ok({"user": user_json(user, self.urls)})
        raise GwsError(StatusCode.NOT_FOUND, "User not found")

    # ----- supervisors -----

    async def get_statistics(self, request: Request, caller: Caller) -> Response:
        """**Extension**: the live numbers of every queue the supervisor supervises."""
        views, since = await statistics.my_statistics(self.services, caller.user)
        monitoring = await supervision.my_monitoring(self.services, caller.user)
        return ok(
            {
                "statistics": [statistics_json(queue, agents, since, self.urls) for queue, agents in views],
                "monitoring": [
                    monitoring_json(m.agent_id, m.mode, m.next_chat_only, self.urls) for m in monitoring
                ],
            }
        )

    async def post_supervisor_channel(
        self, request: Request, caller: Caller, operation: rq.Operation
    ) -> Response:
        agent_id = request.path_params["user_id"]
        user = caller.user
        if isinstance(operation, rq.Monitor):
            reference_id = await supervision.monitor(self.services, user, agent_id, operation)
        elif isinstance(operation, rq.Coach):
            reference_id = await supervision.coach(self.services, user, agent_id, operation)
        elif isinstance(operation, rq.BargeIn):
            reference_id = await supervision.barge_in(self.services, user, agent_id, operation)
        else:
            reference_id = await supervision.cancel_supervisor_monitoring(self.services, user, agent_id)
        return ok({"referenceId": reference_id})

    async def get_supervised_sessions(self, request: Request, caller: Caller) -> Response:
        """**Extension**: the sessions a supervised agent is chatting in (where Intrude can join)."""
        records = await supervision.agent_sessions(self.services, caller.user, request.path_params["user_id"])
        return ok({"smssessions": [supervised_session_json(r, self.urls) for r in records]})

    async def post_supervisor_session(
        self, request: Request, caller: Caller, operation: rq.Operation
    ) -> Response:
        assert isinstance(operation, rq.Intrude)
        reference_id = await supervision.intrude(
            self.services,
            caller.user,
            request.path_params["user_id"],
            request.path_params["session_id"],
            operation,
        )
        return ok({"referenceId": reference_id})

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

    async def get_user_data_audit(self, request: Request, caller: Caller) -> Response:
        """**Extension**: who changed which userData key, when, from what to what, through which operation."""
        record, entries, authors = await queries.user_data_audit(
            self.services, caller.user, request.path_params["session_id"]
        )
        rendered = []
        for entry in entries:
            author = authors.get(entry.user_id) if entry.user_id is not None else None
            rendered.append(
                user_data_audit_entry_json(
                    entry.version,
                    entry.key,
                    entry.operation,
                    (author.id, author.user_name) if author is not None else None,
                    entry.old_value,
                    entry.new_value,
                    entry.changed_ms,
                    self.urls,
                )
            )
        return ok({"userDataVersion": record.user_data_version, "entries": rendered})

    async def get_history(self, request: Request, caller: Caller) -> Response:
        """**Extension**: the customer's earlier sessions, newest first, with their transcripts."""
        start = self._query_integer(request, "startIndex", 1)
        count = self._query_integer(request, "count", customer_history.HISTORY_DEFAULT_COUNT)
        earlier, total = await customer_history.customer_history(
            self.services, caller.user, request.path_params["session_id"], start, count
        )
        return ok(
            {
                "history": [history_entry_json(e.record, e.messages, e.agents, self.urls) for e in earlier],
                "total": total,
            }
        )

    # ----- standard responses (extension) -----

    def _response_json(self, response: StandardResponse) -> dict[str, Any]:
        return standard_response_json(
            response.id, response.name, response.category, response.text, response.updated_ms, self.urls
        )

    async def search_standard_responses(self, request: Request, caller: Caller) -> Response:
        query = query_string(request.query_params.get("query"), "query", self.bounds)
        session_id = query_string(request.query_params.get("smssessionId"), "smssessionId", self.bounds)
        found = await standard_responses.search(self.services, caller.user, query, session_id or None)
        rendered = []
        for item in found:
            body = {
                k: v
                for k, v in self._response_json(item.response).items()
                if k in ("id", "name", "category", "text")
            }
            if session_id:
                body["filledText"] = item.filled
                body["missing"] = [f"{{{{{name}}}}}" for name in item.missing]
            rendered.append(body)
        return ok({"standardResponses": rendered})

    async def list_standard_responses(self, request: Request, caller: Caller) -> Response:
        responses = await standard_responses.all_of(self.services, caller.user)
        return ok({"standardResponses": [self._response_json(r) for r in responses]})

    async def create_standard_response(self, request: Request, caller: Caller) -> Response:
        fields = rq.read_resource(await request.body(), rq.StandardResponseFields, self.bounds)
        response = await standard_responses.create(
            self.services, caller.user, fields.name, fields.category, fields.text
        )
        body = self._response_json(response)
        return ok({"id": response.id, "uri": body["uri"], "path": body["path"], "standardResponse": body})

    async def get_standard_response(self, request: Request, caller: Caller) -> Response:
        response = await standard_responses.one(
            self.services, caller.user, request.path_params["response_id"]
        )
        return ok({"standardResponse": self._response_json(response)})

    async def put_standard_response(self, request: Request, caller: Caller) -> Response:
        fields = rq.read_resource(await request.body(), rq.StandardResponseFields, self.bounds)
        response = await standard_responses.change(
            self.services,
            caller.user,
            request.path_params["response_id"],
            fields.name,
            fields.category,
            fields.text,
        )
        return ok({"standardResponse": self._response_json(response)})

    async def delete_standard_response(self, request: Request, caller: Caller) -> Response:
        await standard_responses.delete(self.services, caller.user, request.path_params["response_id"])
        return ok()

    # ----- queues' opening hours and automatic replies (extension) -----

    def _queue_json(self, stored: QueueHours) -> dict[str, Any]:
        return queue_json(
            stored.queue,
            opening_hours.parsed(stored),
            stored.when_closed,
            stored.closed_reply,
            stored.waiting_reply,
            stored.waiting_after_s,
            now_ms(),
            self.urls,
        )

    async def get_queues(self, request: Request, caller: Caller) -> Response:
        queues = [self._queue_json(q) for q in await opening_hours.managed(self.services, caller.user)]
        if is_admin(caller.user):  # **extension**: an administrator also reads who serves each
            await self.admin_routes.add_membership(caller, queues)
        return ok({"queues": queues})

    async def get_queue(self, request: Request, caller: Caller) -> Response:
        stored = await opening_hours.managed_one(self.services, caller.user, request.path_params["queue"])
        queue = self._queue_json(stored)
        if is_admin(caller.user):
            await self.admin_routes.add_membership(caller, [queue])
        return ok({"queue": queue})

    async def put_opening_hours(self, request: Request, caller: Caller) -> Response:
        fields = rq.read_resource(await request.body(), rq.OpeningHoursFields, self.bounds)
        stored = await opening_hours.put_hours(
            self.services,
            caller.user,
            request.path_params["queue"],
            fields.timezone,
            fields.weekly,
            fields.closedDates,
            fields.whenClosed,
        )
        return ok({"queue": self._queue_json(stored)})

    async def delete_opening_hours(self, request: Request, caller: Caller) -> Response:
        stored = await opening_hours.delete_hours(self.services, caller.user, request.path_params["queue"])
        return ok({"queue": self._queue_json(stored)})

    async def put_automatic_replies(self, request: Request, caller: Caller) -> Response:
        fields = rq.read_resource(await request.body(), rq.AutomaticRepliesFields, self.bounds)
        stored = await opening_hours.put_replies(
            self.services,
            caller.user,
            request.path_params["queue"],
            fields.closed,
            fields.waiting,
            fields.waitingAfterSeconds,
        )
        return ok({"queue": self._queue_json(stored)})

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

    async def post_sessions(self, request: Request, caller: Caller, operation: rq.Operation) -> Response:
        """**Extension** Create: an agent starts an SMS conversation."""
        assert isinstance(operation, rq.Create)
        reference_id, session_id = await conversations.create(self.services, caller.user, operation)
        return ok({"referenceId": reference_id, "id": session_id, "uri": self.urls.session(session_id)})

    async def post_session(self, request: Request, caller: Caller, operation: rq.Operation) -> Response:
        session_id = request.path_params["session_id"]
        key = idempotency_key(request)
        digest = idempotency.request_digest(session_id, await request.body()) if key is not None else ""
        reference_id = await smssessions.perform(
            self.services, caller.user, session_id, operation, key, digest
        )
        return ok({"referenceId": reference_id})
