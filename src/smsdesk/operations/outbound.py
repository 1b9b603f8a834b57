"""Sending agents' messages to customers' handsets.

A message is stored (in the same transaction as the agent's operation) before any attempt, then
sent here outside any transaction; transient failures are retried with exponential backoff and a
message that cannot go is marked failed with the reason. Nothing an agent sent is lost.
"""

from __future__ import annotations

import logging

from smsdesk.domain.clock import now_ms
from smsdesk.operations.background import BackgroundLoop
from smsdesk.operations.delivery import record_delivery
from smsdesk.operations.ports import OutboundRecord
from smsdesk.operations.services import Services
from smsdesk.operations.sms_ports import OutboundSms, SmsConnector, SmsSendError

log = logging.getLogger("smsdesk.outbound")


class SmsDispatcher:
    def __init__(
        self, services: Services, connectors: dict[str, SmsConnector], default_connector: str
    ) -> None:
        self.services = services
        self.connectors = connectors
        self.default_connector = default_connector
        # Woken when a message is queued; otherwise due when the soonest retry is (send_due says).
        self._loop = BackgroundLoop("smsdesk-sms-dispatcher", self._step, 60.0, log)
        services.on_sms_enqueued.append(self._loop.wake)

    def start(self) -> None:
        self._loop.start()

    def wake(self) -> None:
        self._loop.wake()

    async def stop(self) -> None:
        await self._loop.stop()

    async def _step(self) -> float | None:
        await self.send_due()
        async with self.services.store.transaction() as tx:
            next_ms = await tx.outbound.next_attempt_ms()
        return None if next_ms is None else (next_ms - now_ms()) / 1000

    async def send_due(self) -> int:
        async with self.services.store.transaction() as tx:
            due = await tx.outbound.due(now_ms(), 100)
        for record in due:
            await self._send_one(record)
        return len(due)

    async def _send_one(self, record: OutboundRecord) -> None:
        settings = self.services.settings
        async with self.services.work() as work:
            number = await work.tx.service_numbers.get(record.service_number)
            opted_out = await work.tx.consent.opted_out(record.service_number, record.customer_number)
            if opted_out:
                # Consent is checked again at the last moment: a STOP may have arrived after the agent sent.
                await record_delivery(
                    self.services, work, record, status="failed", error="the customer opted out (STOP)"
                )
                log.info("SMS %s to %s not sent: the customer opted out", record.id, record.customer_number)
                return
        connector_name = number.connector if number else self.default_connector
        connector = self.connectors.get(connector_name)
        attempts = record.attempts + 1
        status, provider_id, error, error_code, next_attempt = "accepted", None, None, None, 0
        try:
            if connector is None:
                raise SmsSendError(f"no connector named {connector_name!r} is configured", transient=False)
            accepted = await connector.send(
                OutboundSms(record.id, record.service_number, record.customer_number, record.text)
            )
            provider_id = accepted.provider_message_id
            log.info(
                "SMS %s to %s accepted by %s as %s",
                record.id,
                record.customer_number,
                connector_name,
                provider_id,
            )
        except Exception as exc:  # a connector bug must not lose the message nor be retried forever
            failure = (
                exc
                if isinstance(exc, SmsSendError)
                else SmsSendError(f"connector error: {exc}", transient=True)
            )
            if not isinstance(exc, SmsSendError):
                log.exception("connector %s raised while sending SMS %s", connector_name, record.id)
            error, error_code = failure.reason, failure.error_code
            if failure.transient and attempts < settings.sms_max_attempts:
                status = "pending"
                delay = min(settings.sms_retry_initial_ms * 2 ** (attempts - 1), settings.sms_retry_max_ms)
                next_attempt = now_ms() + delay
                log.warning(
                    "SMS %s to %s not sent (%s); retry in %d ms",
                    record.id,
                    record.customer_number,
                    error,
                    delay,
                )
            else:
                status = "failed"
                log.error("SMS %s to %s failed: %s", record.id, record.customer_number, error)
        outcome = "retry" if status == "pending" else status
        for observe in self.services.on_sms_attempt:
            observe(connector_name, outcome)
        async with self.services.work() as work:
            await record_delivery(
                self.services,
                work,
                record,
                status=status,
                attempts=attempts,
                next_attempt_ms=next_attempt,
                provider_message_id=provider_id,
                connector=connector_name,
                error=error,
                error_code=error_code,
            )
