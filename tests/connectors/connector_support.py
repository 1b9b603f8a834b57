"""Shared helpers for the connector tests: an SmsEvents that records, loopback port picking, and
the text of an SMPP delivery receipt."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from dataclasses import dataclass, field

from smsdesk.operations.sms_ports import DeliveryReceipt, InboundSms, OptOutSignal


@dataclass
class RecordingEvents:
    """Records what a connector reports, in order, and lets a test wait for it."""

    inbound_messages: list[InboundSms] = field(default_factory=list)
    receipts: list[DeliveryReceipt] = field(default_factory=list)
    opt_outs: list[OptOutSignal] = field(default_factory=list)
    _changed: asyncio.Event | None = None

    def _notify(self) -> None:
        if self._changed is not None:
            self._changed.set()

    async def inbound(self, sms: InboundSms) -> None:
        self.inbound_messages.append(sms)
        self._notify()

    async def delivery_receipt(self, receipt: DeliveryReceipt) -> None:
        self.receipts.append(receipt)
        self._notify()

    async def opt_out(self, signal: OptOutSignal) -> None:
        self.opt_outs.append(signal)
        self._notify()

    async def wait_until(self, condition: Callable[[], bool], limit_seconds: float = 10.0) -> None:
        """Wait (on the running loop) until ``condition()`` holds; fail after ``limit_seconds``."""
        async with asyncio.timeout(limit_seconds):
            while not condition():
                self._changed = asyncio.Event()
                if condition():
                    break
                await self._changed.wait()


def free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def receipt_text(message_id: str, stat: str, err: str = "000") -> bytes:
    return (
        f"id:{message_id} sub:001 dlvrd:001 submit date:2601011200 done date:2601011201 "
        f"stat:{stat} err:{err} text:hello"
    ).encode()
