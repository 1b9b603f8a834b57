"""Sending agents' messages to customers' handsets.

A message is stored (in the same transaction as the agent's operation) before any attempt, then
sent here outside any transaction; transient failures are retried with exponential backoff and a
message that cannot go is marked failed with the reason. Nothing an agent sent is lost.
"""

from __future__ import annotations

import logging

from smsdesk.gws.representation import now_ms
from smsdesk.operations.background import BackgroundLoop
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
        self._loop = BackgroundLoop("smsdesk-sms-dispatcher", self._step, 1.0, log)
        services.on_sms_enqueued.append(self._loop.wake)

    def start(self) -> None:
        self._loop.start()

    async def stop(self) -> None:
        await self._loop.stop()

    async def _step(self) -> None:
        await self.send_due()

    async def send_due(self) -> int:
        settings = self.services.settings
        async with self.services.store.transaction() as tx:
            due = await tx.due_outbound(now_ms(), 100)
        for record in due:
            async with self.services.store.transaction() as tx:
                number = await tx.service_number(record.service_number)
            connector = self.connectors.get(number.connector if number else self.default_connector)
            attempts = record.attempts + 1
            status, provider_id, error, next_attempt = "accepted", None, None, 0
            try:
                if connector is None:
                    raise SmsSendError("no connector configured for this service number", transient=False)
                accepted = await connector.send(
                    OutboundSms(record.id, record.service_number, record.customer_number, record.text)
                )
                provider_id = accepted.provider_message_id
            except Exception as exc:  # a connector bug must not be retried forever, nor lose the message
                if not isinstance(exc, SmsSendError):
                    log.exception("connector %s raised while sending SMS %s", number, record.id)
                    exc = SmsSendError(f"connector error: {exc}", transient=True)
                error = exc.reason if exc.error_code is None else f"{exc.reason} ({exc.error_code})"
                if exc.transient and attempts < settings.sms_max_attempts:
                    status = "pending"
                    delay = min(
                        settings.sms_retry_initial_ms * 2 ** (attempts - 1), settings.sms_retry_max_ms
                    )
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
            async with self.services.store.transaction() as tx:
                await tx.update_outbound(
                    record.id,
                    status=status,
                    attempts=attempts,
                    next_attempt_ms=next_attempt,
                    provider_message_id=provider_id,
                    error=error,
                )
        return len(due)
