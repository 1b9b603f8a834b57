"""The SMS transport port: what every connector (simulator, HTTP provider, SMPP) speaks.

Connectors live in ``smsdesk.connectors`` and implement :class:`SmsConnector`; the
operations layer implements :class:`SmsEvents` and hands it to each connector at start.
Every connector normalises its carrier's traffic to the same four events.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

DeliveryState = Literal["accepted", "delivered", "failed", "expired"]


@dataclass(frozen=True, slots=True)
class InboundSms:
    """A mobile-originated SMS, already joined if it arrived in concatenated parts."""

    service_number: str
    customer_number: str
    text: str
    connector: str
    # The provider's id for the message; intake is idempotent on (connector, provider_message_id).
    provider_message_id: str | None = None


@dataclass(frozen=True, slots=True)
class OutboundSms:
    """A mobile-terminated SMS the server has already stored and now asks a connector to send."""

    outbound_id: int
    service_number: str
    customer_number: str
    text: str


@dataclass(frozen=True, slots=True)
class SendAccepted:
    """The provider took the message; receipts will refer to ``provider_message_id``."""

    provider_message_id: str
    segments: int = 1
    encoding: str = "GSM-7"


@dataclass(frozen=True, slots=True)
class DeliveryReceipt:
    connector: str
    provider_message_id: str
    state: DeliveryState
    error_code: str | None = None
    # Set by connectors whose reports can be replayed (signed webhooks): intake acts on each key once.
    idempotency_key: str | None = None


@dataclass(frozen=True, slots=True)
class OptOutSignal:
    """The carrier or provider says this customer blocked (or unblocked) the service number."""

    service_number: str
    customer_number: str
    opted_out: bool
    connector: str
    reason: str = ""
    # As on DeliveryReceipt: a replayed report with the same key changes nothing.
    idempotency_key: str | None = None
    # The provider's id of the message whose failure says so (a status callback): the signal is
    # acted on only if smsdesk sent that message, and then for the numbers smsdesk sent it between.
    about_message: str | None = None


class SmsSendError(Exception):
    """A send failed. ``transient`` failures are retried with backoff; the rest mark the message failed."""

    def __init__(self, reason: str, *, transient: bool, error_code: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.transient = transient
        self.error_code = error_code


class SmsEvents(Protocol):
    """What a connector reports; implemented by the operations layer."""

    async def inbound(self, sms: InboundSms) -> None: ...

    async def delivery_receipt(self, receipt: DeliveryReceipt) -> None: ...

    async def opt_out(self, signal: OptOutSignal) -> None: ...


class SmsConnector(Protocol):
    """One SMS transport. ``send`` raises :class:`SmsSendError` on failure."""

    name: str

    async def start(self, events: SmsEvents) -> None: ...

    async def stop(self) -> None: ...

    async def send(self, sms: OutboundSms) -> SendAccepted: ...


HandsetFailure = Literal["none", "transient", "permanent", "blocked"]
"""What the simulator does with an SMS to a handset: deliver it, or fail as a carrier would."""


@dataclass(frozen=True, slots=True)
class HandsetMessage:
    """An SMS a simulated handset received."""

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


class HandsetBook(Protocol):
    """Where the simulator keeps its handsets (what each received, how each fails): in the database
    when it serves, so that every node of a cluster shows the same handsets (the customers' phones)."""

    async def receive(self, sender: str, recipient: str, text: str, received_ms: int, keep: int) -> str:
        """Keep an SMS in the recipient's handset (its ``keep`` newest only); returns its id."""
        ...

    async def messages(self, number: str) -> list[HandsetMessage]: ...
    async def failure(self, number: str) -> HandsetFailure: ...
    async def set_failure(self, number: str, failure: HandsetFailure) -> None: ...
