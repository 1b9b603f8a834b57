"""The SMPP PDU codec on its own: UDH parsing, receipt parsing, MO reassembly, MT part building."""

from __future__ import annotations

from connector_support import receipt_text

from smsdesk.connectors.smpp_codec import (
    ConcatenatedMoBuffer,
    ConcatenationInfo,
    DeliverSmFields,
    build_submit_parts,
    concatenation_of,
    decode_short_message,
    parse_receipt,
    split_user_data_header,
)
from smsdesk.domain.sms_encoding import gsm7_encode
from smsdesk.operations.sms_ports import DeliveryReceipt

SERVICE = "15005550006"
CUSTOMER = "14155551234"


def fields(payload: bytes, **overrides: object) -> DeliverSmFields:
    values: dict[str, object] = {
        "sequence": 7,
        "source_addr": CUSTOMER,
        "destination_addr": SERVICE,
        "esm_class": 0,
        "data_coding": 0,
        "payload": payload,
        **overrides,
    }
    return DeliverSmFields(**values)  # type: ignore[arg-type]


def test_udh_with_16_bit_reference_and_other_elements() -> None:
    # A port-addressing element (0x05) before the 16-bit concatenation element (0x08).
    udh = bytes((12, 0x05, 0x04, 0x0B, 0x84, 0x23, 0xF0, 0x08, 0x04, 0x12, 0x34))
    info, body = split_user_data_header(udh + bytes((3, 2)) + b"text")
    assert info == ConcatenationInfo(reference=0x1234, total=3, sequence=2)
    assert body == b"text"


def test_receipt_from_message_state_tlv_wins_over_text() -> None:
    receipt = parse_receipt(
        fields(receipt_text("X", "DELIVRD"), esm_class=0x04, receipted_message_id="ABC", message_state=5),
        connector="smpp",
    )
    assert receipt == DeliveryReceipt(connector="smpp", provider_message_id="ABC", state="failed")


def test_receipt_without_any_id_is_ignored() -> None:
    assert parse_receipt(fields(b"stat:DELIVRD err:000", esm_class=0x04), connector="smpp") is None


def test_incomplete_concatenation_expires() -> None:
    now = [0.0]
    buffer = ConcatenatedMoBuffer(ttl=60, clock=lambda: now[0])
    assert buffer.add(fields(b""), ConcatenationInfo(1, 2, 1), b"a") is None
    assert len(buffer) == 1
    now[0] = 61.0
    assert buffer.add(fields(b"", source_addr="other"), ConcatenationInfo(1, 2, 1), b"b") is None
    assert len(buffer) == 1  # the first sender's half message is gone


def test_duplicate_part_does_not_complete_a_message() -> None:
    buffer = ConcatenatedMoBuffer(ttl=60)
    assert buffer.add(fields(b""), ConcatenationInfo(9, 2, 1), b"a") is None
    assert buffer.add(fields(b""), ConcatenationInfo(9, 2, 1), b"a") is None
    assert buffer.add(fields(b"", sequence=8), ConcatenationInfo(9, 2, 2), b"b") == (0, 7, b"ab")


def test_build_submit_parts_gsm_long_message() -> None:
    encoding, parts = build_submit_parts("x" * 200, reference=300)
    assert encoding == "GSM-7"
    assert [part.short_message[:6] for part in parts] == [
        b"\x05\x00\x03\x2c\x02\x01",
        b"\x05\x00\x03\x2c\x02\x02",
    ]
    assert all(part.esm_class == 0x40 and part.data_coding == 0 for part in parts)
    assert len(parts[0].short_message) == 6 + 153


def test_decode_short_message_by_data_coding() -> None:
    assert decode_short_message(gsm7_encode("€uro"), 0x00) == "€uro"
    assert decode_short_message("日本".encode("utf-16-be"), 0x08) == "日本"
    assert decode_short_message(b"caf\xe9", 0x03) == "café"


def test_concatenation_from_the_udh_or_the_sar_tlvs() -> None:
    udh = bytes((5, 0x00, 0x03, 0x2C, 0x02, 0x01))
    assert concatenation_of(fields(udh + b"half", esm_class=0x40)) == (ConcatenationInfo(0x2C, 2, 1), b"half")
    sar = fields(b"half", sar_msg_ref_num=0x1234, sar_total_segments=3, sar_segment_seqnum=3)
    assert concatenation_of(sar) == (ConcatenationInfo(0x1234, 3, 3), b"half")
    assert concatenation_of(fields(b"whole")) == (None, b"whole")
