"""SMS arriving from customers (and what carriers report): the :class:`SmsEvents` every connector calls."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace

from smsdesk.domain.clock import now_ms
from smsdesk.domain.consent import OPTED_IN_NOTICE, OPTED_OUT_NOTICE, ConsentChange
from smsdesk.domain.model import DomainContext
from smsdesk.domain.session import SmsSession
from smsdesk.operations import opening_hours
from smsdesk.operations.delivery import record_delivery
from smsdesk.operations.notify import publish_session_change
from smsdesk.operations.ports import Transaction
from smsdesk.operations.ratelimit import Rate, TokenBuckets
from smsdesk.operations.services import Services, new_session_id
from smsdesk.operations.sms_ports import DeliveryReceipt, InboundSms, OptOutSignal

log = logging.getLogger("smsdesk.intake")


class UnknownServiceNumber(Exception):
    pass


EARLY_REPORT_WAIT_S = 10.0
"""How long a report about a message smsdesk has no id for waits while sends are in flight: a
provider may report on a message (Twilio's status callback) before its API's answer, which carries
the message's id, has reached smsdesk and been stored."""
EARLY_REPORT_POLL_S = 0.1


class _SendsInFlight(Exception):
    """The report's message is unknown, but messages are being sent: it may be one of them."""


async def _patiently(handle: Callable[[bool], Awaitable[None]]) -> None:
    """``handle(may_wait)``, again while it raises :class:`_SendsInFlight`, for at most
    EARLY_REPORT_WAIT_S; the last try may not wait (the report is then unknown)."""
    deadline = time.monotonic() + EARLY_REPORT_WAIT_S
    while True:
        try:
            await handle(time.monotonic() < deadline)
            return
        except _SendsInFlight:
            await asyncio.sleep(EARLY_REPORT_POLL_S)


async def _unknown_for_now(tx: Transaction, may_wait: bool) -> None:
    """A report's message is not known: raises :class:`_SendsInFlight` (the transaction is rolled
    back, its idempotency key with it) when a send may be about to store its id."""
    if may_wait and await tx.outbound.due(now_ms(), 1):
        raise _SendsInFlight()


class SmsIntake:
    def __init__(self, services: Services, limits: TokenBuckets | None = None) -> None:
        self.services = services
        # Per contact center, so one tenant's flood (or a provider replaying a backlog) cannot take
        # the database and the routing loop from the others. Raises RateLimited: the connector
        # answers with its protocol's "try again later" (HTTP 429, SMPP ESME_RTHROTTLED).
        self.limits = limits or TokenBuckets(Rate(0, 0), "contact center's incoming SMS")
        # Told of every report about a message smsdesk never sent: (connector, "receipt" | "opt-out").
        self.on_unknown_message: list[Callable[[str, str], None]] = []

    def _unknown_message(self, connector: str, report: str, message_id: str, what: str) -> None:
        """A report about a message smsdesk has no record of sending: recorded (a WARNING line, the
        ``smsdesk_sms_unknown_reports`` counter), answered as usual, and applied to nobody."""
        log.warning(
            "%s %s for message %s, which smsdesk never sent: ignored (%s)",
            connector,
            report,
            message_id,
            what,
        )
        for observe in self.on_unknown_message:
            observe(connector, report)

    async def inbound(self, sms: InboundSms) -> None:
        """Join the customer's open session, or open a new one in the number's queue. Idempotent on
        the provider's message id, so a carrier's retry never adds a second message. A STOP or START
        keyword also changes the customer's consent for this service number."""
        services = self.services
        async with services.work() as work:
            tx = work.tx
            number = await tx.service_numbers.get(sms.service_number)
            if number is None:
                log.warning("dropped an SMS to %s: not a configured service number", sms.service_number)
                raise UnknownServiceNumber(sms.service_number)
            self.limits.take(number.tenant_id)
            if sms.provider_message_id is not None and not await tx.inbound_seen.record(
                sms.connector, sms.provider_message_id
            ):
                log.info("ignored a duplicate of %s message %s", sms.connector, sms.provider_message_id)
                return
            ctx = services.domain_context()
            opted_out = await tx.consent.opted_out(number.number, sms.customer_number)
            change = services.settings.consent_keywords.classify(sms.text, opted_out)
            if change is not None:
                opted_out = change is ConsentChange.OPT_OUT
                await tx.consent.set(
                    number.number,
                    sms.customer_number,
                    opted_out=opted_out,
                    reason=sms.text.strip(),
                    now_ms=ctx.now_ms,
                )
                log.info(
                    "%s %s %s",
                    sms.customer_number,
                    "opted out of" if opted_out else "opted in to",
                    number.number,
                )
            record = await tx.sessions.open_for(number.tenant_id, number.number, sms.customer_number)
            if record is not None:
                session = SmsSession(record)
                session.customer_message(ctx, sms.text)
            else:
                session = SmsSession.open_inbound(
                    ctx,
                    session_id=new_session_id(),
                    tenant_id=number.tenant_id,
                    queue=number.queue,
                    service_number=number.number,
                    customer_number=sms.customer_number,
                    text=sms.text,
                    user_data={
                        "ServiceNumber": number.number,
                        "CustomerNumber": sms.customer_number,
                        "RTargetRequested": number.queue,
                        "RTenant": number.tenant_id,
                        "MediaType": "smssession",
                        "Origination": sms.connector,
                    },
                )
                log.info(
                    "new SMS session %s from %s in queue %s",
                    session.record.id,
                    sms.customer_number,
                    number.queue,
                )
            self._apply_consent(session, ctx, opted_out, change is not None, sms.text.strip())
            if record is not None and change is ConsentChange.OPT_OUT:
                session.abandon(ctx)  # opted out while waiting: nobody will ever be able to answer
            # A closed queue answers by itself (once per conversation).
            await opening_hours.on_customer_text(work, session, ctx)
            await publish_session_change(services, work, session)

    @staticmethod
    def _apply_consent(
        session: SmsSession, ctx: DomainContext, opted_out: bool, changed: bool, reason: str
    ) -> None:
        was_reachable = session.record.customer_reachable
        session.set_customer_reachable(not opted_out)
        if changed or was_reachable == opted_out:
            template = OPTED_OUT_NOTICE if opted_out else OPTED_IN_NOTICE
            session.notice(ctx, template.format(reason=reason))

    async def delivery_receipt(self, receipt: DeliveryReceipt) -> None:
        await _patiently(lambda may_wait: self._delivery_receipt(receipt, may_wait))

    async def _delivery_receipt(self, receipt: DeliveryReceipt, may_wait: bool) -> None:
        async with self.services.work() as work:
            if not await _first_time(work.tx, receipt.connector, receipt.idempotency_key):
                return
            record = await work.tx.outbound.by_provider_id(receipt.connector, receipt.provider_message_id)
            if record is None:
                await _unknown_for_now(work.tx, may_wait)
                self._unknown_message(
                    receipt.connector, "receipt", receipt.provider_message_id, f"status {receipt.state}"
                )
                return
            if record.status in _FINAL_DELIVERY and receipt.state == "accepted":
                return  # a late "sent"/"queued" callback must not undo a final state
            await record_delivery(
                self.services,
                work,
                record,
                status=receipt.state,
                error_code=receipt.error_code,
                error=f"carrier error {receipt.error_code}" if receipt.error_code else None,
            )
        log.info("SMS %s to %s: %s", record.id, record.customer_number, receipt.state)

    async def opt_out(self, signal: OptOutSignal) -> None:
        """The provider says the customer blocked (or unblocked) the number: same state as a keyword.
        A signal drawn from a message's failure counts only for a message smsdesk sent, and for the
        numbers it was sent between (not whatever the report names)."""
        await _patiently(lambda may_wait: self._opt_out(signal, may_wait))

    async def _opt_out(self, signal: OptOutSignal, may_wait: bool) -> None:
        async with self.services.work() as work:
            if not await _first_time(work.tx, signal.connector, signal.idempotency_key):
                return
            if signal.about_message is not None:
                sent = await work.tx.outbound.by_provider_id(signal.connector, signal.about_message)
                if sent is None:
                    await _unknown_for_now(work.tx, may_wait)
                    self._unknown_message(
                        signal.connector,
                        "opt-out",
                        signal.about_message,
                        f"no opt-out of {signal.customer_number} from {signal.service_number}",
                    )
                    return
                signal = replace(
                    signal, service_number=sent.service_number, customer_number=sent.customer_number
                )
            number = await work.tx.service_numbers.get(signal.service_number)
            if number is None:
                log.warning("opt-out signal for %s: not a configured service number", signal.service_number)
                return
            ctx = self.services.domain_context()
            was = await work.tx.consent.opted_out(number.number, signal.customer_number)
            await work.tx.consent.set(
                number.number,
                signal.customer_number,
                opted_out=signal.opted_out,
                reason=signal.reason or signal.connector,
                now_ms=ctx.now_ms,
            )
            record = await work.tx.sessions.open_for(number.tenant_id, number.number, signal.customer_number)
            if record is not None:
                session = SmsSession(record)
                self._apply_consent(
                    session,
                    ctx,
                    signal.opted_out,
                    was != signal.opted_out,
                    signal.reason or "reported by the carrier",
                )
                if signal.opted_out:
                    session.abandon(ctx)
                await publish_session_change(self.services, work, session)
        log.info(
            "%s reports %s %s for %s",
            signal.connector,
            signal.customer_number,
            "opted out" if signal.opted_out else "opted in",
            signal.service_number,
        )


async def _first_time(tx: Transaction, connector: str, key: str | None) -> bool:
    """Whether a replayable report is new. Keys share the table of inbound message ids: connectors
    prefix them (``status:``, ``opt-out:``), so they never collide with a provider's message id."""
    if key is None or await tx.inbound_seen.record(connector, key):
        return True
    log.info("ignored a replayed %s report %s", connector, key)
    return False


_FINAL_DELIVERY = frozenset({"delivered", "failed", "expired"})
