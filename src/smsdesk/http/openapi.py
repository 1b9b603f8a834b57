"""The OpenAPI 3.1 document of the REST API, served at ``/api/v2/openapi.json``.

Request bodies are generated from the very msgspec Structs that decode them (``gws/requests.py``)
and the bounds they are held to (``gws/bounds.py``, the settings), so the document cannot drift
from what the server accepts. What msgspec cannot know (which Struct answers which path, the
statuses) is the route table below; a test checks it against the application's routes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec

import smsdesk
from smsdesk.gws import requests as rq
from smsdesk.gws.bounds import InputBounds

OPENAPI_PATH = "/api/v2/openapi.json"
_REF = "#/components/schemas/{name}"
TEXT_FIELDS = frozenset({"text", "noticeText", "closed", "waiting"})


class ErrorEnvelope(msgspec.Struct):
    """Every refusal: the GWS envelope and nothing else."""

    statusCode: int
    statusMessage: str


class OperationAccepted(msgspec.Struct):
    """A POST operation that succeeded; ``referenceId`` is echoed on its first notification."""

    statusCode: int
    referenceId: int


class Success(msgspec.Struct):
    """A successful GET: ``statusCode`` 0 and the resource's own fields (see gws-compatibility.md)."""

    statusCode: int


class BayeuxMessage(msgspec.Struct):
    """One Bayeux message; its other fields depend on the channel (Bayeux 1.0)."""

    channel: str


@dataclass(frozen=True)
class Limits:
    bounds: InputBounds
    max_text_length: int
    user_data_max_keys: int


# Statuses every authenticated operation may answer, besides its success.
_ERRORS = {
    "400": "Invalid request: statusCode 1 (missing), 2 (not valid now), 10 (invalid value, a bound)",
    "401": "statusCode 20: not authenticated",
    "403": "statusCode 3 or 5: CSRF token, opted-out customer, no permission",
    "404": "statusCode 6: no such resource (or not yours)",
    "405": "statusCode 10: method not allowed (see Allow)",
    "409": "statusCode 18 or 19: already exists / in use",
    "413": "statusCode 10: body larger than max_body_bytes",
    "429": "statusCode 3: over a rate limit (the user's, the contact center's); statusCode 20: sign-in "
    "throttled after wrong passwords; nothing was done, try again after Retry-After",
    "503": "statusCode 4: the database is unavailable (failing over): nothing was done, try again after "
    "Retry-After; with `X-Smsdesk-Outcome: unknown` (extension) the request may have been done: read, "
    "or repeat it with the same Idempotency-Key",
}


def _error_responses(*codes: str) -> dict[str, Any]:
    return {
        code: {
            "description": _ERRORS[code],
            "content": {"application/json": {"schema": {"$ref": _REF.format(name="ErrorEnvelope")}}},
        }
        for code in codes
    }


def _ok(schema_name: str, description: str) -> dict[str, Any]:
    return {
        "200": {
            "description": description,
            "content": {"application/json": {"schema": {"$ref": _REF.format(name=schema_name)}}},
        }
    }


def _admin(
    method: str,
    summary: str,
    body: type[rq.Resource] | None = None,
    parameters: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """An administration request (ROLE_ADMIN; an agent or supervisor gets 403 statusCode 5)."""
    codes = ["400", "401", "403", "404", "405", "429", "503"]
    if method != "get":
        codes.append("409")
    if body is not None:
        codes.append("413")
    operation: dict[str, Any] = {
        "summary": summary,
        "responses": {**_ok("Success", "Done"), **_error_responses(*sorted(codes))},
    }
    if body is not None:
        operation["requestBody"] = _resource_body(body)
    if parameters:
        operation["parameters"] = parameters
    return operation


def _operations_body(table: dict[str, type[rq.Operation]]) -> dict[str, Any]:
    names = sorted({cls.__name__ for cls in table.values()})
    return {
        "required": True,
        "content": {
            "application/json": {
                "schema": {"oneOf": [{"$ref": _REF.format(name=name)} for name in names]},
            }
        },
    }


def _query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": description}


def _path_param(name: str, limits: Limits) -> dict[str, Any]:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "schema": {"type": "string", "maxLength": limits.bounds.max_string_length},
    }


def _get(summary: str, ok: dict[str, Any], parameters: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "summary": summary,
        "responses": {**ok, **_error_responses("400", "401", "403", "404", "405", "429", "503")},
    }
    if parameters:
        operation["parameters"] = parameters
    return operation


def _post(
    summary: str, table: dict[str, type[rq.Operation]], parameters: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "summary": summary,
        "requestBody": _operations_body(table),
        "responses": {
            **_ok("OperationAccepted", "The operation was performed"),
            **_error_responses("400", "401", "403", "404", "405", "409", "413", "429", "503"),
        },
    }
    if parameters:
        operation["parameters"] = parameters
    return operation


def _resource_body(cls: type[rq.Resource]) -> dict[str, Any]:
    return {
        "required": True,
        "content": {"application/json": {"schema": {"$ref": _REF.format(name=cls.__name__)}}},
    }


def _write(
    summary: str,
    ok: dict[str, Any],
    body: type[rq.Resource] | None,
    parameters: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A PUT, POST or DELETE of a resource (extensions): its fields in the body, no operationName."""
    operation: dict[str, Any] = {
        "summary": summary,
        "responses": {
            **ok,
            **_error_responses("400", "401", "403", "404", "405", "409", "413", "429", "503"),
        },
    }
    if body is not None:
        operation["requestBody"] = _resource_body(body)
    if parameters:
        operation["parameters"] = parameters
    return operation


def _paths(limits: Limits) -> dict[str, Any]:
    bounds = limits.bounds
    session_id = _path_param("session_id", limits)
    integer = {"type": "integer", "minimum": 0, "maximum": bounds.max_query_integer}
    fields = _query(
        "fields", {"type": "string", "maxLength": bounds.max_string_length}, "`*` for whole resources"
    )
    text = {"type": "string", "maxLength": bounds.max_string_length}
    response_id = _path_param("response_id", limits)
    queue = _path_param("queue", limits)
    return {
        "/api/v2/me/smssessions/{session_id}/history": {
            "get": _get(
                "The customer's earlier sessions, newest first, with their transcripts (extension)",
                _ok("Success", "history, total"),
                [
                    session_id,
                    _query("startIndex", integer, "first session, 1-based, newest first (0 behaves like 1)"),
                    _query(
                        "count",
                        {**integer, "minimum": 1, "maximum": 100},
                        "how many (default 20, at most 100)",
                    ),
                ],
            )
        },
        "/api/v2/me/standard-responses": {
            "get": _get(
                "Standard responses matching a search, optionally filled for a session (agents; extension)",
                _ok("Success", "standardResponses"),
                [
                    _query(
                        "query", text, "words that must all appear in the name, category or text (any case)"
                    ),
                    _query(
                        "smssessionId",
                        text,
                        "a session of the caller's: each response gets filledText (or missing placeholders)",
                    ),
                ],
            )
        },
        "/api/v2/standard-responses": {
            "get": _get(
                "The contact center's standard responses (supervisors, administrators; extension)",
                _ok("Success", "standardResponses"),
            ),
            "post": _write(
                "Add a standard response: name, text, optional category (extension)",
                _ok("Success", "id, uri, path, standardResponse"),
                rq.StandardResponseFields,
            ),
        },
        "/api/v2/standard-responses/{response_id}": {
            "get": _get(
                "One standard response (extension)", _ok("Success", "standardResponse"), [response_id]
            ),
            "put": _write(
                "Change a standard response: the fields given replace theirs (extension)",
                _ok("Success", "standardResponse"),
                rq.StandardResponseFields,
                [response_id],
            ),
            "delete": _write(
                "Delete a standard response (extension)", _ok("Success", "deleted"), None, [response_id]
            ),
        },
        "/api/v2/queues": {
            "get": _get(
                "Queues with their opening hours and automatic replies (administrators: all, with members, "
                "supervisors and service numbers; supervisors: theirs; extension)",
                _ok("Success", "queues"),
            ),
            "post": _admin("post", "Add a queue (administrators; extension)", rq.NewQueue),
        },
        "/api/v2/queues/{queue}": {
            "get": _get(
                "One queue's opening hours and automatic replies (extension)",
                _ok("Success", "queue"),
                [queue],
            ),
            "put": _admin(
                "put",
                "Set a queue's members and supervisors (administrators; extension)",
                rq.QueueChanges,
                [queue],
            ),
            "delete": _admin(
                "delete",
                "Delete a queue no number routes to (administrators; extension)",
                None,
                [queue],
            ),
        },
        "/api/v2/queues/{queue}/opening-hours": {
            "put": _write(
                "Set a queue's opening hours (extension)",
                _ok("Success", "queue"),
                rq.OpeningHoursFields,
                [queue],
            ),
            "delete": _write(
                "Remove a queue's opening hours: always open (extension)",
                _ok("Success", "queue"),
                None,
                [queue],
            ),
        },
        "/api/v2/queues/{queue}/automatic-replies": {
            "put": _write(
                "Set a queue's automatic replies; what is left out is none (extension)",
                _ok("Success", "queue"),
                rq.AutomaticRepliesFields,
                [queue],
            )
        },
        "/api/v2/diagnostics/version": {
            "get": {
                "summary": "Server version (no authentication)",
                "security": [],
                "responses": {**_ok("Success", "The version"), **_error_responses("405")},
            }
        },
        OPENAPI_PATH: {
            "get": {
                "summary": "This document (no authentication)",
                "security": [],
                "responses": {
                    "200": {
                        "description": "OpenAPI 3.1",
                        "content": {"application/json": {"schema": {"type": "object"}}},
                    },
                    **_error_responses("405"),
                },
            }
        },
        "/api/v2/sms/preview": {
            "get": _get(
                "Encoding and segments of a text (extension)",
                _ok("Success", "encoding, segments, characters, units"),
                [
                    {
                        "name": "text",
                        "in": "query",
                        "required": True,
                        "schema": {"type": "string", "maxLength": bounds.max_string_length},
                    }
                ],
            )
        },
        "/api/v2/me": {
            "get": _get(
                "The signed-in user",
                _ok("Success", "user, and the subresources asked for"),
                [
                    _query(
                        "subresources",
                        {"type": "string", "maxLength": bounds.max_string_length},
                        "`*` or a comma-separated list of channels, smssessions, features, settings, devices",
                    )
                ],
            ),
            "post": _post(
                "StartContactCenterSession, EndContactCenterSession, Ready, NotReady", rq.ME_OPERATIONS
            ),
        },
        "/api/v2/me/channels": {"get": _get("The user's channels (extension)", _ok("Success", "channels"))},
        "/api/v2/me/channels/{channel}": {
            "post": _post(
                "Ready or NotReady on one channel", rq.CHANNEL_OPERATIONS, [_path_param("channel", limits)]
            )
        },
        "/api/v2/signin-options": {
            "get": {
                "summary": "How the sign-in pages may sign in: password, identity provider (no authentication; extension)",
                "security": [],
                "responses": {**_ok("Success", "passwordSignIn, provider"), **_error_responses("405")},
            }
        },
        "/api/v2/users": {
            "get": _get(
                "The caller's colleagues (an administrator: every user, with queues)",
                _ok("Success", "uris, or users"),
                [fields],
            ),
            "post": _admin("post", "Add a user (administrators)", rq.NewUser),
        },
        "/api/v2/users/{user_id}": {
            "get": _get("One colleague", _ok("Success", "user"), [_path_param("user_id", limits)]),
            "put": _admin(
                "put",
                "Change a user: names, roles, enabled, password, queues (administrators)",
                rq.UserChanges,
                [_path_param("user_id", limits)],
            ),
            "delete": _admin(
                "delete", "Delete a user (administrators)", None, [_path_param("user_id", limits)]
            ),
        },
        "/api/v2/service-numbers": {
            "get": _admin("get", "The contact center's service numbers (administrators; extension)"),
            "post": _admin("post", "Add a service number (administrators; extension)", rq.NewServiceNumber),
        },
        "/api/v2/service-numbers/{number}": {
            "put": _admin(
                "put",
                "Route a service number to another queue or connector (administrators; extension)",
                rq.ServiceNumberChanges,
                [_path_param("number", limits)],
            ),
            "delete": _admin(
                "delete",
                "Remove a service number (administrators; extension)",
                None,
                [_path_param("number", limits)],
            ),
        },
        "/api/v2/contact-center": {
            "get": _admin("get", "The contact center and its retention (administrators; extension)"),
            "put": _admin(
                "put",
                "Set how long finished conversations are kept (administrators; extension)",
                rq.ContactCenterChanges,
            ),
        },
        "/api/v2/audit": {
            "get": _admin(
                "get",
                "The audit log of administrative changes, newest first (administrators; extension)",
                None,
                [
                    _query("startIndex", integer, "1 = the newest entry (0 behaves like 1)"),
                    _query("count", integer, "how many (default 50, at most 1000)"),
                ],
            )
        },
        "/api/v2/customers/{phone_number}": {
            "delete": _admin(
                "delete",
                "Erase a customer's conversations, messages and user data (administrators; extension)",
                None,
                [_path_param("phone_number", limits)],
            )
        },
        "/api/v2/me/smssessions": {
            "get": _get("The caller's live SMS sessions", _ok("Success", "uris, or smssessions"), [fields]),
            "post": _post(
                "Create: start an outbound SMS conversation (extension)", rq.SESSION_COLLECTION_OPERATIONS
            ),
        },
        "/api/v2/me/statistics": {
            "get": _get(
                "Live numbers of the queues a supervisor supervises (extension)",
                _ok("Success", "statistics and monitoring"),
            )
        },
        "/api/v2/me/smssessions/{session_id}/userDataAudit": {
            "get": _get(
                "Every userData key change of the session (extension)",
                _ok("Success", "entries"),
                [session_id],
            )
        },
        "/api/v2/users/{user_id}/channels/smssession": {
            "post": _post(
                "Monitor, Coach, BargeIn, CancelSupervisorMonitoring (supervisors)",
                rq.SUPERVISOR_CHANNEL_OPERATIONS,
                [_path_param("user_id", limits)],
            )
        },
        "/api/v2/users/{user_id}/channels/sms": {
            "post": _post(
                "The same as .../channels/smssession (the channel's other name)",
                rq.SUPERVISOR_CHANNEL_OPERATIONS,
                [_path_param("user_id", limits)],
            )
        },
        "/api/v2/users/{user_id}/smssessions": {
            "get": _get(
                "The SMS sessions a supervised agent is chatting in (supervisors; extension)",
                _ok("Success", "smssessions"),
                [_path_param("user_id", limits)],
            )
        },
        "/api/v2/users/{user_id}/smssessions/{session_id}": {
            "post": _post(
                "Intrude into an agent's SMS session (supervisors)",
                rq.SUPERVISOR_SESSION_OPERATIONS,
                [_path_param("user_id", limits), session_id],
            )
        },
        "/api/v2/me/smssessions/{session_id}": {
            "get": _get("One SMS session", _ok("Success", "smssession"), [session_id]),
            "post": _post(
                "An operation on an SMS session",
                rq.SMS_SESSION_OPERATIONS,
                [
                    session_id,
                    {
                        "name": "Idempotency-Key",
                        "in": "header",
                        "required": False,
                        "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!-~]+$"},
                        "description": "**Extension**: a key of the client's choosing, new for each request; "
                        "the same request repeated with it (after a 503 or a lost answer) is answered "
                        "with the first outcome and not done again",
                    },
                ],
            ),
        },
        "/api/v2/me/smssessions/{session_id}/messages": {
            "get": _get(
                "The session's transcript",
                _ok("Success", "messages"),
                [
                    session_id,
                    _query("startIndex", integer, "first index, 1-based (0 behaves like 1)"),
                    _query("count", integer, "how many; 0 = all"),
                ],
            )
        },
        "/api/v2/notifications": {
            "post": {
                "summary": "CometD (Bayeux 1.0) long-polling; websocket on the same URL",
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "array",
                                "items": {"$ref": _REF.format(name="BayeuxMessage")},
                                "minItems": 1,
                            }
                        }
                    },
                },
                "responses": {
                    "200": {
                        "description": "Bayeux replies, one per message (plus queued messages on /meta/connect)",
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "array",
                                    "items": {"$ref": _REF.format(name="BayeuxMessage")},
                                }
                            }
                        },
                    },
                    **_error_responses("400", "401", "405", "413"),
                },
            }
        },
    }


def _bound_schema(name: str, schema: dict[str, Any], limits: Limits) -> None:
    """Write the decoding edge's bounds into one Struct's generated schema."""
    for field, prop in schema.get("properties", {}).items():
        _bound_property(field, prop, limits)


def _bound_property(field: str, prop: dict[str, Any], limits: Limits) -> None:
    for option in prop.get("anyOf", [prop]):
        kind = option.get("type")
        if kind == "string":
            option["maxLength"] = (
                limits.max_text_length if field in TEXT_FIELDS else limits.bounds.max_string_length
            )
        elif kind == "array":
            option["maxItems"] = limits.bounds.max_list_items
            if option.get("items", {}).get("type") == "string":
                option["items"]["maxLength"] = limits.bounds.max_string_length
        elif kind == "object" and field == "userData":
            option["maxProperties"] = limits.user_data_max_keys


def _components(limits: Limits) -> dict[str, Any]:
    tables = (
        rq.ME_OPERATIONS,
        rq.CHANNEL_OPERATIONS,
        rq.SMS_SESSION_OPERATIONS,
        rq.SESSION_COLLECTION_OPERATIONS,
        rq.SUPERVISOR_CHANNEL_OPERATIONS,
        rq.SUPERVISOR_SESSION_OPERATIONS,
    )
    operation_types = sorted({cls for table in tables for cls in table.values()}, key=lambda c: c.__name__)
    types: list[Any] = [
        *operation_types,
        *rq.RESOURCE_BODIES,
        *rq.ADMIN_BODIES,
        ErrorEnvelope,
        OperationAccepted,
        Success,
        BayeuxMessage,
    ]
    _, schemas = msgspec.json.schema_components(types, ref_template=_REF)
    # Each operation Struct is chosen by its operationName (and documented aliases).
    aliases: dict[str, list[str]] = {}
    for table in tables:
        for name, cls in table.items():
            aliases.setdefault(cls.__name__, [])
            if name not in aliases[cls.__name__]:
                aliases[cls.__name__].append(name)
    resources = {cls.__name__ for cls in (*rq.RESOURCE_BODIES, *rq.ADMIN_BODIES)}
    for name, schema in schemas.items():
        if name in aliases:
            schema["properties"]["operationName"] = {"enum": sorted(aliases[name])}
            _bound_schema(name, schema, limits)
        elif name in resources:
            _bound_schema(name, schema, limits)
    return {
        "schemas": schemas,
        "securitySchemes": {
            "basic": {"type": "http", "scheme": "basic"},
            "session": {"type": "apiKey", "in": "cookie", "name": "JSESSIONID"},
        },
    }


def openapi_document(limits: Limits) -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "smsdesk: Genesys Web Services 8.5 SMS Session API",
            "version": smsdesk.__version__,
            "description": (
                "Every reply is the GWS envelope: `statusCode` 0 on success, "
                '`{"statusCode":N,"statusMessage":"..."}` otherwise. Session paths are also served '
                "without `/me` and with the documented misspelling `smsessions`; a trailing slash is "
                "the same resource. Bounds are this server's settings (docs/reliability.md)."
            ),
        },
        "security": [{"basic": []}, {"session": []}],
        "paths": _paths(limits),
        "components": _components(limits),
    }
