"""Request bodies, one msgspec Struct per ``operationName``.

A body is read once (:func:`read_body`): its nesting is measured on the raw bytes, then it is
decoded, once, into JSON values, and its ``operationName`` read from them (so an unknown name gets
a clear "unsupported operation" answer, and the metrics their label). :func:`operation_in` then
converts those values strictly into that operation's Struct, without parsing the bytes again.
Unknown extra fields are ignored, as GWS clients send stray ones.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, TypeVar

import msgspec

from smsdesk.domain.capabilities import OPERATION_ALIASES
from smsdesk.gws.bounds import InputBounds, check_fields, check_json_depth
from smsdesk.gws.envelope import GwsError, StatusCode

JsonObject = dict[str, Any]


class Operation(msgspec.Struct, frozen=True):
    operationName: str


# --- /api/v2/me and channels -------------------------------------------------------------------


class StartContactCenterSession(Operation, frozen=True):
    channels: list[str]
    place: str | None = None


class EndContactCenterSession(Operation, frozen=True):
    pass


class Ready(Operation, frozen=True):
    pass


class NotReady(Operation, frozen=True):
    reason: str | None = None


# --- /api/v2/me/smssessions/{id} ---------------------------------------------------------------


class Accept(Operation, frozen=True):
    nickname: str | None = None
    saveLAR: bool = False


class Reject(Operation, frozen=True):
    pass


class Complete(Operation, frozen=True):
    queueName: str | None = None
    saveLAR: bool = False


class Leave(Operation, frozen=True):
    pass


class LeaveAndComplete(Operation, frozen=True):
    pass


class Transfer(Operation, frozen=True):
    targetUri: str | None = None
    targetPath: str | None = None
    queueName: str | None = None
    text: str | None = None
    messageType: str | None = None
    treatAs: str | None = None


class Invite(Operation, frozen=True):
    targetUri: str | None = None
    targetPath: str | None = None


class Consult(Operation, frozen=True):
    targetUri: str | None = None
    targetPath: str | None = None


class CancelConsult(Operation, frozen=True):
    pass


class SetInFocus(Operation, frozen=True):
    pass


class SetDisposition(Operation, frozen=True):
    disposition: str
    dispositionKey: str | None = None


class AddComment(Operation, frozen=True):
    comment: str


class AttachUserData(Operation, frozen=True):
    userData: JsonObject
    userDataVersion: int | None = None  # extension: apply only to this version (conditional write)


class UpdateUserData(Operation, frozen=True):
    userData: JsonObject
    userDataVersion: int | None = None  # extension: apply only to this version (conditional write)


class DeleteUserData(Operation, frozen=True):
    keys: list[str] | None = None
    key: str | None = None
    userDataVersion: int | None = None  # extension: apply only to this version (conditional write)


class SendMessage(Operation, frozen=True):
    text: str


class SendUrl(Operation, frozen=True):
    url: str


class SendStandardResponse(Operation, frozen=True):
    """Extension: send a standard response, its placeholders filled from the session."""

    standardResponseId: str


class SendCustomNotice(Operation, frozen=True):
    noticeText: str


class SendCustomNoticeToAgents(Operation, frozen=True):
    noticeText: str


class SendToAgents(Operation, frozen=True):
    text: str


class SendStartTypingNotification(Operation, frozen=True):
    pass


class SendStopTypingNotification(Operation, frozen=True):
    pass


class SendStartTypingToAgentsNotification(Operation, frozen=True):
    pass


class SendStopTypingToAgentsNotification(Operation, frozen=True):
    pass


# --- /api/v2/me/smssessions (extension: an agent starts a conversation) ---------------------------


class Create(Operation, frozen=True):
    phoneNumber: str
    text: str
    serviceNumber: str | None = None
    userData: JsonObject | None = None
    nickname: str | None = None


SESSION_COLLECTION_OPERATIONS: dict[str, type[Operation]] = {"Create": Create}


# --- resources written whole (extensions): POST creates, PUT replaces; no operationName -----------


class Resource(msgspec.Struct, frozen=True):
    """A request body that is a resource's fields rather than an operation."""


class StandardResponseFields(Resource, frozen=True):
    """``POST /api/v2/standard-responses`` (name and text required) and ``PUT …/{id}`` (the fields
    given replace theirs)."""

    name: str | None = None
    category: str | None = None
    text: str | None = None


class OpeningHoursFields(Resource, frozen=True):
    """``PUT /api/v2/queues/{queue}/opening-hours``."""

    timezone: str
    weekly: str
    closedDates: list[str] = []
    whenClosed: str = "queue"


class AutomaticRepliesFields(Resource, frozen=True):
    """``PUT /api/v2/queues/{queue}/automatic-replies``: what is left out is none."""

    closed: str | None = None
    waiting: str | None = None
    waitingAfterSeconds: int | None = None


RESOURCE_BODIES: tuple[type[Resource], ...] = (
    StandardResponseFields,
    OpeningHoursFields,
    AutomaticRepliesFields,
)


# --- supervisors: /api/v2/users/{agentUserId}/channels/smssession and .../smssessions/{id} --------


class Monitor(Operation, frozen=True):
    supervisorMonitoringMode: str = "AllChats"
    nickname: str | None = None


class Coach(Operation, frozen=True):
    supervisorMonitoringMode: str = "AllChats"
    nickname: str | None = None


class BargeIn(Operation, frozen=True):
    supervisorMonitoringMode: str = "AllChats"
    nickname: str | None = None


class CancelSupervisorMonitoring(Operation, frozen=True):
    pass


class Intrude(Operation, frozen=True):
    supervisorVisibilityMode: str | None = None
    nickname: str | None = None


class SwitchToMonitor(Operation, frozen=True):
    pass


class SwitchToCoach(Operation, frozen=True):
    pass


class SwitchToBargeIn(Operation, frozen=True):
    pass


SUPERVISOR_CHANNEL_OPERATIONS: dict[str, type[Operation]] = {
    cls.__name__: cls for cls in (Monitor, Coach, BargeIn, CancelSupervisorMonitoring)
}
SUPERVISOR_SESSION_OPERATIONS: dict[str, type[Operation]] = {"Intrude": Intrude}


ME_OPERATIONS: dict[str, type[Operation]] = {
    "StartContactCenterSession": StartContactCenterSession,
    "EndContactCenterSession": EndContactCenterSession,
    "Ready": Ready,
    "NotReady": NotReady,
}

CHANNEL_OPERATIONS: dict[str, type[Operation]] = {"Ready": Ready, "NotReady": NotReady}

SMS_SESSION_OPERATIONS: dict[str, type[Operation]] = {
    cls.__name__: cls
    for cls in (
        Accept,
        Reject,
        Complete,
        Leave,
        LeaveAndComplete,
        Transfer,
        Invite,
        Consult,
        CancelConsult,
        SetInFocus,
        SetDisposition,
        AddComment,
        AttachUserData,
        UpdateUserData,
        DeleteUserData,
        SendMessage,
        SendStandardResponse,
        SendUrl,
        SendCustomNotice,
        SendCustomNoticeToAgents,
        SendToAgents,
        SendStartTypingNotification,
        SendStopTypingNotification,
        SendStartTypingToAgentsNotification,
        SendStopTypingToAgentsNotification,
        SwitchToMonitor,
        SwitchToCoach,
        SwitchToBargeIn,
    )
}
# The other spellings GWS documents decode into the canonical operation's Struct; the domain's
# capability check reads the same table.
SMS_SESSION_OPERATIONS.update(
    {alias: SMS_SESSION_OPERATIONS[canonical] for alias, canonical in OPERATION_ALIASES.items()}
)

KNOWN_OPERATION_NAMES: frozenset[str] = frozenset().union(
    SESSION_COLLECTION_OPERATIONS,
    SUPERVISOR_CHANNEL_OPERATIONS,
    SUPERVISOR_SESSION_OPERATIONS,
    ME_OPERATIONS,
    CHANNEL_OPERATIONS,
    SMS_SESSION_OPERATIONS,
)

_decode_json = msgspec.json.Decoder().decode
_MISSING_FIELD = re.compile(r"missing required field `([^`]+)`")
_AT_PATH = re.compile(r"at `\$\.?([^`]*)`")

DEFAULT_BOUNDS = InputBounds()


@dataclass(slots=True)
class RequestBody:
    """A POST body decoded once: its ``operationName`` and all its fields, as JSON values."""

    operation_name: str
    fields: JsonObject


def _json_object(body: bytes, bounds: InputBounds, missing: str) -> JsonObject:
    """A POST or PUT body decoded once, held to ``bounds`` on the raw bytes before the decoder
    recurses into them; ``missing`` is what an empty body is told."""
    if not body.strip():
        raise GwsError(StatusCode.MISSING_PARAMETER, missing)
    check_json_depth(body, bounds)
    try:
        fields = _decode_json(body)
    except msgspec.ValidationError as exc:
        # JSON that Python cannot hold (a number beyond a float's range), named by its field.
        raise _validation_error(str(exc)) from None
    except msgspec.DecodeError:
        raise GwsError(StatusCode.VALIDATION_ERROR, "Invalid request body: malformed JSON") from None
    if not isinstance(fields, dict):
        raise GwsError(StatusCode.VALIDATION_ERROR, "Invalid request body: expected a JSON object")
    return fields


def read_body(body: bytes, bounds: InputBounds = DEFAULT_BOUNDS) -> RequestBody:
    """Decode a POST body once and read its ``operationName``, or raise a :class:`GwsError`. The
    nesting is held to ``bounds`` on the raw bytes, before the decoder recurses into them."""
    fields = _json_object(body, bounds, "Missing required parameter: operationName")
    name = fields.get("operationName")
    if name is not None and not isinstance(name, str):
        raise GwsError(StatusCode.VALIDATION_ERROR, "Invalid value for parameter: operationName")
    if not name:
        raise GwsError(StatusCode.MISSING_PARAMETER, "Missing required parameter: operationName")
    return RequestBody(name, fields)


_R = TypeVar("_R", bound=Resource)


def read_resource(body: bytes, cls: type[_R], bounds: InputBounds = DEFAULT_BOUNDS) -> _R:
    """A resource's fields (``cls``) from a POST or PUT body, held to the same bounds as operations."""
    fields = _json_object(body, bounds, "Missing request body (a JSON object)")
    try:
        resource = msgspec.convert(fields, cls)
    except msgspec.ValidationError as exc:
        raise _validation_error(str(exc)) from None
    check_fields(resource, bounds)
    return resource


def operation_in(
    table: dict[str, type[Operation]], body: RequestBody, bounds: InputBounds = DEFAULT_BOUNDS
) -> Operation:
    """The operation ``body`` names, as its Struct from ``table``, or raise a :class:`GwsError`.
    String and list sizes are held to ``bounds``."""
    cls = table.get(body.operation_name)
    if cls is None:
        raise GwsError(StatusCode.INVALID_STATE, f"Unsupported operation: {body.operation_name}")
    try:
        operation: Operation = msgspec.convert(body.fields, cls)
    except msgspec.ValidationError as exc:
        raise _validation_error(str(exc)) from None
    check_fields(operation, bounds)
    return operation


def counted_name(operation_name: str) -> str:
    """The label an operation is counted under: its name when it is one of ours, ``"unknown"``
    for any other (a client must not be able to add label values without bound)."""
    return operation_name if operation_name in KNOWN_OPERATION_NAMES else "unknown"


def _validation_error(detail: str) -> GwsError:
    missing = _MISSING_FIELD.search(detail)
    if missing:
        return GwsError(StatusCode.MISSING_PARAMETER, f"Missing required parameter: {missing.group(1)}")
    at = _AT_PATH.search(detail)
    where = at.group(1).split(".")[0].split("[")[0] if at else ""
    reason = detail.split(" - at ")[0]
    if where:
        return GwsError(StatusCode.VALIDATION_ERROR, f"Invalid value for parameter {where}: {reason}")
    return GwsError(StatusCode.VALIDATION_ERROR, f"Invalid request body: {reason}")


# --- administration (resources of our own; docs/gws-compatibility.md, "Administration") --------


class NewUser(Resource, frozen=True):
    """``POST /api/v2/users``: GWS's fields, plus the additive ``passwordSignIn``, ``queues`` and
    ``supervisedQueues``."""

    userName: str
    password: str
    roles: list[str]
    firstName: str | None = None
    lastName: str | None = None
    enabled: bool = True
    passwordSignIn: bool = True
    queues: list[str] = []
    supervisedQueues: list[str] = []


class UserChanges(Resource, frozen=True):
    """``PUT /api/v2/users/{id}``: what is given changes; ``password`` resets the password."""

    firstName: str | None = None
    lastName: str | None = None
    roles: list[str] | None = None
    enabled: bool | None = None
    password: str | None = None
    passwordSignIn: bool | None = None
    queues: list[str] | None = None
    supervisedQueues: list[str] | None = None


class NewQueue(Resource, frozen=True):
    """``POST /api/v2/queues``: members and supervisors by user id (or user name)."""

    name: str
    members: list[str] | None = None
    supervisors: list[str] | None = None


class QueueChanges(Resource, frozen=True):
    """``PUT /api/v2/queues/{name}``: the given lists replace the queue's."""

    members: list[str] | None = None
    supervisors: list[str] | None = None


class NewServiceNumber(Resource, frozen=True):
    """``POST /api/v2/service-numbers``."""

    number: str
    queue: str
    connector: str = "simulator"


class ServiceNumberChanges(Resource, frozen=True):
    """``PUT /api/v2/service-numbers/{number}``."""

    queue: str | None = None
    connector: str | None = None


class ContactCenterChanges(Resource, frozen=True):
    """``PUT /api/v2/contact-center``: ``retentionDays`` a number of days, or null to keep for ever."""

    retentionDays: int | msgspec.UnsetType | None = msgspec.UNSET


ADMIN_BODIES: tuple[type[Resource], ...] = (
    NewUser,
    UserChanges,
    NewQueue,
    QueueChanges,
    NewServiceNumber,
    ServiceNumberChanges,
    ContactCenterChanges,
)
