"""Real SMS through the SMPP connector, end to end: a server configured by a settings file binds to a
real SMPP 3.4 SMSC on loopback (the ``smpp34`` package's server, driven by ``tests/connectors``'
``LoopbackSmsc``), which plays the carrier: MO ``deliver_sm``, ``submit_sm`` and delivery receipts."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
import smpp34
from e2e_support import accept_and_reply, configured_server, messages, poll_until, ready_agent, wait_delivery
from twilio.request_validator import RequestValidator

from connectors.smsc_peer import LoopbackSmsc
from smsdesk.domain.sms_encoding import gsm7_decode, gsm7_encode
from support.agents import Agent, ContactCenter
from support.server import RunningServer, free_port

pytestmark = pytest.mark.slow

T = TypeVar("T")
TLV_RECEIPTED_MESSAGE_ID = 0x001E  # SMPP 3.4 §5.3.2.12
ESM_CLASS_RECEIPT = 0x04
ESM_CLASS_UDHI = 0x40
TWILIO_TOKEN = "smpp-world-twilio-token"
ESME_RINVDSTADR = 0x0B


class SmscThread:
    """The asyncio SMSC on its own loop in a thread, so the (synchronous) agents can drive it."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="loopback-smsc", daemon=True)
        self.thread.start()
        self.smsc = self.call(self._start())

    async def _start(self) -> LoopbackSmsc:
        smsc = LoopbackSmsc(port=free_port())
        await smsc.start()
        return smsc

    def call(self, coroutine: Coroutine[Any, Any, T], timeout: float = 15.0) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def stop(self) -> None:
        self.call(self.smsc.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


@dataclass
class SmppWorld:
    server: RunningServer
    cc: ContactCenter
    smsc: SmscThread
    number: str
    agent: Agent
    e164_number: str = ""

    def customer(self) -> str:
        return self.cc.customer_number().lstrip("+")

    def deliver(self, **pdu: Any) -> int:
        return self.smsc.call(self.smsc.smsc.deliver(**pdu))


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, backend: str) -> Iterator[SmppWorld]:
    smsc = SmscThread()
    numbers: list[str] = []

    def config(server: RunningServer, cc: ContactCenter) -> str:
        numbers.append(f"1666{server.port:05d}")  # SMPP addresses: digits, no '+'
        # A service number that is a possible NANP number, written as an SMSC would (digits): it is
        # stored in E.164, so what either carrier writes for it matches.
        numbers.append(f"1777{server.port:05d}01")
        return f"""
[connectors.carrier]
type = "smpp"
host = "127.0.0.1"
port = {smsc.smsc.port}
system_id = "smsdesk"
password_env = "SMSDESK_E2E_SMPP_PASSWORD"
enquire_link_interval = 5
response_timeout = 3
reconnect_initial_delay = 0.1
reconnect_max_delay = 1

[[service_numbers]]
number = "{numbers[0]}"
queue = "{cc.queue}"
tenant = "{cc.tenant}"
connector = "carrier"

[[service_numbers]]
number = "{numbers[1]}"
queue = "{cc.queue}"
tenant = "{cc.tenant}"
connector = "carrier"

# A second carrier for the same customers: one person texting through both is one customer.
[connectors.twilio]
type = "twilio"
account_sid = "AC{"0" * 32}"
auth_token = "{TWILIO_TOKEN}"
public_webhook_base_url = "{server.base_url}/connectors/twilio"
"""

    directory = Path(tmp_path_factory.mktemp("smpp-e2e"))
    try:
        with configured_server(directory, config, env={"SMSDESK_E2E_SMPP_PASSWORD": "secret"}) as (
            server,
            cc,
        ):
            poll_until(lambda: smsc.smsc.binds == ["smsdesk"], what="the server's bind")
            yield SmppWorld(server, cc, smsc, numbers[0], ready_agent(cc), numbers[1])
    finally:
        smsc.stop()


def complete(world: SmppWorld, session_id: str) -> None:
    world.agent.op(session_id, "Complete")
    world.agent.quiet()


def test_mo_to_agent_reply_as_submit_sm_and_receipt_back(world: SmppWorld) -> None:
    agent, customer = world.agent, world.customer()
    submitted_before = len(world.smsc.smsc.submits)

    status = world.deliver(
        source_addr=customer, destination_addr=world.number, short_message=gsm7_encode("Is it open?")
    )
    assert status == 0

    session_id, index = accept_and_reply(agent, "Yes, until 6 pm.")
    poll_until(lambda: len(world.smsc.smsc.submits) > submitted_before, what="submit_sm")
    submit = world.smsc.smsc.submits[-1]
    assert (submit.source_addr, submit.destination_addr) == (world.number, customer)
    assert gsm7_decode(submit.short_message) == "Yes, until 6 pm."
    assert submit.registered_delivery == 1 and submit.message_id is not None

    receipt = (
        f"id:{submit.message_id} sub:001 dlvrd:001 submit date:2601011200 done date:2601011201 "
        "stat:DELIVRD err:000 text:Yes, until 6 pm."
    ).encode()
    status = world.deliver(
        source_addr=customer,
        destination_addr=world.number,
        short_message=receipt,
        esm_class=ESM_CLASS_RECEIPT,
        tlvs=[smpp34.Tlv(TLV_RECEIPTED_MESSAGE_ID, submit.message_id.encode() + b"\x00")],
    )
    assert status == 0

    update = wait_delivery(agent, index, "delivered")
    assert update["notificationType"] == "DeliveryStatus"
    assert update["smssessionPath"] == f"/smssessions/{session_id}"
    [entry] = [m for m in messages(agent, session_id) if m["index"] == index]
    assert entry["delivery"]["status"] == "delivered"
    assert entry["delivery"]["errorCode"] is None
    assert (entry["delivery"]["encoding"], entry["delivery"]["segments"]) == ("GSM-7", 1)
    complete(world, session_id)


def test_concatenated_mo_arrives_as_one_text(world: SmppWorld) -> None:
    agent, customer = world.agent, world.customer()
    first, second = "Part one of a long message, " * 5, "and its end."
    udh = bytes((0x05, 0x00, 0x03, 0x37, 0x02))
    for number, text in ((1, first), (2, second)):
        status = world.deliver(
            source_addr=customer,
            destination_addr=world.number,
            short_message=udh + bytes((number,)) + gsm7_encode(text),
            esm_class=ESM_CLASS_UDHI,
        )
        assert status == 0

    session_id = agent.wait_invited()["id"]
    agent.op(session_id, "Accept", nickname="Alice")
    assert [m["text"] for m in messages(agent, session_id) if m["type"] == "Text"] == [first + second]
    complete(world, session_id)


def test_one_customer_through_both_carriers_and_either_spelling_of_the_service_number(
    world: SmppWorld,
) -> None:
    agent, digits = world.agent, world.customer()  # "1555...": how the SMSC writes the customer
    service_digits = world.e164_number
    status = world.deliver(
        source_addr=digits, destination_addr=service_digits, short_message=gsm7_encode("via SMPP")
    )
    assert status == 0
    session = agent.wait_invited()
    assert session["participants"][0]["nickname"] == "+" + digits  # E.164, whatever the carrier wrote
    assert session["userData"]["ServiceNumber"] == "+" + service_digits
    session_id = session["id"]
    agent.op(session_id, "Accept", nickname="Alice")
    agent.take(3)

    # The same person through the Twilio-format carrier, and the SMSC writing the number with "+".
    form = {
        "MessageSid": "SM" + digits[-8:] * 4,
        "From": "+" + digits,
        "To": "+" + service_digits,
        "Body": "via Twilio",
    }
    url = f"{world.server.base_url}/connectors/twilio/inbound"
    signature = RequestValidator(TWILIO_TOKEN).compute_signature(url, form)
    response = httpx.post(url, data=form, headers={"X-Twilio-Signature": signature}, timeout=10)
    assert response.status_code == 200, response.text
    status = world.deliver(
        source_addr="+" + digits, destination_addr="+" + service_digits, short_message=gsm7_encode("again")
    )
    assert status == 0
    poll_until(
        lambda: len([m for m in messages(agent, session_id) if m["type"] == "Text"]) == 3,
        what="three messages in one session",
    )
    assert [m["text"] for m in messages(agent, session_id) if m["type"] == "Text"] == [
        "via SMPP",
        "via Twilio",
        "again",
    ]
    assert not [n for n in agent.quiet() if n.get("notificationType") == "StatusChange"]  # no new offer

    # The reply leaves as SMPP addresses: international digits without the "+".
    submitted_before = len(world.smsc.smsc.submits)
    agent.op(session_id, "SendMessage", text="got all three")
    poll_until(lambda: len(world.smsc.smsc.submits) > submitted_before, what="submit_sm")
    submit = world.smsc.smsc.submits[-1]
    assert (submit.source_addr, submit.destination_addr) == (service_digits, digits)
    complete(world, session_id)


def test_an_mo_to_a_number_that_is_not_ours_is_refused_for_good_with_one_line(world: SmppWorld) -> None:
    status = world.deliver(
        source_addr=world.customer(), destination_addr="19995550123", short_message=gsm7_encode("hello?")
    )
    # Permanent: the SMSC stops redelivering (a temporary error would bring it back forever).
    assert status == ESME_RINVDSTADR
    logs = world.server.logs()
    assert len([line for line in logs.splitlines() if "+19995550123" in line]) == 1
    assert "Traceback" not in logs
