"""The SMPP connector against a real SMPP 3.4 peer on loopback (the ``smpp34`` package's SMSC).
The PDU codec's own tests are in ``test_smpp_codec.py``."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest
import smpp34
from connector_support import RecordingEvents, free_loopback_port, receipt_text
from smsc_peer import LoopbackSmsc, SeverableTcpProxy, SilentAfterBindSmsc

from smsdesk.connectors.smpp import SmppConfig, SmppConnector
from smsdesk.domain.sms_encoding import gsm7_encode
from smsdesk.operations.ratelimit import RateLimited
from smsdesk.operations.sms_ports import DeliveryReceipt, InboundSms, OutboundSms, SendAccepted, SmsSendError

# SMPP 3.4 values (§5.3.2.12 and §5.1.3), spelled out rather than taken from either library.
TLV_RECEIPTED_MESSAGE_ID = 0x001E
ESME_RTHROTTLED = 0x58
ESME_RINVDSTADR = 0x0B

SERVICE = "15005550006"
CUSTOMER = "14155551234"


def make_config(port: int, **overrides: float | int | str) -> SmppConfig:
    settings: dict[str, float | int | str] = {
        "enquire_link_interval": 5.0,
        "response_timeout": 3.0,
        "reconnect_initial_delay": 0.05,
        "reconnect_max_delay": 0.4,
        **overrides,
    }
    return SmppConfig(host="127.0.0.1", port=port, system_id="smsdesk", password="secret", **settings)  # type: ignore[arg-type]


Scenario = Callable[[LoopbackSmsc, SmppConnector, RecordingEvents], Awaitable[None]]


def run_against_smsc(
    scenario: Scenario, smsc_options: dict[str, object] | None = None, **config: float | int
) -> None:
    async def main() -> None:
        smsc = LoopbackSmsc(port=free_loopback_port(), **(smsc_options or {}))  # type: ignore[arg-type]
        await smsc.start()
        connector = SmppConnector(make_config(smsc.port, **config))
        events = RecordingEvents()
        try:
            await connector.start(events)
            async with asyncio.timeout(10):
                await connector.wait_until_bound()
            await smsc.wait_until(lambda: len(smsc.binds) == 1)
            await scenario(smsc, connector, events)
        finally:
            await connector.stop()
            await smsc.stop()

    asyncio.run(main())


def outbound(text: str, outbound_id: int = 1) -> OutboundSms:
    return OutboundSms(outbound_id=outbound_id, service_number=SERVICE, customer_number=CUSTOMER, text=text)


# ---------------------------------------------------------------------------------------------
# Against the SMSC


def test_bind_and_send_gsm7_with_receipt_requested() -> None:
    async def scenario(smsc: LoopbackSmsc, connector: SmppConnector, _events: RecordingEvents) -> None:
        accepted = await connector.send(outbound("Hello [world] €5"))
        assert accepted == SendAccepted(provider_message_id="MSG-1", segments=1, encoding="GSM-7")
        assert smsc.binds == ["smsdesk"]
        [submit] = smsc.submits
        assert (submit.source_addr, submit.destination_addr) == (SERVICE, CUSTOMER)
        assert submit.registered_delivery == 1
        assert submit.data_coding == 0x00
        assert submit.esm_class == 0
        assert submit.short_message == gsm7_encode("Hello [world] €5")

    run_against_smsc(scenario)


def test_long_ucs2_message_goes_as_udh_parts_and_receipts_fold_into_one() -> None:
    text = "请问我的订单什么时候到" * 10  # 110 UTF-16 units: two UCS-2 parts

    async def scenario(smsc: LoopbackSmsc, connector: SmppConnector, events: RecordingEvents) -> None:
        accepted = await connector.send(outbound(text))
        assert (accepted.segments, accepted.encoding) == (2, "UCS-2")
        assert len(smsc.submits) == 2
        parts = sorted(smsc.submits, key=lambda submit: submit.short_message[5])
        assert {submit.data_coding for submit in parts} == {0x08}
        assert {submit.esm_class & 0x40 for submit in parts} == {0x40}
        headers = [submit.short_message[:6] for submit in parts]
        assert headers[0][:3] == b"\x05\x00\x03" and headers[0][3] == headers[1][3]
        assert [(header[4], header[5]) for header in headers] == [(2, 1), (2, 2)]
        assert b"".join(submit.short_message[6:] for submit in parts).decode("utf-16-be") == text
        first_part_id = next(submit.message_id for submit in smsc.submits if submit.short_message[5] == 1)
        assert accepted.provider_message_id == first_part_id

        for submit in smsc.submits:
            assert submit.message_id is not None
            status = await smsc.deliver(
                source_addr=CUSTOMER,
                destination_addr=SERVICE,
                short_message=receipt_text(submit.message_id, "DELIVRD"),
                esm_class=0x04,
                tlvs=[smpp34.Tlv(TLV_RECEIPTED_MESSAGE_ID, submit.message_id.encode() + b"\x00")],
            )
            assert status == 0
        await events.wait_until(lambda: len(events.receipts) >= 1)
        assert events.receipts == [
            DeliveryReceipt(
                connector="smpp", provider_message_id=accepted.provider_message_id, state="delivered"
            )
        ]

    run_against_smsc(scenario)


def test_mo_single_part_becomes_inbound_sms() -> None:
    async def scenario(smsc: LoopbackSmsc, _connector: SmppConnector, events: RecordingEvents) -> None:
        status = await smsc.deliver(
            source_addr=CUSTOMER,
            destination_addr=SERVICE,
            short_message=gsm7_encode("Where is my parcel? {ref}"),
        )
        assert status == 0
        await events.wait_until(lambda: len(events.inbound_messages) == 1)
        [sms] = events.inbound_messages
        # Plain SMPP digits arrive in E.164, as every connector reports numbers.
        assert (sms.service_number, sms.customer_number, sms.text) == (
            "+" + SERVICE,
            "+" + CUSTOMER,
            "Where is my parcel? {ref}",
        )
        assert sms.connector == "smpp" and sms.provider_message_id

    run_against_smsc(scenario)


def test_mo_concatenated_two_parts_are_joined_into_one_message() -> None:
    first = "A" * 67
    second = "the end 😀"

    async def scenario(smsc: LoopbackSmsc, _connector: SmppConnector, events: RecordingEvents) -> None:
        # Part one in GSM-7 would not match part two's UCS-2 in real life; use UCS-2 for both.
        udh = b"\x05\x00\x03\x2a\x02"
        body = (first + second).encode("utf-16-be")
        split_at = len(first.encode("utf-16-be")) // 2 * 2
        assert (
            await smsc.deliver(
                source_addr=CUSTOMER,
                destination_addr=SERVICE,
                short_message=udh + b"\x02" + body[split_at:],
                esm_class=0x40,
                data_coding=0x08,
            )
            == 0
        )  # second part first: arrival order is not guaranteed
        assert events.inbound_messages == []
        assert (
            await smsc.deliver(
                source_addr=CUSTOMER,
                destination_addr=SERVICE,
                short_message=udh + b"\x01" + body[:split_at],
                esm_class=0x40,
                data_coding=0x08,
            )
            == 0
        )
        await events.wait_until(lambda: len(events.inbound_messages) == 1)
        [sms] = events.inbound_messages
        assert sms.text == first + second

    run_against_smsc(scenario)


@pytest.mark.parametrize(
    ("stat", "err", "use_tlv", "expected_state", "expected_error"),
    [
        ("DELIVRD", "000", True, "delivered", None),
        ("UNDELIV", "034", True, "failed", "034"),
        ("EXPIRED", "000", False, "expired", None),
        ("REJECTD", "0C1", False, "failed", "0C1"),
    ],
)
def test_delivery_receipt_is_correlated_and_mapped(
    stat: str, err: str, use_tlv: bool, expected_state: str, expected_error: str | None
) -> None:
    async def scenario(smsc: LoopbackSmsc, connector: SmppConnector, events: RecordingEvents) -> None:
        accepted = await connector.send(outbound("ping"))
        message_id = accepted.provider_message_id
        # With the TLV present, the text's id: is deliberately something else: the TLV wins.
        text_id = "OTHER-ID" if use_tlv else message_id
        tlvs = [smpp34.Tlv(TLV_RECEIPTED_MESSAGE_ID, message_id.encode() + b"\x00")] if use_tlv else []
        status = await smsc.deliver(
            source_addr=CUSTOMER,
            destination_addr=SERVICE,
            short_message=receipt_text(text_id, stat, err),
            esm_class=0x04,
            tlvs=tlvs,
        )
        assert status == 0
        await events.wait_until(lambda: len(events.receipts) == 1)
        assert events.receipts == [
            DeliveryReceipt(
                connector="smpp",
                provider_message_id=message_id,
                state=expected_state,  # type: ignore[arg-type]
                error_code=expected_error,
            )
        ]
        assert events.inbound_messages == []

    run_against_smsc(scenario)


def test_submit_rejections_map_to_transient_and_permanent() -> None:
    def decide(submit: object) -> int | None:
        text = getattr(submit, "short_message", b"")
        if text == gsm7_encode("throttle me"):
            return ESME_RTHROTTLED
        if text == gsm7_encode("bad number"):
            return ESME_RINVDSTADR
        return None

    async def scenario(_smsc: LoopbackSmsc, connector: SmppConnector, _events: RecordingEvents) -> None:
        with pytest.raises(SmsSendError) as throttled:
            await connector.send(outbound("throttle me"))
        assert throttled.value.transient is True
        assert throttled.value.error_code == "0x00000058"
        with pytest.raises(SmsSendError) as invalid:
            await connector.send(outbound("bad number"))
        assert invalid.value.transient is False
        assert invalid.value.error_code == "0x0000000B"

    run_against_smsc(scenario, {"decide": decide})


def test_failed_intake_asks_the_smsc_to_redeliver() -> None:
    async def scenario(smsc: LoopbackSmsc, connector: SmppConnector, events: RecordingEvents) -> None:
        async def failing_inbound(sms: InboundSms) -> None:
            raise RuntimeError("database unavailable")

        events.inbound = failing_inbound  # type: ignore[method-assign]
        status = await smsc.deliver(source_addr=CUSTOMER, destination_addr=SERVICE, short_message=b"hello")
        assert status == 0x64

    run_against_smsc(scenario)


@pytest.mark.slow
def test_send_window_bounds_outstanding_submits() -> None:
    async def scenario(smsc: LoopbackSmsc, connector: SmppConnector, _events: RecordingEvents) -> None:
        results = await asyncio.gather(*(connector.send(outbound(f"message {n}", n)) for n in range(8)))
        assert len({result.provider_message_id for result in results}) == 8
        assert smsc.most_outstanding == 2

    run_against_smsc(scenario, {"answer_delay": 0.05}, window=2)


@pytest.mark.slow
def test_rebinds_after_the_smsc_unbinds_and_sends_again() -> None:
    async def scenario(smsc: LoopbackSmsc, connector: SmppConnector, events: RecordingEvents) -> None:
        await connector.send(outbound("before"))
        await smsc.unbind_esme()
        await smsc.wait_until(lambda: len(smsc.binds) == 2)
        async with asyncio.timeout(10):
            await connector.wait_until_bound()
        accepted = await connector.send(outbound("after"))
        assert accepted.provider_message_id == "MSG-2"
        status = await smsc.deliver(
            source_addr=CUSTOMER, destination_addr=SERVICE, short_message=b"still here"
        )
        assert status == 0
        await events.wait_until(lambda: len(events.inbound_messages) == 1)

    run_against_smsc(scenario)


@pytest.mark.slow
def test_reconnects_with_backoff_after_the_network_drops() -> None:
    async def main() -> None:
        smsc = LoopbackSmsc(port=free_loopback_port())
        await smsc.start()
        proxy = SeverableTcpProxy(listen_port=free_loopback_port(), target_port=smsc.port)
        await proxy.start()
        connector = SmppConnector(make_config(proxy.listen_port))
        events = RecordingEvents()
        try:
            await connector.start(events)
            async with asyncio.timeout(10):
                await connector.wait_until_bound()
            await connector.send(outbound("before"))

            await proxy.sever()
            await _wait_for(lambda: not connector.is_bound)
            with pytest.raises(SmsSendError) as not_bound:
                await connector.send(outbound("while down"))
            assert not_bound.value.transient is True
            # Let a few reconnection attempts hit the closed port before the network returns.
            await asyncio.sleep(0.5)
            await proxy.start()

            async with asyncio.timeout(10):
                await connector.wait_until_bound()
            await smsc.wait_until(lambda: len(smsc.binds) == 2)
            accepted = await connector.send(outbound("after"))
            assert accepted.provider_message_id == "MSG-2"
            assert (
                await smsc.deliver(source_addr=CUSTOMER, destination_addr=SERVICE, short_message=b"back") == 0
            )
            await events.wait_until(lambda: [sms.text for sms in events.inbound_messages] == ["back"])
        finally:
            await connector.stop()
            await proxy.sever()
            await smsc.stop()

    asyncio.run(main())


@pytest.mark.slow
def test_enquire_link_keeps_an_idle_link_bound() -> None:
    async def scenario(smsc: LoopbackSmsc, connector: SmppConnector, _events: RecordingEvents) -> None:
        # Several enquire_link rounds; without answers the link would be declared dead after 0.8 s.
        await asyncio.sleep(1.5)
        assert connector.is_bound
        assert smsc.binds == ["smsdesk"]
        await connector.send(outbound("still bound"))

    run_against_smsc(scenario, enquire_link_interval=0.2, response_timeout=0.6)


@pytest.mark.slow
def test_unanswered_enquire_link_drops_the_link_and_rebinds() -> None:
    async def main() -> None:
        smsc = SilentAfterBindSmsc(port=free_loopback_port())
        await smsc.start()
        connector = SmppConnector(make_config(smsc.port, enquire_link_interval=0.2, response_timeout=0.3))
        try:
            await connector.start(RecordingEvents())
            await _wait_for(lambda: smsc.binds >= 2)
        finally:
            await connector.stop()
            await smsc.stop()

    asyncio.run(main())


async def _wait_for(condition: Callable[[], bool], limit_seconds: float = 10.0) -> None:
    async with asyncio.timeout(limit_seconds):
        # The connector offers no "unbound" event to wait on, so poll.
        while not condition():  # noqa: ASYNC110
            await asyncio.sleep(0.02)


def test_mo_over_the_intake_limit_is_answered_throttled_so_the_smsc_retries() -> None:
    async def scenario(smsc: LoopbackSmsc, _connector: SmppConnector, events: RecordingEvents) -> None:
        async def over_the_limit(sms: object) -> None:
            raise RateLimited("contact center's incoming SMS", 1)

        events.inbound = over_the_limit  # type: ignore[method-assign]
        status = await smsc.deliver(
            source_addr=CUSTOMER, destination_addr=SERVICE, short_message=gsm7_encode("flood")
        )
        assert status == 0x58  # ESME_RTHROTTLED: temporary

    run_against_smsc(scenario)
