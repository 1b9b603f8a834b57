"""**Extension**: a queue's opening hours and automatic replies.

- **Hours** (``domain/opening_hours.py``): while a queue is closed, routing offers none of its
  sessions; they stay queued and are offered when it opens (``when_closed = "queue"``, the
  default: the customer's question is answered, and nothing a customer wrote is dropped). With
  ``when_closed = "complete"`` a session that starts while the queue is closed ends after the
  closed reply instead, for contact centers that ask customers to write again.
- **Closed reply**: a customer who texts a closed queue gets it once per conversation (with
  ``complete``: once per closed spell, since each text opens a new conversation).
- **Waiting reply**: a customer who has waited ``waiting_after_s`` for an agent (while the queue is
  open) gets it once.

Replies go through the outbound path like an agent's message (stored, sent, retried, receipts,
consent re-checked before sending), appear in the transcript as the system's (``autoReply``) and are
counted in the queue's statistics. Settings are read from the database where they act (intake reads
the queue's row in its own transaction, routing each pass), and a change made with the CLI or the
API wakes routing at once. The background work (``QueueHoursWatch``) wakes routing when a queue
opens, at the time it opens, and sends the waiting replies: it looks every
``opening_hours_check_ms`` while some queue has a waiting reply, and otherwise only at the next
opening or closing, or when a change is made through its node (at the latest every
``IDLE_CHECK_S``, which bounds how long a change made through another node takes to be seen
there), so a contact center without them costs nothing when idle.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace
from typing import Any, Protocol

from smsdesk.domain import placeholders
from smsdesk.domain.clock import now_ms
from smsdesk.domain.errors import DomainError, ErrorKind, invalid_value, not_found
from smsdesk.domain.model import DomainContext, Phase, SessionRecord
from smsdesk.domain.opening_hours import HoursError, OpeningHours
from smsdesk.domain.session import SmsSession
from smsdesk.operations import access
from smsdesk.operations.audit import record_change
from smsdesk.operations.notify import publish_session_change
from smsdesk.operations.ports import QueueHours, Transaction, User
from smsdesk.operations.services import Services, Work

log = logging.getLogger("smsdesk.opening_hours")

WHEN_CLOSED = ("queue", "complete")
MAX_WAITING_AFTER_S = 7 * 86_400


class QueueSetup(Protocol):
    """One ``[queues.<name>]`` table of the settings file (``config.QueueSetting``), checked when
    the settings were loaded."""

    @property
    def queue(self) -> str: ...
    @property
    def tenant(self) -> str: ...
    @property
    def timezone(self) -> str | None: ...
    @property
    def weekly(self) -> str | None: ...
    @property
    def closed_dates(self) -> tuple[str, ...]: ...
    @property
    def when_closed(self) -> str: ...
    @property
    def closed_reply(self) -> str | None: ...
    @property
    def waiting_reply(self) -> str | None: ...
    @property
    def waiting_after_s(self) -> int | None: ...


def parsed(stored: QueueHours | None) -> OpeningHours | None:
    """The stored hours, parsed (None: always open). Stored hours were checked when written."""
    if stored is None or stored.timezone is None or stored.weekly is None:
        return None
    try:
        return OpeningHours.parse(stored.timezone, stored.weekly, stored.closed_dates)
    except HoursError as error:  # a zone removed from the system's database since, say
        log.error(
            "queue %s of %s: opening hours unreadable (%s); treated as always open",
            stored.queue,
            stored.tenant_id,
            error,
        )
        return None


# ----- checking and storing ------------------------------------------------------------------------


def check_hours(timezone: str, weekly: str, closed_dates: Sequence[str], when_closed: str) -> OpeningHours:
    try:
        hours = OpeningHours.parse(timezone, weekly, tuple(closed_dates))
    except HoursError as error:
        raise invalid_value(f"Invalid opening hours: {error}") from None
    if when_closed not in WHEN_CLOSED:
        raise invalid_value(f"Invalid value for whenClosed: {when_closed!r} (queue or complete)")
    return hours


def check_replies(
    max_text_length: int, closed: str | None, waiting: str | None, waiting_after_s: int | None
) -> None:
    for name, text, known in (
        ("closed reply", closed, placeholders.CLOSED_REPLY_NAMES),
        ("waiting reply", waiting, placeholders.WAITING_REPLY_NAMES),
    ):
        if text is None:
            continue
        if not text.strip():
            raise DomainError(ErrorKind.MISSING_PARAMETER, f"The {name} is empty (leave it out to have none)")
        if len(text) > max_text_length:
            raise invalid_value(f"The {name} is longer than {max_text_length} characters (max_text_length)")
        placeholders.check(text, known, user_data=False, what=name)
    if waiting is not None and waiting_after_s is None:
        raise DomainError(
            ErrorKind.MISSING_PARAMETER, "A waiting reply needs the wait after which it is sent (seconds)"
        )
    if waiting_after_s is not None:
        if waiting is None:
            raise invalid_value("A wait (seconds) was given without a waiting reply")
        if not 1 <= waiting_after_s <= MAX_WAITING_AFTER_S:
            raise invalid_value(
                f"The wait before the waiting reply must be from 1 to {MAX_WAITING_AFTER_S} seconds"
            )


async def _stored(tx: Transaction, tenant_id: str, queue: str) -> QueueHours:
    return await tx.queue_hours.get(tenant_id, queue) or QueueHours(tenant_id, queue)


def _hours_snapshot(stored: QueueHours) -> dict[str, object] | None:
    """What the audit log keeps of a queue's opening hours (None: always open)."""
    if stored.weekly is None:
        return None
    return {
        "timezone": stored.timezone,
        "weekly": stored.weekly,
        "closedDates": list(stored.closed_dates),
        "whenClosed": stored.when_closed,
    }


def _replies_snapshot(stored: QueueHours) -> dict[str, object]:
    return {
        "closed": stored.closed_reply,
        "waiting": stored.waiting_reply,
        "waitingAfterSeconds": stored.waiting_after_s,
    }


async def _change(
    services: Services, tenant_id: str, queue: str, actor: User | None, replies: bool, **fields: Any
) -> QueueHours:
    """Replace ``fields`` of the queue's stored hours and replies, with the audit entry of the
    change (``queue.automaticReplies`` when ``replies``, else ``queue.openingHours``)."""
    async with services.work() as work:
        await _require_queue(work.tx, tenant_id, queue)
        before = await _stored(work.tx, tenant_id, queue)
        after = replace(before, **fields, updated_ms=now_ms())
        await work.tx.queue_hours.put(after)
        snapshot = _replies_snapshot if replies else _hours_snapshot
        action = "queue.automaticReplies" if replies else "queue.openingHours"
        await record_change(
            work.tx, tenant_id, actor, action, "queue", queue, snapshot(before), snapshot(after)
        )
    return after


async def set_hours(
    services: Services,
    tenant_id: str,
    queue: str,
    timezone: str,
    weekly: str,
    closed_dates: Sequence[str] = (),
    when_closed: str = "queue",
    actor: User | None = None,
) -> QueueHours:
    """``actor``: who sets them (None: the command line), for the audit log; the same below."""
    hours = check_hours(timezone, weekly, closed_dates, when_closed)
    stored = await _change(
        services,
        tenant_id,
        queue,
        actor,
        replies=False,
        timezone=hours.timezone,
        weekly=hours.weekly,
        closed_dates=tuple(sorted(d.isoformat() for d in hours.closed_dates)),
        when_closed=when_closed,
    )
    services.request_routing(tenant_id)  # a queue that opens with its new hours
    services.queue_hours_changed()
    log.info("queue %s of %s: opening hours %s (%s)", queue, tenant_id, hours.weekly, hours.timezone)
    return stored


async def clear_hours(
    services: Services, tenant_id: str, queue: str, actor: User | None = None
) -> QueueHours:
    stored = await _change(
        services,
        tenant_id,
        queue,
        actor,
        replies=False,
        timezone=None,
        weekly=None,
        closed_dates=(),
        when_closed="queue",
    )
    services.request_routing(tenant_id)  # a queue that opens with its new hours
    services.queue_hours_changed()
    log.info("queue %s of %s: no opening hours (always open)", queue, tenant_id)
    return stored


async def set_replies(
    services: Services,
    tenant_id: str,
    queue: str,
    closed: str | None,
    waiting: str | None,
    waiting_after_s: int | None,
    actor: User | None = None,
) -> QueueHours:
    check_replies(services.settings.max_text_length, closed, waiting, waiting_after_s)
    stored = await _change(
        services,
        tenant_id,
        queue,
        actor,
        replies=True,
        closed_reply=closed,
        waiting_reply=waiting,
        waiting_after_s=waiting_after_s,
    )
    services.queue_hours_changed()
    log.info(
        "queue %s of %s: automatic replies %s",
        queue,
        tenant_id,
        ", ".join(k for k, v in (("closed", closed), ("waiting", waiting)) if v) or "none",
    )
    return stored


async def _require_queue(tx: Transaction, tenant_id: str, queue: str) -> None:
    if not await tx.queues.exists(tenant_id, queue):
        raise not_found(f"Queue not found in {tenant_id}: {queue}")


async def read(services: Services, tenant_id: str, queue: str) -> QueueHours:
    async with services.store.transaction() as tx:
        await _require_queue(tx, tenant_id, queue)
        return await _stored(tx, tenant_id, queue)


async def apply_settings(services: Services, setups: Sequence[QueueSetup]) -> None:
    """The settings file's ``[queues.<name>]`` tables, at every start: each replaces what is stored
    for its queue (queues it does not name keep what the CLI or the API set). Checked when the
    settings were loaded; a contact center that does not exist is reported and skipped."""
    for setup in setups:
        async with services.work() as work:
            tenant_id = await work.tx.tenants.by_name(setup.tenant)
            if tenant_id is None:
                log.warning(
                    "settings: [queues.%s]: contact center %s does not exist; not applied",
                    setup.queue,
                    setup.tenant,
                )
                continue
            await work.tx.queues.ensure(tenant_id, setup.queue, [])
            await work.tx.queue_hours.put(
                QueueHours(
                    tenant_id,
                    setup.queue,
                    setup.timezone,
                    setup.weekly,
                    setup.closed_dates,
                    setup.when_closed,
                    setup.closed_reply,
                    setup.waiting_reply,
                    setup.waiting_after_s,
                    now_ms(),
                )
            )
        log.info(
            "settings: opening hours and automatic replies of queue %s of %s applied",
            setup.queue,
            setup.tenant,
        )


# ----- the API for supervisors and administrators --------------------------------------------------


async def managed(services: Services, user: User) -> list[QueueHours]:
    async with services.store.transaction() as tx:
        return [await _stored(tx, user.tenant_id, queue) for queue in await access.managed_queues(tx, user)]


async def managed_one(services: Services, user: User, queue: str) -> QueueHours:
    async with services.store.transaction() as tx:
        await access.managed_queue(tx, user, queue)
        return await _stored(tx, user.tenant_id, queue)


async def _may_manage(services: Services, user: User, queue: str) -> None:
    async with services.store.transaction() as tx:
        await access.managed_queue(tx, user, queue)


async def put_hours(
    services: Services,
    user: User,
    queue: str,
    timezone: str,
    weekly: str,
    closed_dates: Sequence[str],
    when_closed: str,
) -> QueueHours:
    await _may_manage(services, user, queue)
    stored = await set_hours(
        services, user.tenant_id, queue, timezone, weekly, closed_dates, when_closed, actor=user
    )
    log.info("opening hours of queue %s changed by %s", queue, user.user_name)
    return stored


async def delete_hours(services: Services, user: User, queue: str) -> QueueHours:
    await _may_manage(services, user, queue)
    return await clear_hours(services, user.tenant_id, queue, actor=user)


async def put_replies(
    services: Services,
    user: User,
    queue: str,
    closed: str | None,
    waiting: str | None,
    waiting_after_s: int | None,
) -> QueueHours:
    await _may_manage(services, user, queue)
    return await set_replies(services, user.tenant_id, queue, closed, waiting, waiting_after_s, actor=user)


# ----- acting on them --------------------------------------------------------------------------------


async def closed_queues(tx: Transaction, tenant_id: str, at_ms: int) -> set[str]:
    """The contact center's queues that are closed now (routing offers none of their sessions)."""
    closed = set()
    for stored in await tx.queue_hours.of_tenant(tenant_id):
        hours = parsed(stored)
        if hours is not None and not hours.is_open(at_ms):
            closed.add(stored.queue)
    return closed


async def _queue_text(
    tx: Transaction,
    template: str,
    record: SessionRecord,
    hours: OpeningHours | None,
    at_ms: int,
    what: str,
    position: int | None = None,
) -> str | None:
    """An automatic reply's text for this session, or None (logged) when a placeholder has no value."""
    names = placeholders.names_in(template)
    values: dict[str, str | None] = {
        "customer.phoneNumber": record.customer_number,
        "queue.name": record.queue,
    }
    if "queue.position" in names:
        if position is None:
            waiting = await tx.sessions.waiting(record.tenant_id, record.queue)
            position = waiting.index(record.id) + 1 if record.id in waiting else len(waiting) + 1
        values["queue.position"] = str(position)
    if "queue.opensAt" in names:
        values["queue.opensAt"] = hours.describe_opening(at_ms) if hours is not None else None
    try:
        return placeholders.fill(template, values.get, what)
    except DomainError as error:
        log.warning(
            "queue %s of %s: %s; not sent to %s",
            record.queue,
            record.tenant_id,
            error.message,
            record.customer_number,
        )
        return None


async def on_customer_text(work: Work, session: SmsSession, ctx: DomainContext) -> None:
    """A customer texted into ``session`` (new or waiting): while its queue is closed, the closed
    reply (once per conversation), and with ``complete`` a new session ends there."""
    record = session.record
    if record.phase is not Phase.WAITING:
        return
    tx = work.tx
    stored = await tx.queue_hours.get(record.tenant_id, record.queue)
    hours = parsed(stored)
    if stored is None or hours is None or hours.is_open(ctx.now_ms):
        return
    new = session.loaded is None
    wants_reply = (
        bool(stored.closed_reply) and "closed" not in record.auto_replies and record.customer_reachable
    )
    # With "complete" each text is a new conversation: one reply per customer while it stays closed.
    if wants_reply and stored.when_closed == "complete":
        wants_reply = not await _replied_this_closed_spell(tx, record, hours, ctx.now_ms)
    if wants_reply and stored.closed_reply:
        text = await _queue_text(tx, stored.closed_reply, record, hours, ctx.now_ms, "the closed reply")
        if text is not None and session.auto_reply(ctx, "closed", text) is not None:
            log.info(
                "queue %s is closed: closed reply to %s (session %s)",
                record.queue,
                record.customer_number,
                record.id,
            )
    if stored.when_closed == "complete" and new:
        session.close_unanswered(ctx)
        log.info(
            "queue %s is closed: session %s of %s ended unanswered",
            record.queue,
            record.id,
            record.customer_number,
        )


async def _replied_this_closed_spell(
    tx: Transaction, record: SessionRecord, hours: OpeningHours, at_ms: int
) -> bool:
    """With ``complete`` each text is a new conversation: the customer got the closed reply already
    since the queue closed."""
    since = hours.closed_since_ms(at_ms) or 0
    earlier, _ = await tx.sessions.of_customer(record.tenant_id, record.customer_number, at_ms + 1, 0, 5)
    return any(
        "closed" in e.auto_replies
        and e.queue == record.queue
        and e.received_ms >= since
        and e.id != record.id
        for e in earlier
    )


IDLE_CHECK_S = 60.0
"""The longest the watch sleeps: hours changed on another node are seen within this."""


class QueueHoursWatch:
    """The background work's side (one node of a cluster): it reads every queue's hours and replies,
    wakes routing for a queue that opened (or whose hours changed), and sends the waiting replies
    that are due. ``step`` says when it is next due: ``check_s`` while a queue has a waiting reply,
    otherwise the next opening or closing."""

    def __init__(self, services: Services, check_s: float) -> None:
        self.services = services
        self.check_s = check_s
        self._open: dict[tuple[str, str], bool] = {}
        self._versions: dict[tuple[str, str], int] = {}

    async def step(self) -> float | None:
        now = now_ms()
        async with self.services.store.transaction() as tx:
            rows = await tx.queue_hours.all()
        wake: set[str] = set()
        seen: set[tuple[str, str]] = set()
        next_ms: int | None = None
        for stored in rows:
            key = (stored.tenant_id, stored.queue)
            seen.add(key)
            hours = parsed(stored)
            is_open = hours is None or hours.is_open(now)
            was_open = self._open.get(key)
            if was_open is not None and was_open != is_open:
                log.info(
                    "queue %s of %s is %s now (opening hours)",
                    stored.queue,
                    stored.tenant_id,
                    "open" if is_open else "closed",
                )
            if is_open and (was_open is not True or self._versions.get(key) != stored.updated_ms):
                wake.add(stored.tenant_id)
            self._open[key] = is_open
            self._versions[key] = stored.updated_ms
            if stored.waiting_reply and stored.waiting_after_s:
                check_ms = now + int(self.check_s * 1000)
                next_ms = check_ms if next_ms is None else min(next_ms, check_ms)
                if is_open:
                    await self._waiting_replies(stored, hours, now)
            if hours is not None:
                period = hours.current_period(now)
                change = period[1] if period is not None else hours.next_opening_ms(now)
                if change is not None:
                    next_ms = change if next_ms is None else min(next_ms, change)
        for key in set(self._open) - seen:
            del self._open[key]
            self._versions.pop(key, None)
            wake.add(key[0])
        for tenant_id in sorted(wake):
            self.services.request_routing(tenant_id)
        # Just past the change, so that the queue is open (or closed) when the watch looks.
        return None if next_ms is None else max(0.0, (next_ms - now) / 1000) + 0.05

    async def _waiting_replies(self, stored: QueueHours, hours: OpeningHours | None, now: int) -> None:
        assert stored.waiting_reply is not None and stored.waiting_after_s is not None
        cutoff = now - stored.waiting_after_s * 1000
        period = hours.current_period(now) if hours is not None else None
        opened = period[0] if period is not None else 0
        if opened > cutoff:
            return  # open for less than the wait: nobody has waited that long while it was open
        services = self.services
        async with services.store.transaction() as tx:
            due = await tx.sessions.awaiting_waiting_reply(stored.tenant_id, stored.queue, cutoff)
            order = await tx.sessions.waiting(stored.tenant_id, stored.queue) if due else []
        for session_id in due:
            async with services.work() as work:
                record = await work.tx.sessions.load(stored.tenant_id, session_id)
                if record is None or record.phase is not Phase.WAITING or record.queue != stored.queue:
                    continue
                waited_from = max(record.waiting_since_ms or record.received_ms, opened)
                if waited_from > cutoff or "waiting" in record.auto_replies:
                    continue
                session = SmsSession(record)
                position = order.index(record.id) + 1 if record.id in order else None
                text = await _queue_text(
                    work.tx, stored.waiting_reply, record, hours, now, "the waiting reply", position
                )
                if text is None or session.auto_reply(services.domain_context(), "waiting", text) is None:
                    continue
                await publish_session_change(services, work, session)
            log.info(
                "queue %s: waiting reply to %s (session %s)", stored.queue, record.customer_number, record.id
            )
