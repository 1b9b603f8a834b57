"""The SMPP 3.4 PDUs the connector reads and writes, as plain functions and data: what a
``deliver_sm`` says (addresses, text in its data coding, the part of a long message it carries,
a delivery receipt), joining the parts of a long mobile-originated message, and the ``submit_sm``
parts of an outgoing text. No socket, no thread, no event loop: ``connectors/smpp.py`` does the
talking.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

from smsdesk.domain.sms_encoding import gsm7_decode, gsm7_encode, split_into_parts
from smsdesk.operations.sms_ports import DeliveryReceipt, DeliveryState, SmsSendError

# The connector's logger: an operator follows one SMPP connector under one name.
logger = logging.getLogger("smsdesk.connectors.smpp")

DATA_CODING_GSM7: Final = 0x00
DATA_CODING_ASCII: Final = 0x01
DATA_CODING_LATIN1: Final = 0x03
DATA_CODING_UCS2: Final = 0x08
ESM_CLASS_UDHI: Final = 0x40
ESM_CLASS_TYPE_MASK: Final = 0x3C
ESM_CLASS_SMSC_RECEIPT: Final = 0x04
ESM_CLASS_INTERMEDIATE_NOTIFICATION: Final = 0x20
REGISTERED_DELIVERY_FINAL_RECEIPT: Final = 0x01

STATUS_OK: Final = 0x00
STATUS_INVALID_COMMAND_ID: Final = 0x03
# "Invalid destination address": a permanent refusal, so the SMSC stops redelivering an MO sent to a
# number that is not one of our service numbers.
STATUS_INVALID_DESTINATION: Final = 0x0B
# "Throttling error": temporary; the SMSC retries later (our per-tenant intake limit).
STATUS_THROTTLED: Final = 0x58
TON_INTERNATIONAL: Final = 1
TON_ALPHANUMERIC: Final = 5
# "ESME Receiver Temporary App Error": the SMSC keeps the message and redelivers it later.
STATUS_TEMPORARY_APP_ERROR: Final = 0x64
# SMSC answers to submit_sm that say "try again later" rather than "this message is wrong".
TRANSIENT_SUBMIT_STATUSES: Final = frozenset({0x08, 0x14, 0x45, 0x58, 0x64})

# message_state TLV (SMPP 3.4 §5.2.28) and the stat: words of the receipt text (Appendix B).
MESSAGE_STATE_TO_DELIVERY: Final[dict[int, DeliveryState]] = {
    1: "accepted",  # ENROUTE
    2: "delivered",
    3: "expired",
    4: "failed",  # DELETED
    5: "failed",  # UNDELIVERABLE
    6: "accepted",
    8: "failed",  # REJECTED
}
RECEIPT_STAT_TO_DELIVERY: Final[dict[str, DeliveryState]] = {
    "ENROUTE": "accepted",
    "ACCEPTD": "accepted",
    "DELIVRD": "delivered",
    "EXPIRED": "expired",
    "DELETED": "failed",
    "UNDELIV": "failed",
    "REJECTD": "failed",
}
_RECEIPT_FIELD = re.compile(r"\b(id|stat|err):(\S*)", re.IGNORECASE)


def smpp_address(number: str, ton: int) -> str:
    """A stored (E.164) number as an SMPP address: international numbers go without their "+"."""
    return number[1:] if ton == TON_INTERNATIONAL and number.startswith("+") else number


# ---------------------------------------------------------------------------------------------
# What a deliver_sm says


@dataclass(frozen=True, slots=True)
class DeliverSmFields:
    """The fields of a ``deliver_sm`` this connector uses, lifted off smpplib's PDU object."""

    sequence: int
    source_addr: str
    destination_addr: str
    esm_class: int
    data_coding: int
    payload: bytes
    receipted_message_id: str | None = None
    message_state: int | None = None
    network_error_code: bytes | None = None
    sar_msg_ref_num: int | None = None
    sar_total_segments: int | None = None
    sar_segment_seqnum: int | None = None
    source_addr_ton: int = 0
    dest_addr_ton: int = 0

    @property
    def is_receipt(self) -> bool:
        message_type = self.esm_class & ESM_CLASS_TYPE_MASK
        return message_type in (ESM_CLASS_SMSC_RECEIPT, ESM_CLASS_INTERMEDIATE_NOTIFICATION)


@dataclass(frozen=True, slots=True)
class ConcatenationInfo:
    reference: int
    total: int
    sequence: int


def pdu_text(value: object) -> str:
    """An smpplib string field (bytes, NUL-padded, or None) as text."""
    if isinstance(value, bytes):
        return value.rstrip(b"\x00").decode("latin-1")
    return "" if value is None else str(value)


def deliver_sm_fields(pdu: Any) -> DeliverSmFields:
    """Read an smpplib ``deliver_sm`` (whose strings are bytes) into plain fields."""
    payload = pdu.short_message or b""
    if not payload and pdu.message_payload:
        payload = pdu.message_payload
    receipted = pdu_text(pdu.receipted_message_id) or None
    return DeliverSmFields(
        sequence=int(pdu.sequence),
        source_addr=pdu_text(pdu.source_addr),
        destination_addr=pdu_text(pdu.destination_addr),
        esm_class=int(pdu.esm_class or 0),
        data_coding=int(pdu.data_coding or 0),
        payload=bytes(payload),
        receipted_message_id=receipted,
        message_state=pdu.message_state,
        network_error_code=pdu.network_error_code,
        sar_msg_ref_num=pdu.sar_msg_ref_num,
        sar_total_segments=pdu.sar_total_segments,
        sar_segment_seqnum=pdu.sar_segment_seqnum,
        source_addr_ton=int(pdu.source_addr_ton or 0),
        dest_addr_ton=int(pdu.dest_addr_ton or 0),
    )


def split_user_data_header(payload: bytes) -> tuple[ConcatenationInfo | None, bytes]:
    """Separate the UDH from the text, and read its concatenation element (8- or 16-bit reference)."""
    if not payload:
        return None, payload
    header_length = payload[0]
    header, body = payload[1 : 1 + header_length], payload[1 + header_length :]
    position = 0
    info = None
    while position + 2 <= len(header):
        element_id, element_length = header[position], header[position + 1]
        value = header[position + 2 : position + 2 + element_length]
        if element_id == 0x00 and element_length == 3 and len(value) == 3:
            info = ConcatenationInfo(reference=value[0], total=value[1], sequence=value[2])
        elif element_id == 0x08 and element_length == 4 and len(value) == 4:
            info = ConcatenationInfo(reference=(value[0] << 8) | value[1], total=value[2], sequence=value[3])
        position += 2 + element_length
    return info, body


def concatenation_of(fields: DeliverSmFields) -> tuple[ConcatenationInfo | None, bytes]:
    """Which part of a long message a ``deliver_sm`` carries (from its UDH or its ``sar_*`` TLVs),
    and its text without the UDH; None for a message in one part."""
    if fields.esm_class & ESM_CLASS_UDHI:
        return split_user_data_header(fields.payload)
    if fields.sar_msg_ref_num is not None and fields.sar_total_segments and fields.sar_segment_seqnum:
        info = ConcatenationInfo(
            reference=fields.sar_msg_ref_num,
            total=fields.sar_total_segments,
            sequence=fields.sar_segment_seqnum,
        )
        return info, fields.payload
    return None, fields.payload


def decode_short_message(body: bytes, data_coding: int) -> str:
    if data_coding == DATA_CODING_UCS2:
        return body.decode("utf-16-be", errors="replace")
    if data_coding == DATA_CODING_GSM7:
        return gsm7_decode(body)
    if data_coding == DATA_CODING_ASCII:
        return body.decode("ascii", errors="replace")
    return body.decode("latin-1")


def parse_receipt(fields: DeliverSmFields, *, connector: str) -> DeliveryReceipt | None:
    """A delivery receipt, correlated on ``receipted_message_id`` and else the text's ``id:``.

    The state comes from the ``message_state`` TLV when present (receipt text is passed on
    unmodified from carriers and varies), else from ``stat:``. ``err:`` is kept, unless all zeros.
    """
    text = fields.payload.decode("latin-1")
    text_fields = {name.lower(): value for name, value in _RECEIPT_FIELD.findall(text)}
    message_id = fields.receipted_message_id or text_fields.get("id")
    if not message_id:
        return None
    state = MESSAGE_STATE_TO_DELIVERY.get(fields.message_state or 0)
    if state is None:
        state = RECEIPT_STAT_TO_DELIVERY.get(text_fields.get("stat", "").upper())
    if state is None:
        return None
    error_code = text_fields.get("err") or None
    if error_code is None and fields.network_error_code:
        error_code = fields.network_error_code.hex()
    if error_code is not None and not error_code.strip("0"):
        error_code = None
    return DeliveryReceipt(
        connector=connector, provider_message_id=message_id, state=state, error_code=error_code
    )


@dataclass
class _PendingConcatenation:
    first_seen: float
    total: int
    data_coding: int
    parts: dict[int, bytes] = field(default_factory=dict)
    first_sequence: int = 0


class ConcatenatedMoBuffer:
    """Holds parts of concatenated MO messages until all have arrived, keyed by sender, recipient,
    reference and part count. Incomplete messages are dropped after ``ttl`` seconds."""

    def __init__(self, ttl: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl = ttl
        self._clock = clock
        self._pending: dict[tuple[str, str, int, int], _PendingConcatenation] = {}

    def __len__(self) -> int:
        return len(self._pending)

    def add(
        self, fields: DeliverSmFields, info: ConcatenationInfo, body: bytes
    ) -> tuple[int, int, bytes] | None:
        """Store one part; when it completes a message return (data_coding, first sequence, joined body)."""
        self._expire()
        key = (fields.source_addr, fields.destination_addr, info.reference, info.total)
        pending = self._pending.get(key)
        if pending is None:
            pending = _PendingConcatenation(
                first_seen=self._clock(), total=info.total, data_coding=fields.data_coding
            )
            self._pending[key] = pending
        pending.parts[info.sequence] = body
        if info.sequence == 1:
            pending.first_sequence = fields.sequence
            pending.data_coding = fields.data_coding
        if len(pending.parts) < pending.total:
            return None
        del self._pending[key]
        # Join the bytes, not decoded parts: a sender may cut a surrogate pair or escape in two.
        joined = b"".join(pending.parts[number] for number in sorted(pending.parts))
        return pending.data_coding, pending.first_sequence or fields.sequence, joined

    def _expire(self) -> None:
        deadline = self._clock() - self._ttl
        for key in [key for key, pending in self._pending.items() if pending.first_seen < deadline]:
            pending = self._pending.pop(key)
            logger.warning(
                "dropped concatenated MO from %s: %d of %d parts after %.0f s",
                key[0],
                len(pending.parts),
                pending.total,
                self._ttl,
            )


# ---------------------------------------------------------------------------------------------
# Outbound PDUs


@dataclass(frozen=True, slots=True)
class SubmitPart:
    short_message: bytes
    data_coding: int
    esm_class: int


def build_submit_parts(text: str, reference: int) -> tuple[str, list[SubmitPart]]:
    """Encode ``text`` as GSM-7 or UCS-2 and, if long, as UDH-concatenated parts (8-bit reference)."""
    encoding, texts = split_into_parts(text)
    data_coding = DATA_CODING_GSM7 if encoding == "GSM-7" else DATA_CODING_UCS2

    def encode(part: str) -> bytes:
        return gsm7_encode(part) if encoding == "GSM-7" else part.encode("utf-16-be")

    if len(texts) == 1:
        return encoding, [SubmitPart(encode(texts[0]), data_coding, 0)]
    if len(texts) > 255:
        raise SmsSendError(f"message needs {len(texts)} parts; SMS allows 255", transient=False)
    return encoding, [
        SubmitPart(
            bytes((0x05, 0x00, 0x03, reference & 0xFF, len(texts), number)) + encode(part),
            data_coding,
            ESM_CLASS_UDHI,
        )
        for number, part in enumerate(texts, start=1)
    ]
