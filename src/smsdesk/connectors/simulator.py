"""The built-in SMS simulator: plays the customers' handsets.

Inbound: ``POST /simulator/sms`` hands an SMS to intake exactly as a carrier connector would.
Outbound: ``send`` drops the message into the destination handset's inbox, which
``GET /simulator/sms?number=N`` lists. Inboxes live in memory (a demo and test tool).
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Literal

from smsdesk.domain.sms_encoding import analyse
from smsdesk.operations import phone_numbers
from smsdesk.operations.sms_ports import (
    DeliveryReceipt,
    InboundSms,
    OptOutSignal,
    OutboundSms,
    SendAccepted,
    SmsEvents,
    SmsSendError,
)

HandsetFailure = Literal["none", "transient", "permanent", "blocked"]


@dataclass(frozen=True, slots=True)
class HandsetMessage:
    id: str
    sender: str
    recipient: str
    text: str
    received_ms: int

    def as_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "from": self.sender,
            "to": self.recipient,
            "text": self.text,
            "receivedMs": self.received_ms,
        }


class SimulatorConnector:
    name = "simulator"

    def __init__(
        self, max_per_handset: int = 1_000, receipt_delay_s: float = 0.05, default_region: str = ""
    ) -> None:
        self.default_region = default_region
        self.max_per_handset = max_per_handset
        self.receipt_delay_s = receipt_delay_s
        self._tasks: set[asyncio.Task[None]] = set()
        self._failures: dict[str, HandsetFailure] = {}
        self._events: SmsEvents | None = None
        self._inboxes: dict[str, list[HandsetMessage]] = defaultdict(list)
        self._ids = itertools.count(1)

    async def start(self, events: SmsEvents) -> None:
        self._events = events

    async def stop(self) -> None:
        self._events = None

    def set_failure(self, number: str, failure: HandsetFailure) -> None:
        """Make sends to a handset fail, to rehearse carrier trouble: ``transient`` (retried),
        ``permanent`` (refused, error 30003 "unreachable handset"), ``blocked`` (the customer
        blocked the number: error 21610 and an opt-out signal), or ``none``."""
        number = self._number(number)
        if failure == "none":
            self._failures.pop(number, None)
        else:
            self._failures[number] = failure

    async def send(self, sms: OutboundSms) -> SendAccepted:
        failure = self._failures.get(sms.customer_number)
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
        message_id = f"SIM{next(self._ids):08d}"
        inbox = self._inboxes[sms.customer_number]
        inbox.append(HandsetMessage(message_id, sms.service_number, sms.customer_number, sms.text, _now_ms()))
        del inbox[: -self.max_per_handset]
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

    def handset(self, number: str) -> list[HandsetMessage]:
        return list(self._inboxes.get(self._number(number), ()))

    def _number(self, raw: str) -> str:
        # The handsets are keyed like every customer: in E.164 when the number can be read as one.
        return phone_numbers.normalise(raw, self.default_region) if raw.strip() else raw


def _now_ms() -> int:
    return time.time_ns() // 1_000_000
