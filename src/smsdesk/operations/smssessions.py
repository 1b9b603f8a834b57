"""The SMS Session API operations (``POST /api/v2/me/smssessions/{id}``), one function per operationName.

Each runs in one transaction: check access and capabilities, apply the domain change, persist,
write notifications to the outbox. A failure raises before anything is written.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from smsdesk.domain.agents import SMS_CHANNEL
from smsdesk.domain.errors import DomainError, ErrorKind, invalid_state, invalid_value, not_found
from smsdesk.domain.model import DomainContext, MessageType, OfferKind, SupervisionMode
from smsdesk.domain.session import SmsSession
from smsdesk.gws import requests as rq
from smsdesk.operations import access, standard_responses
from smsdesk.operations.notify import publish_session_change
from smsdesk.operations.ports import User
from smsdesk.operations.services import Services, Work
from smsdesk.operations.supervision import join_monitoring_supervisors


@dataclass(slots=True)
class Call:
    services: Services
    work: Work
    user: User
    session: SmsSession
    ctx: DomainContext


Handler = Callable[[Call, Any], Awaitable[None]]
HANDLERS: dict[type[rq.Operation], Handler] = {}
_Op = TypeVar("_Op", bound=rq.Operation)


def handles(*operation_types: type[_Op]) -> Callable[[Callable[[Call, _Op], Awaitable[None]]], Handler]:
    def register(fn: Callable[[Call, _Op], Awaitable[None]]) -> Handler:
        for operation_type in operation_types:
            HANDLERS[operation_type] = fn
        return fn

    return register


async def perform(services: Services, user: User, session_id: str, operation: rq.Operation) -> int:
    """Run one operation on one session; returns the request's referenceId."""
    access.require_agent(user)
    handler = HANDLERS[type(operation)]
    async with services.work() as work:
        record = await access.session_for_agent(work.tx, user, session_id)
        session = SmsSession(record)
        session.require(user.id, operation.operationName)
        call = Call(services, work, user, session, services.domain_context())
        await handler(call, operation)
        reference_id = await work.tx.reference_ids.next()
        await publish_session_change(services, work, session, requester=user.id, reference_id=reference_id)
    return reference_id


def _text(services: Services, value: str, name: str) -> str:
    if not value:
        raise DomainError(ErrorKind.MISSING_PARAMETER, f"Missing required parameter: {name}")
    if len(value) > services.settings.max_text_length:
        raise invalid_value(f"{name} is longer than {services.settings.max_text_length} characters")
    return value


# ----- offers ----------------------------------------------------------------------------------------


@handles(rq.Accept)
async def accept(call: Call, op: rq.Accept) -> None:
    nickname = op.nickname or call.user.first_name or call.user.user_name
    call.session.accept(call.ctx, call.user.id, nickname)
    if call.session.record.parties[call.user.id].supervision is None:
        await join_monitoring_supervisors(call.work.tx, call.session, call.user.id, call.ctx)


@handles(rq.Reject)
async def reject(call: Call, op: rq.Reject) -> None:
    call.session.reject(call.user.id)


# ----- ending ----------------------------------------------------------------------------------------


@handles(rq.Complete)
async def complete(call: Call, op: rq.Complete) -> None:
    if op.queueName is not None and not await call.work.tx.queues.exists(call.user.tenant_id, op.queueName):
        raise not_found(f"Queue not found: {op.queueName}")
    call.session.complete(call.ctx, call.user.id, op.queueName)


@handles(rq.Leave)
async def leave(call: Call, op: rq.Leave) -> None:
    call.session.leave(call.ctx, call.user.id)


@handles(rq.LeaveAndComplete)
async def leave_and_complete(call: Call, op: rq.LeaveAndComplete) -> None:
    call.session.leave(call.ctx, call.user.id, and_complete=True)


# ----- other agents ----------------------------------------------------------------------------------


def _target_reference(target_uri: str | None, target_path: str | None) -> str:
    target = target_uri or target_path
    if not target:
        raise DomainError(ErrorKind.MISSING_PARAMETER, "Missing required parameter: targetUri or targetPath")
    head, sep, tail = target.rstrip("/").rpartition("/users/")
    if not sep or not tail or "/" in tail:
        raise invalid_value(f"Invalid target: {target} (expected a user URI or path, /users/{{id}})")
    del head
    return tail


async def _logged_in_colleague(call: Call, target_uri: str | None, target_path: str | None) -> User:
    target = await access.colleague(call.work.tx, call.user, _target_reference(target_uri, target_path))
    channels = await call.work.tx.agents.channels(target.id)
    if not any(channel.channel == SMS_CHANNEL for channel in channels):
        raise invalid_state(f"The target agent {target.user_name} is not logged in on the smssession channel")
    return target


@handles(rq.Transfer)
async def transfer(call: Call, op: rq.Transfer) -> None:
    if op.queueName is None and op.targetUri is None and op.targetPath is None:
        raise DomainError(
            ErrorKind.MISSING_PARAMETER, "Missing required parameter: targetUri, targetPath or queueName"
        )
    if op.queueName is not None:
        if not await call.work.tx.queues.exists(call.user.tenant_id, op.queueName):
            raise not_found(f"Queue not found: {op.queueName}")
        target_user = None
    else:
        target_user = await _logged_in_colleague(call, op.targetUri, op.targetPath)
    if op.text:
        call.session.post(
            call.ctx,
            call.user.id,
            MessageType.TEXT,
            agents_only=False,
            text=_text(call.services, op.text, "text"),
        )
    if target_user is None:
        assert op.queueName is not None
        call.session.transfer_to_queue(call.ctx, call.user.id, op.queueName)
    else:
        call.session.offer_to_agent(call.ctx, call.user.id, target_user.id, OfferKind.TRANSFER)


@handles(rq.Invite)
async def invite(call: Call, op: rq.Invite) -> None:
    target = await _logged_in_colleague(call, op.targetUri, op.targetPath)
    call.session.offer_to_agent(call.ctx, call.user.id, target.id, OfferKind.INVITE)


@handles(rq.Consult)
async def consult(call: Call, op: rq.Consult) -> None:
    target = await _logged_in_colleague(call, op.targetUri, op.targetPath)
    call.session.offer_to_agent(call.ctx, call.user.id, target.id, OfferKind.CONSULT)


@handles(rq.CancelConsult)
async def cancel_consult(call: Call, op: rq.CancelConsult) -> None:
    call.session.cancel_consult(call.user.id)


# ----- properties ------------------------------------------------------------------------------------


@handles(rq.SetInFocus)
async def set_in_focus(call: Call, op: rq.SetInFocus) -> None:
    """Focus is a desktop concern: accepted, nothing changes, nothing is notified."""


@handles(rq.SetDisposition)
async def set_disposition(call: Call, op: rq.SetDisposition) -> None:
    call.session.set_disposition(
        call.user.id, op.disposition, op.dispositionKey, call.services.settings.user_data_limits
    )


@handles(rq.AddComment)
async def add_comment(call: Call, op: rq.AddComment) -> None:
    comment = _text(call.services, op.comment, "comment")
    nickname = call.user.first_name or call.user.user_name
    call.session.add_comment(call.ctx, call.user.id, comment, nickname)


@handles(rq.AttachUserData)
async def attach_user_data(call: Call, op: rq.AttachUserData) -> None:
    call.session.attach_user_data(
        op.userData, call.services.settings.user_data_limits, call.user.id, op.userDataVersion
    )


@handles(rq.UpdateUserData)
async def update_user_data(call: Call, op: rq.UpdateUserData) -> None:
    call.session.update_user_data(
        op.userData, call.services.settings.user_data_limits, call.user.id, op.userDataVersion
    )


@handles(rq.DeleteUserData)
async def delete_user_data(call: Call, op: rq.DeleteUserData) -> None:
    keys = list(op.keys or [])
    if op.key is not None:
        keys.append(op.key)
    call.session.delete_user_data(keys, call.user.id, op.userDataVersion)


# ----- messages --------------------------------------------------------------------------------------


@handles(rq.SendMessage)
async def send_message(call: Call, op: rq.SendMessage) -> None:
    text = _text(call.services, op.text, "text")
    call.session.post(call.ctx, call.user.id, MessageType.TEXT, agents_only=False, text=text)


@handles(rq.SendStandardResponse)
async def send_standard_response(call: Call, op: rq.SendStandardResponse) -> None:
    """**Extension**: a standard response, filled from the session, sent exactly as SendMessage."""
    if not op.standardResponseId:
        raise DomainError(ErrorKind.MISSING_PARAMETER, "Missing required parameter: standardResponseId")
    text = await standard_responses.text_for(
        call.work.tx, call.user, call.session.record, op.standardResponseId
    )
    limit = call.services.settings.max_text_length
    if len(text) > limit:
        raise invalid_value(
            f"The filled standard response is longer than {limit} characters (max_text_length)"
        )
    call.session.post(call.ctx, call.user.id, MessageType.TEXT, agents_only=False, text=text)


@handles(rq.SendToAgents)
async def send_to_agents(call: Call, op: rq.SendToAgents) -> None:
    text = _text(call.services, op.text, "text")
    call.session.post(call.ctx, call.user.id, MessageType.TEXT, agents_only=True, text=text)


@handles(rq.SendUrl)
async def send_url(call: Call, op: rq.SendUrl) -> None:
    url = _text(call.services, op.url, "url")
    call.session.post(call.ctx, call.user.id, MessageType.PUSH_URL, agents_only=False, url=url)


@handles(rq.SendCustomNotice)
async def send_custom_notice(call: Call, op: rq.SendCustomNotice) -> None:
    notice = _text(call.services, op.noticeText, "noticeText")
    call.session.post(
        call.ctx, call.user.id, MessageType.CUSTOM_NOTICE, agents_only=False, notice_text=notice
    )


@handles(rq.SendCustomNoticeToAgents)
async def send_custom_notice_to_agents(call: Call, op: rq.SendCustomNoticeToAgents) -> None:
    notice = _text(call.services, op.noticeText, "noticeText")
    call.session.post(call.ctx, call.user.id, MessageType.CUSTOM_NOTICE, agents_only=True, notice_text=notice)


@handles(rq.SendStartTypingNotification)
async def send_start_typing_notification(call: Call, op: rq.SendStartTypingNotification) -> None:
    call.session.post(call.ctx, call.user.id, MessageType.TYPING_STARTED, agents_only=False)


@handles(rq.SendStopTypingNotification)
async def send_stop_typing_notification(call: Call, op: rq.SendStopTypingNotification) -> None:
    call.session.post(call.ctx, call.user.id, MessageType.TYPING_STOPPED, agents_only=False)


@handles(rq.SendStartTypingToAgentsNotification)
async def send_start_typing_to_agents_notification(
    call: Call, op: rq.SendStartTypingToAgentsNotification
) -> None:
    call.session.post(call.ctx, call.user.id, MessageType.TYPING_STARTED, agents_only=True)


@handles(rq.SendStopTypingToAgentsNotification)
async def send_stop_typing_to_agents_notification(
    call: Call, op: rq.SendStopTypingToAgentsNotification
) -> None:
    call.session.post(call.ctx, call.user.id, MessageType.TYPING_STOPPED, agents_only=True)


# ----- supervisors in the session --------------------------------------------------------------------


@handles(rq.SwitchToMonitor)
async def switch_to_monitor(call: Call, op: rq.SwitchToMonitor) -> None:
    call.session.switch_supervision(call.ctx, call.user.id, SupervisionMode.MONITOR)


@handles(rq.SwitchToCoach)
async def switch_to_coach(call: Call, op: rq.SwitchToCoach) -> None:
    call.session.switch_supervision(call.ctx, call.user.id, SupervisionMode.COACH)


@handles(rq.SwitchToBargeIn)
async def switch_to_barge_in(call: Call, op: rq.SwitchToBargeIn) -> None:
    call.session.switch_supervision(call.ctx, call.user.id, SupervisionMode.BARGE_IN)


assert set(HANDLERS) == set(rq.SMS_SESSION_OPERATIONS.values()), "every SMS operation needs a handler"
