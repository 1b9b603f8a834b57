"""SMS arriving from customers (and what carriers report): the :class:`SmsEvents` every connector calls."""

from __future__ import annotations

import logging

from smsdesk.domain.session import SmsSession
from smsdesk.operations.notify import publish_session_change
from smsdesk.operations.services import Services, new_session_id
from smsdesk.operations.sms_ports import DeliveryReceipt, InboundSms, OptOutSignal

log = logging.getLogger("smsdesk.intake")


class UnknownServiceNumber(Exception):
    pass


class SmsIntake:
    def __init__(self, services: Services) -> None:
        self.services = services

    async def inbound(self, sms: InboundSms) -> None:
        """Join the customer's open session, or open a new one in the number's queue. Idempotent on
        the provider's message id, so a carrier's retry never adds a second message."""
        services = self.services
        async with services.work() as work:
            tx = work.tx
            number = await tx.service_number(sms.service_number)
            if number is None:
                log.warning("dropped an SMS to %s: not a configured service number", sms.service_number)
                raise UnknownServiceNumber(sms.service_number)
            if sms.provider_message_id is not None and not await tx.record_inbound_id(
                sms.connector, sms.provider_message_id
            ):
                log.info("ignored a duplicate of %s message %s", sms.connector, sms.provider_message_id)
                return
            ctx = services.domain_context()
            record = await tx.open_session_for(number.tenant_id, number.number, sms.customer_number)
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
            await publish_session_change(services, work, session)

    async def delivery_receipt(self, receipt: DeliveryReceipt) -> None:
        log.info(
            "delivery receipt from %s for %s: %s",
            receipt.connector,
            receipt.provider_message_id,
            receipt.state,
        )

    async def opt_out(self, signal: OptOutSignal) -> None:
        log.info(
            "%s reports %s %s for %s",
            signal.connector,
            signal.customer_number,
            "opted out" if signal.opted_out else "opted in",
            signal.service_number,
        )
