"""Administration over REST, for ``ROLE_ADMIN`` users of their own contact center.

Users are GWS 8.5's resource (``GET/POST /api/v2/users``, ``GET/PUT/DELETE /api/v2/users/{id}``);
queues, service numbers, the contact center's settings, the audit log and the customers' erasure
are resources of our own under the same conventions (extensions, docs/gws-compatibility.md,
"Administration"). The routes only translate: ``operations/administration.py`` decides.
"""

from __future__ import annotations

import json
from typing import Any, TypeVar

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from smsdesk.gws import requests as rq
from smsdesk.gws.bounds import InputBounds, query_integer
from smsdesk.gws.representation import Urls, gws_timestamp
from smsdesk.http.responses import ok
from smsdesk.http.security import Caller
from smsdesk.operations.administration import (
    ADMIN_ROLE,
    Administration,
    NewUser,
    QueueChanges,
    QueueView,
    UserChanges,
    UserView,
    require_admin,
)
from smsdesk.operations.ports import AuditEntry, ServiceNumber, User

DEFAULT_AUDIT_COUNT = 50
_Body = TypeVar("_Body", bound=rq.Resource)


def is_admin(user: User) -> bool:
    return ADMIN_ROLE in user.roles


def admin_user_json(view: UserView, base: dict[str, Any]) -> dict[str, Any]:
    """The GWS user, with what administrators also read (additive: ``passwordSignIn``, ``queues``,
    ``supervisedQueues``)."""
    return {
        **base,
        "passwordSignIn": view.user.password_signin,
        "queues": list(view.queues),
        "supervisedQueues": list(view.supervised_queues),
    }


def _tuple(values: list[str] | None) -> tuple[str, ...] | None:
    return tuple(values) if values is not None else None


class AdminRoutes:
    def __init__(self, admin: Administration, urls: Urls, bounds: InputBounds) -> None:
        self.admin = admin
        self.urls = urls
        self.bounds = bounds

    async def _body(self, request: Request, cls: type[_Body]) -> _Body:
        return rq.read_resource(await request.body(), cls, self.bounds)

    def _user_ref(self, user_id: str, user_name: str) -> dict[str, Any]:
        return {
            "id": user_id,
            "userName": user_name,
            "uri": self.urls.user(user_id),
            "path": f"/users/{user_id}",
        }

    # ----- users -----

    async def create_user(self, request: Request, caller: Caller) -> Response:
        require_admin(caller.user)  # before the body is read: a refusal says why, whatever was sent
        body = await self._body(request, rq.NewUser)
        user = await self.admin.create_user(
            caller.user,
            NewUser(
                user_name=body.userName,
                password=body.password,
                roles=tuple(body.roles),
                first_name=body.firstName or "",
                last_name=body.lastName or "",
                enabled=body.enabled,
                password_signin=body.passwordSignIn,
                queues=tuple(body.queues),
                supervised_queues=tuple(body.supervisedQueues),
            ),
        )
        return ok({"id": user.id, "uri": self.urls.user(user.id), "path": f"/users/{user.id}"})

    async def update_user(self, request: Request, caller: Caller) -> Response:
        require_admin(caller.user)  # before the body is read: a refusal says why, whatever was sent
        body = await self._body(request, rq.UserChanges)
        await self.admin.update_user(
            caller.user,
            request.path_params["user_id"],
            UserChanges(
                first_name=body.firstName,
                last_name=body.lastName,
                roles=_tuple(body.roles),
                enabled=body.enabled,
                password=body.password,
                password_signin=body.passwordSignIn,
                queues=_tuple(body.queues),
                supervised_queues=_tuple(body.supervisedQueues),
            ),
        )
        return ok()

    async def delete_user(self, request: Request, caller: Caller) -> Response:
        require_admin(caller.user)  # before the body is read: a refusal says why, whatever was sent
        await self.admin.delete_user(caller.user, request.path_params["user_id"])
        return ok()

    # ----- queues -----

    def _queue_json(self, view: QueueView, names: dict[str, User]) -> dict[str, Any]:
        def refs(ids: tuple[str, ...]) -> list[dict[str, Any]]:
            return [self._user_ref(i, names[i].user_name if i in names else i) for i in ids]

        return {
            "name": view.name,
            "members": refs(view.members),
            "supervisors": refs(view.supervisors),
            "serviceNumbers": list(view.numbers),
        }

    async def add_membership(self, caller: Caller, queues: list[dict[str, Any]]) -> None:
        """An administrator's queues also say who serves and supervises each, and which numbers
        route to it (additive fields)."""
        views = {v.name: v for v in await self.admin.queues(caller.user)}
        names = await self.admin.authors(caller.user)
        for queue in queues:
            view = views.get(str(queue["name"]))
            if view is not None:
                queue.update(self._queue_json(view, names))

    async def create_queue(self, request: Request, caller: Caller) -> Response:
        require_admin(caller.user)  # before the body is read: a refusal says why, whatever was sent
        body = await self._body(request, rq.NewQueue)
        view = await self.admin.create_queue(
            caller.user, body.name, QueueChanges(_tuple(body.members), _tuple(body.supervisors))
        )
        return ok({"queue": self._queue_json(view, await self.admin.authors(caller.user))})

    async def update_queue(self, request: Request, caller: Caller) -> Response:
        require_admin(caller.user)  # before the body is read: a refusal says why, whatever was sent
        body = await self._body(request, rq.QueueChanges)
        view = await self.admin.update_queue(
            caller.user,
            request.path_params["queue"],
            QueueChanges(_tuple(body.members), _tuple(body.supervisors)),
        )
        return ok({"queue": self._queue_json(view, await self.admin.authors(caller.user))})

    async def delete_queue(self, request: Request, caller: Caller) -> Response:
        require_admin(caller.user)  # before the body is read: a refusal says why, whatever was sent
        await self.admin.delete_queue(caller.user, request.path_params["queue"])
        return ok()

    # ----- service numbers -----

    @staticmethod
    def _number_json(number: ServiceNumber) -> dict[str, Any]:
        return {
            "number": number.number,
            "queue": number.queue,
            "connector": number.connector,
            "path": f"/service-numbers/{number.number}",
        }

    async def list_numbers(self, request: Request, caller: Caller) -> Response:
        require_admin(caller.user)  # before the body is read: a refusal says why, whatever was sent
        return ok({"serviceNumbers": [self._number_json(n) for n in await self.admin.numbers(caller.user)]})

    async def create_number(self, request: Request, caller: Caller) -> Response:
        require_admin(caller.user)  # before the body is read: a refusal says why, whatever was sent
        body = await self._body(request, rq.NewServiceNumber)
        created = await self.admin.create_number(caller.user, body.number, body.queue, body.connector)
        return ok({"serviceNumber": self._number_json(created)})

    async def update_number(self, request: Request, caller: Caller) -> Response:
        require_admin(caller.user)  # before the body is read: a refusal says why, whatever was sent
        body = await self._body(request, rq.ServiceNumberChanges)
        updated = await self.admin.update_number(
            caller.user, request.path_params["number"], body.queue, body.connector
        )
        return ok({"serviceNumber": self._number_json(updated)})

    async def delete_number(self, request: Request, caller: Caller) -> Response:
        require_admin(caller.user)  # before the body is read: a refusal says why, whatever was sent
        await self.admin.delete_number(caller.user, request.path_params["number"])
        return ok()

    # ----- the contact center, the audit log, customers -----

    async def get_contact_center(self, request: Request, caller: Caller) -> Response:
        require_admin(caller.user)  # before the body is read: a refusal says why, whatever was sent
        center = await self.admin.contact_center(caller.user)
        return ok(
            {"contactCenter": {"id": center.id, "name": center.name, "retentionDays": center.retention_days}}
        )

    async def update_contact_center(self, request: Request, caller: Caller) -> Response:
        require_admin(caller.user)  # before the body is read: a refusal says why, whatever was sent
        body = await self._body(request, rq.ContactCenterChanges)
        if isinstance(body.retentionDays, msgspec.UnsetType):
            center = await self.admin.contact_center(caller.user)
        else:
            center = await self.admin.set_retention(caller.user, caller.user.tenant_id, body.retentionDays)
        return ok(
            {"contactCenter": {"id": center.id, "name": center.name, "retentionDays": center.retention_days}}
        )

    def _audit_json(self, entry: AuditEntry, authors: dict[str, User]) -> dict[str, Any]:
        actor = authors.get(entry.actor_id) if entry.actor_id is not None else None
        return {
            "id": entry.id,
            "timestamp": gws_timestamp(entry.at_ms),
            "timestampMs": entry.at_ms,
            "actor": {
                **(self._user_ref(entry.actor_id, entry.actor_name) if entry.actor_id is not None else {}),
                "userName": actor.user_name if actor is not None else entry.actor_name,
            },
            "action": entry.action,
            "target": {"type": entry.target_type, "id": entry.target_id},
            "before": json.loads(entry.before) if entry.before is not None else None,
            "after": json.loads(entry.after) if entry.after is not None else None,
        }

    async def get_audit(self, request: Request, caller: Caller) -> Response:
        require_admin(caller.user)  # before the body is read: a refusal says why, whatever was sent
        start = query_integer(request.query_params.get("startIndex"), "startIndex", 1, self.bounds)
        count = query_integer(request.query_params.get("count"), "count", DEFAULT_AUDIT_COUNT, self.bounds)
        entries, total = await self.admin.audit(caller.user, start, min(count, 1000) or DEFAULT_AUDIT_COUNT)
        authors = await self.admin.authors(caller.user)
        return ok({"total": total, "entries": [self._audit_json(e, authors) for e in entries]})

    async def erase_customer(self, request: Request, caller: Caller) -> Response:
        require_admin(caller.user)  # before the body is read: a refusal says why, whatever was sent
        report = await self.admin.erase_customer(caller.user, request.path_params["phone_number"])
        return ok(
            {
                "erased": {
                    "sessions": report.sessions,
                    "messages": report.messages,
                    "notifications": report.notifications,
                },
                "optOutKept": report.opt_out_kept,
                "storage": report.storage,
            }
        )
