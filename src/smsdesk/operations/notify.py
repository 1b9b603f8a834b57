"""Turning a session change's effects into notifications (outbox rows) and outbound SMS.

Rule for ``referenceId``: the first notification the requesting agent receives because of its
request carries the request's referenceId; others do not (docs/gws-compatibility.md).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import msgspec

from smsdesk.domain.clock import now_ms
from smsdesk.domain.model import (
    LIVE_STATES,
    CustomerSmsRequested,
    Effect,
    HistoryDelivered,
    MessagesAdded,
    OperationFailed,
    ParticipantsChanged,
    PartyState,
    PropertiesChanged,
    RoutingRequested,
    StatusChanged,
    UserDataChanged,
    visible_to,
)
from smsdesk.domain.session import SmsSession
from smsdesk.domain.sms_encoding import analyse
from smsdesk.gws import notifications as payloads
from smsdesk.gws.representation import Urls, delivery_json, message_json, session_json
from smsdesk.operations.ports import Notification, UserDataAuditEntry
from smsdesk.operations.services import Services, Work
from smsdesk.operations.statistics import record_session_facts

_encode = msgspec.json.encode


class _Emitter:
    """What the handlers of one session change's effects share: the session, each recipient's
    rendered view of it (rendered once), the request's referenceId until it is used, and what the
    change as a whole says about ordering."""

    def __init__(self, work: Work, session: SmsSession, urls: Urls, requester: str | None, ref: int | None):
        self.work = work
        self.session = session
        self.urls = urls
        self.requester = requester
        self.reference_id = ref
        self._views: dict[str, dict[str, Any]] = {}
        self.position = 0
        """The index in ``session.effects`` of the effect being handled."""
        effects = session.effects
        self.parties = session.record.parties
        self.chatting = [uid for uid, p in self.parties.items() if p.state is PartyState.CHATTING]
        self.outgoing = {
            e.message_index: analyse(e.text) for e in effects if isinstance(e, CustomerSmsRequested)
        }
        # Someone who joins in this change (a supervisor added when the agent accepts, say) gets the
        # participants with their StatusChange and the whole log, this change's entries included, with
        # their HistoryDelivered: no other effect of the change may reach them first, out of order, or twice.
        self.history_to = {e.user_id for e in effects if isinstance(e, HistoryDelivered)}
        self._status_at = {e.user_id: i for i, e in enumerate(effects) if isinstance(e, StatusChanged)}

    def status_change_follows(self, user_id: str) -> bool:
        """Whether a StatusChange to ``user_id`` comes later in this change (it will carry the news)."""
        return self._status_at.get(user_id, -1) > self.position

    def view(self, user_id: str) -> dict[str, Any]:
        view = self._views.get(user_id)
        if view is None:
            view = self._views[user_id] = session_json(self.session.record, user_id, self.urls)
        return view

    def take_reference(self, user_id: str) -> int | None:
        if user_id == self.requester and self.reference_id is not None:
            ref, self.reference_id = self.reference_id, None
            return ref
        return None

    def emit(self, user_id: str, data: dict[str, Any]) -> None:
        self.work.notify(
            Notification(self.session.record.tenant_id, user_id, payloads.SMS_TOPIC, _encode(data))
        )

    def state_change(self, user_id: str, notification_type: str) -> None:
        ref = self.take_reference(user_id)
        self.emit(user_id, payloads.session_state_change(notification_type, self.view(user_id), ref))

    def message_log(self, user_id: str, messages: list[dict[str, Any]]) -> None:
        record = self.session.record
        ref = self.take_reference(user_id)
        self.emit(
            user_id,
            payloads.message_log_updated(
                messages, self.urls.session(record.id), f"/smssessions/{record.id}", ref
            ),
        )


EffectHandler = Callable[[_Emitter, Any], Awaitable[None]]
EFFECT_HANDLERS: dict[type[object], EffectHandler] = {}
"""One function per effect type, registered with :func:`handles`."""
_E = TypeVar("_E", bound=Effect)


def handles(effect_type: type[_E]) -> Callable[[Callable[[_Emitter, _E], Awaitable[None]]], EffectHandler]:
    def register(fn: Callable[[_Emitter, _E], Awaitable[None]]) -> EffectHandler:
        EFFECT_HANDLERS[effect_type] = fn
        return fn

    return register


async def publish_session_change(
    services: Services,
    work: Work,
    session: SmsSession,
    *,
    requester: str | None = None,
    reference_id: int | None = None,
) -> None:
    """Persist the session and its new log entries, then write its effects as notifications and SMS,
    in the order the domain listed them."""
    record = session.record
    tx = work.tx
    deadline = session.next_deadline_ms()
    await tx.sessions.save(record, deadline, session.parties_changed())
    if deadline is not None and session.parties_changed():
        # An offer went out (routing's, or an agent's Invite, Transfer, Consult or a supervisor's
        # Intrude): the router, which sleeps until the soonest deadline, must know of it.
        work.routing_tenants.add(record.tenant_id)
    await record_session_facts(services, work, session)
    if session.new_messages:
        await tx.messages.append(record.id, session.new_messages)
    emitter = _Emitter(work, session, services.urls, requester, reference_id)
    for position, effect in enumerate(session.effects):
        emitter.position = position
        await EFFECT_HANDLERS[type(effect)](emitter, effect)


@handles(StatusChanged)
async def _status_changed(emitter: _Emitter, effect: StatusChanged) -> None:
    emitter.state_change(effect.user_id, "StatusChange")


@handles(ParticipantsChanged)
async def _participants_changed(emitter: _Emitter, effect: ParticipantsChanged) -> None:
    for user_id in emitter.chatting:
        if emitter.status_change_follows(user_id):
            continue
        if not effect.supervisors_only or emitter.parties[user_id].supervision is not None:
            emitter.state_change(user_id, "ParticipantsUpdated")


@handles(PropertiesChanged)
async def _properties_changed(emitter: _Emitter, effect: PropertiesChanged) -> None:
    parties = emitter.parties
    audience = [effect.only] if effect.only else [u for u, p in parties.items() if p.state in LIVE_STATES]
    for user_id in audience:
        emitter.state_change(user_id, "PropertiesUpdated")


@handles(MessagesAdded)
async def _messages_added(emitter: _Emitter, effect: MessagesAdded) -> None:
    entries = [message_json(m, emitter.urls) for m in effect.messages]
    for entry in entries:
        sms = emitter.outgoing.get(entry["index"])
        if sms is not None:
            entry["delivery"] = delivery_json(
                "pending",
                encoding=sms.encoding,
                segments=sms.segments,
                attempts=0,
                error_code=None,
                reason=None,
            )
    parties = emitter.parties
    for user_id in emitter.chatting:
        if user_id != effect.exclude and user_id not in emitter.history_to:
            seen = [
                entry
                for entry, message in zip(entries, effect.messages, strict=True)
                if visible_to(message.visibility, parties[user_id])
            ]
            if seen:
                emitter.message_log(user_id, seen)


@handles(HistoryDelivered)
async def _history_delivered(emitter: _Emitter, effect: HistoryDelivered) -> None:
    tx = emitter.work.tx
    history = await tx.messages.read(emitter.session.record.id, 1, 0)
    viewer = emitter.parties.get(effect.user_id)
    emitter.message_log(
        effect.user_id,
        [message_json(m, emitter.urls) for m in history if visible_to(m.visibility, viewer)],
    )


@handles(OperationFailed)
async def _operation_failed(emitter: _Emitter, effect: OperationFailed) -> None:
    ref = emitter.take_reference(effect.user_id)
    emitter.emit(
        effect.user_id,
        payloads.session_error(effect.error_message, emitter.view(effect.user_id), ref),
    )


@handles(CustomerSmsRequested)
async def _customer_sms_requested(emitter: _Emitter, effect: CustomerSmsRequested) -> None:
    session, record, tx = emitter.session, emitter.session.record, emitter.work.tx
    sms = emitter.outgoing[effect.message_index]
    await tx.outbound.enqueue(
        record.tenant_id,
        record.id,
        effect.message_index,
        record.service_number,
        record.customer_number,
        effect.text,
        session.new_messages[-1].timestamp_ms if session.new_messages else 0,
        sms.encoding,
        sms.segments,
    )
    emitter.work.sms_enqueued = True


@handles(RoutingRequested)
async def _routing_requested(emitter: _Emitter, effect: RoutingRequested) -> None:
    emitter.work.routing_tenants.add(emitter.session.record.tenant_id)


@handles(UserDataChanged)
async def _user_data_changed(emitter: _Emitter, effect: UserDataChanged) -> None:
    record, tx = emitter.session.record, emitter.work.tx
    changed_ms = now_ms()
    await tx.user_data_audit.append(
        [
            UserDataAuditEntry(
                record.tenant_id,
                record.id,
                effect.version,
                change.key,
                effect.operation,
                effect.user_id,
                None if change.old is None else _encode(change.old).decode(),
                None if change.new is None else _encode(change.new).decode(),
                changed_ms,
            )
            for change in effect.changes
        ]
    )
