"""The built-in SMS simulator: plays the customers' handsets.

Inbound: ``POST /simulator/sms`` hands an SMS to intake exactly as a carrier connector would.
Outbound: ``send`` drops the message into the destination handset's inbox, which
``GET /simulator/sms?number=N`` lists. The handsets live in a :class:`HandsetBook`: the database
when the server runs it (so every node of a cluster shows the same ones: they are the customers'
phones), or :class:`MemoryHandsets` (a demo and test tool, either way).
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import defaultdict

from smsdesk.domain.sms_encoding import analyse
from smsdesk.operations import phone_numbers
from smsdesk.operations.sms_ports import (
    DeliveryReceipt,
    HandsetBook,
    HandsetFailure,
    HandsetMessage,
    InboundSms,
    OptOutSignal,
    OutboundSms,
    SendAccepted,
    SmsEvents,
    SmsSendError,
)


class MemoryHandsets:
    """A :class:`HandsetBook` in this process's memory."""

    def __init__(self) -> None:
        self._inboxes: dict[str, list[HandsetMessage]] = defaultdict(list)
        self._failures: dict[str, HandsetFailure] = {}
        self._ids = itertools.count(1)

    async def receive(self, sender: str, recipient: str, text: str, received_ms: int, keep: int) -> str:
        message_id = f"SIM{next(self._ids):08d}"
        inbox = self._inboxes[recipient]
        inbox.append(HandsetMessage(message_id, sender, recipient, text, received_ms))
        del inbox[:-keep]
        return message_id

    async def messages(self, number: str) -> list[HandsetMessage]:
        return list(self._inboxes.get(number, ()))

    async def failure(self, number: str) -> HandsetFailure:
        return self._failures.get(number, "none")

    async def set_failure(self, number: str, failure: HandsetFailure) -> None:
        if failure == "none":
            self._failures.pop(number, None)
        else:
            self._failures[number] = failure


class SimulatorConnector:
    name = "simulator"

    def __init__(
        self,
        max_per_handset: int = 1_000,
        receipt_delay_s: float = 0.05,
        default_region: str = "",
        handsets: HandsetBook | None = None,
    ) -> None:
        self.default_region = default_region
        self.max_per_handset = max_per_handset
        self.receipt_delay_s = receipt_delay_s
        self.handsets: HandsetBook = handsets if handsets is not None else MemoryHandsets()
        self._tasks: set[asyncio.Task[None]] = set()
        self._events: SmsEvents | None = None

    async def start(self, events: SmsEvents) -> None:
        self._events = events

    async def stop(self) -> None:
        self._events = None

    async def set_failure(self, number: str, failure: HandsetFailure) -> None:
        """Make sends to a handset fail, to rehearse carrier trouble: ``transient`` (retried),
        ``permanent`` (refused, error 30003 "unreachable handset"), ``blocked`` (the customer
        blocked the number: error 21610 and an opt-out signal), or ``none``."""
        await self.handsets.set_failure(self._number(number), failure)

    async def send(self, sms: OutboundSms) -> SendAccepted:
        failure = await self.handsets.failure(sms.customer_number)
        if failure == "transient":
            raise SmsSendError("simulated carrier timeout", transient=True)
        if failure == "permanent":
            raise SmsSendError("simulated unreachable handset", transient=False, error_code="30003")
        if failure == "blocked":
            if self._events is not None:
                await self._events.opt_out(
                    OptOutSignal(
                        sms.service_number, sms.customer_number, True, self.name, "blocked by the customer"
                    )
                )
            raise SmsSendError("the customer blocked this number", transient=False, error_code="21610")
        message_id = await self.handsets.receive(
            sms.service_number, sms.customer_number, sms.text, _now_ms(), self.max_per_handset
        )
        # Like a carrier, report delivery a moment after accepting (never before the send is recorded).
        loop = asyncio.get_running_loop()
        loop.call_later(
            self.receipt_delay_s, lambda: self._tasks.add(loop.create_task(self._delivered(message_id)))
        )
        analysis = analyse(sms.text)
        return SendAccepted(
            provider_message_id=message_id, segments=analysis.segments, encoding=analysis.encoding
        )

    async def _delivered(self, message_id: str) -> None:
        try:
            if self._events is not None:
                await self._events.delivery_receipt(DeliveryReceipt(self.name, message_id, "delivered"))
        finally:
            self._tasks = {task for task in self._tasks if not task.done()}

    async def deliver_from_handset(
        self, sender: str, recipient: str, text: str, message_id: str | None
    ) -> None:
        """A customer's handset sends an SMS to a service number."""
        if self._events is None:
            raise RuntimeError("the simulator is not started")
        await self._events.inbound(
            InboundSms(
                service_number=self._number(recipient),
                customer_number=self._number(sender),
                text=text,
                connector=self.name,
                provider_message_id=message_id,
            )
        )

    async def handset(self, number: str) -> list[HandsetMessage]:
        return await self.handsets.messages(self._number(number))

    def _number(self, raw: str) -> str:
        # The handsets are keyed like every customer: in E.164 when the number can be read as one.
        return phone_numbers.normalise(raw, self.default_region) if raw.strip() else raw


def _now_ms() -> int:
    return time.time_ns() // 1_000_000
