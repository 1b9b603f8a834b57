"""Real SMS through the Twilio-format connector, end to end: a server configured by a settings file,
webhooks signed by the ``twilio`` package's own ``RequestValidator``, and a fake Twilio Messages API
on loopback that records what the server sends."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from e2e_support import (
    FakeTwilioApi,
    accept_and_reply,
    configured_server,
    messages,
    poll_until,
    ready_agent,
    service_number,
    wait_delivery,
)
from twilio.request_validator import RequestValidator

from support.agents import Agent, ContactCenter
from support.metrics import TOKEN, sample
from support.server import RunningServer

pytestmark = pytest.mark.slow

ACCOUNT_SID = "AC" + "e2e0" * 8
AUTH_TOKEN = "e2e-auth-token-0123456789abcdef0"
TOKEN_VARIABLE = "SMSDESK_E2E_TWILIO_TOKEN"


@dataclass
class TwilioWorld:
    server: RunningServer
    cc: ContactCenter
    api: FakeTwilioApi
    number: str
    agent: Agent

    @property
    def webhook_base(self) -> str:
        return f"{self.server.base_url}/connectors/twilio"

    def post(
        self, kind: str, form: dict[str, str], signature: str | None = "sign", url: str | None = None
    ) -> httpx.Response:
        """POST a webhook as Twilio does; ``signature="sign"`` signs it for the URL it goes to."""
        target = url or f"{self.webhook_base}/{kind}"
        headers = {}
        if signature == "sign":
            signature = RequestValidator(AUTH_TOKEN).compute_signature(target, form)
        if signature is not None:
            headers["X-Twilio-Signature"] = signature
        return httpx.post(target, data=form, headers=headers, timeout=10)

    def inbound_form(self, customer: str, text: str, sid: str) -> dict[str, str]:
        return {
            "ToCountry": "US",
            "SmsMessageSid": sid,
            "NumMedia": "0",
            "SmsSid": sid,
            "SmsStatus": "received",
            "Body": text,
            "To": self.number,
            "NumSegments": "1",
            "MessageSid": sid,
            "AccountSid": ACCOUNT_SID,
            "From": customer,
            "ApiVersion": "2010-04-01",
            "OptOutType": "",
        }


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, backend: str) -> Iterator[TwilioWorld]:
    api = FakeTwilioApi().start()
    numbers: list[str] = []

    def config(server: RunningServer, cc: ContactCenter) -> str:
        numbers.append(service_number(server.port))
        return f"""
metrics_token = "{TOKEN}"

[connectors.twilio]
type = "twilio"
account_sid = "{ACCOUNT_SID}"
auth_token_env = "{TOKEN_VARIABLE}"
public_webhook_base_url = "{server.base_url}/connectors/twilio"
api_base_url = "{api.base_url}"
request_timeout_seconds = 5

[[service_numbers]]
number = "{numbers[0]}"
queue = "{cc.queue}"
tenant = "{cc.tenant}"
connector = "twilio"
"""

    directory = Path(tmp_path_factory.mktemp("twilio-e2e"))
    try:
        with configured_server(directory, config, env={TOKEN_VARIABLE: AUTH_TOKEN}) as (server, cc):
            yield TwilioWorld(server, cc, api, numbers[0], ready_agent(cc))
    finally:
        api.stop()


def complete(world: TwilioWorld, session_id: str) -> None:
    world.agent.op(session_id, "Complete")
    world.agent.quiet()


def test_inbound_to_agent_reply_to_twilio_and_delivery_status_back(world: TwilioWorld) -> None:
    agent, customer = world.agent, world.cc.customer_number()
    sent_before = len(world.api.requests)

    reply = world.post("inbound", world.inbound_form(customer, "Where is my parcel?", "SM" + "a1" * 16))
    assert reply.status_code == 200, reply.text
    assert reply.headers["content-type"].startswith("text/xml") and "<Response>" in reply.text

    session_id, index = accept_and_reply(agent, "It left the depot this morning.")
    assert [m["text"] for m in messages(agent, session_id) if m["type"] == "Text"] == [
        "Where is my parcel?",
        "It left the depot this morning.",
    ]

    # The message reached the (fake) Messages API, from the service number, to the customer.
    sent = wait_for_requests(world, sent_before + 1)
    assert {key: sent[key] for key in ("To", "From", "Body")} == {
        "To": customer,
        "From": world.number,
        "Body": "It left the depot this morning.",
    }
    assert sent["StatusCallback"] == f"{world.webhook_base}/status"
    assert world.api.paths[-1] == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
    assert world.api.authorizations[-1].startswith("Basic ")
    message_sid = world.api.sids[-1]

    # Twilio's status callback: delivered.
    status_form = {
        "SmsSid": message_sid,
        "SmsStatus": "delivered",
        "MessageStatus": "delivered",
        "To": customer,
        "MessageSid": message_sid,
        "AccountSid": ACCOUNT_SID,
        "From": world.number,
        "ApiVersion": "2010-04-01",
    }
    assert world.post("status", status_form).status_code == 200

    update = wait_delivery(agent, index, "delivered")
    assert update["notificationType"] == "DeliveryStatus"
    assert update["smssessionPath"] == f"/smssessions/{session_id}"
    assert update["smssessionUri"].endswith(f"/smssessions/{session_id}")
    [entry] = [m for m in messages(agent, session_id) if m["index"] == index]
    assert entry["delivery"]["status"] == "delivered"
    assert entry["delivery"]["errorCode"] is None
    assert (entry["delivery"]["encoding"], entry["delivery"]["segments"]) == ("GSM-7", 1)
    complete(world, session_id)


def test_a_status_callback_that_overtakes_the_apis_answer_is_applied(world: TwilioWorld) -> None:
    """Twilio may call the status callback before its API's answer (with the message's sid) has
    reached smsdesk: the report waits for the send to store the sid instead of being unknown."""
    agent, customer = world.agent, world.cc.customer_number()
    sent_before = len(world.api.requests)
    assert world.post("inbound", world.inbound_form(customer, "Hello?", "SM" + "7a" * 16)).status_code == 200
    world.api.hold = threading.Event()
    try:
        session_id, index = accept_and_reply(agent, "Hello from the desk.")
        wait_for_requests(world, sent_before + 1)  # the API has the message; its answer is held
        message_sid = world.api.sids[-1]
        status_form = {
            "MessageSid": message_sid,
            "SmsSid": message_sid,
            "MessageStatus": "delivered",
            "SmsStatus": "delivered",
            "To": customer,
            "From": world.number,
            "AccountSid": ACCOUNT_SID,
            "ApiVersion": "2010-04-01",
        }
        with ThreadPoolExecutor(max_workers=1) as pool:
            callback = pool.submit(world.post, "status", status_form)
            time.sleep(0.5)  # the callback is in: the sid is not stored yet
            world.api.hold.set()
            assert callback.result(timeout=30).status_code == 200
    finally:
        world.api.hold.set()
        world.api.hold = None
    assert wait_delivery(agent, index, "delivered")["notificationType"] == "DeliveryStatus"
    [entry] = [m for m in messages(agent, session_id) if m["index"] == index]
    assert entry["delivery"]["status"] == "delivered"
    complete(world, session_id)


def wait_for_requests(world: TwilioWorld, count: int) -> dict[str, str]:
    poll_until(lambda: len(world.api.requests) >= count, what="the Messages API request")
    return world.api.requests[count - 1]


def test_unsigned_and_tampered_webhooks_are_refused_and_create_nothing(world: TwilioWorld) -> None:
    agent, customer = world.agent, world.cc.customer_number()
    form = world.inbound_form(customer, "first", "SM" + "b2" * 16)

    assert world.post("inbound", form, signature=None).status_code == 403
    signature = RequestValidator(AUTH_TOKEN).compute_signature(f"{world.webhook_base}/inbound", form)
    tampered = {**form, "Body": "refund me"}
    assert world.post("inbound", tampered, signature=signature).status_code == 403
    # Signed for another URL (what a proxy that rewrites the path would cause): refused too.
    elsewhere = RequestValidator(AUTH_TOKEN).compute_signature(f"{world.webhook_base}/status", form)
    assert world.post("inbound", form, signature=elsewhere).status_code == 403
    assert (
        world.post("status", {"MessageSid": "SMx", "MessageStatus": "delivered"}, signature=None).status_code
        == 403
    )

    # Had any of those been taken, this SMS would join that session rather than open a new one.
    assert world.post("inbound", world.inbound_form(customer, "second", "SM" + "b3" * 16)).status_code == 200
    session_id = agent.wait_invited()["id"]
    agent.op(session_id, "Accept", nickname="Alice")
    assert [m["text"] for m in messages(agent, session_id) if m["type"] == "Text"] == ["second"]
    complete(world, session_id)


def test_duplicate_inbound_is_one_message(world: TwilioWorld) -> None:
    agent, customer = world.agent, world.cc.customer_number()
    form = world.inbound_form(customer, "only once please", "SM" + "c4" * 16)
    assert world.post("inbound", form).status_code == 200
    assert world.post("inbound", form).status_code == 200  # Twilio's retry: same MessageSid
    session_id = agent.wait_invited()["id"]
    agent.op(session_id, "Accept", nickname="Alice")
    assert [m["text"] for m in messages(agent, session_id) if m["type"] == "Text"] == ["only once please"]
    complete(world, session_id)


def test_unknown_connector_and_unknown_number(world: TwilioWorld) -> None:
    form = world.inbound_form(world.cc.customer_number(), "hello", "SM" + "d5" * 16)
    unknown = world.post("inbound", form, url=f"{world.server.base_url}/connectors/nope/inbound")
    assert envelope(unknown, 404, 6).startswith("No connector 'nope'")
    not_ours = world.post("inbound", {**form, "To": "+19990000000"})
    assert envelope(not_ours, 404, 6).startswith("Not a service number")
    # A webhook must be a form: anything else is refused before the signature is even read.
    response = httpx.post(f"{world.webhook_base}/inbound", json=form, timeout=10)
    assert envelope(response, 415, 10) == "Expected application/x-www-form-urlencoded"
    forged = world.post("inbound", form, signature="forged")
    assert envelope(forged, 403, 3) == "invalid signature"


def envelope(response: httpx.Response, status: int, code: int) -> str:
    """Refusals on the webhook routes are JSON in the GWS envelope, like every other refusal."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"statusCode", "statusMessage"} and body["statusCode"] == code, body
    message: str = body["statusMessage"]
    return message


def test_signed_inbound_without_message_sid_is_refused_however_often_it_is_replayed(
    world: TwilioWorld,
) -> None:
    agent, customer = world.agent, world.cc.customer_number()
    form = world.inbound_form(customer, "replayed", "")
    for name in ("MessageSid", "SmsSid", "SmsMessageSid"):
        del form[name]
    # Correctly signed, but without the id that makes a retry one message: refused, every time.
    for _ in range(3):
        response = world.post("inbound", form)
        assert response.status_code == 400, response.text
        assert "MessageSid" in response.text
    assert world.post("inbound", world.inbound_form(customer, "genuine", "SM" + "e6" * 16)).status_code == 200
    session_id = agent.wait_invited()["id"]
    agent.op(session_id, "Accept", nickname="Alice")
    assert [m["text"] for m in messages(agent, session_id) if m["type"] == "Text"] == ["genuine"]
    complete(world, session_id)


def test_a_replayed_status_callback_changes_nothing_a_new_one_does(world: TwilioWorld) -> None:
    agent, customer = world.agent, world.cc.customer_number()
    assert world.post("inbound", world.inbound_form(customer, "status?", "SM" + "f7" * 16)).status_code == 200
    session_id, index = accept_and_reply(agent, "on its way")
    poll_until(lambda: len(world.api.sids) > 0 and world.api.requests[-1].get("To") == customer)
    message_sid = world.api.sids[-1]
    wait_delivery(agent, index, "accepted")

    def callback(status: str) -> dict[str, str]:
        return {
            "MessageSid": message_sid,
            "MessageStatus": status,
            "To": customer,
            "From": world.number,
            "AccountSid": ACCOUNT_SID,
        }

    for _ in range(3):
        assert world.post("status", callback("delivered")).status_code == 200
    wait_delivery(agent, index, "delivered")
    time.sleep(0.5)
    # Three identical signed callbacks were one report: one delivery update, not three.
    later = [m["data"] for m in agent.bayeux.drain() if m["channel"] == "/v2/me/smssessions"]
    assert [d for d in later if d.get("messageType") == "MessageDeliveryUpdated"] == []
    assert "ignored a replayed twilio report status:" in world.server.logs()
    complete(world, session_id)


def test_an_opt_out_error_about_a_message_smsdesk_never_sent_opts_nobody_out(world: TwilioWorld) -> None:
    agent, customer = world.agent, world.cc.customer_number()
    assert world.post("inbound", world.inbound_form(customer, "hi", "SM" + "a8" * 16)).status_code == 200
    session_id, _ = accept_and_reply(agent, "hello there")
    poll_until(lambda: len(world.api.sids) > 0 and world.api.requests[-1].get("To") == customer)
    sent_sid = world.api.sids[-1]

    def unsubscribed(message_sid: str) -> dict[str, str]:
        # Signed like any real callback: only the MessageSid tells it apart.
        return {
            "MessageSid": message_sid,
            "MessageStatus": "failed",
            "ErrorCode": "21610",
            "To": customer,
            "From": world.number,
            "AccountSid": ACCOUNT_SID,
        }

    forged_sid = "SM" + "0f" * 16
    assert world.post("status", unsubscribed(forged_sid)).status_code == 200  # recorded and answered
    poll_until(lambda: f"message {forged_sid}, which smsdesk never sent" in world.server.logs())
    assert agent.op(session_id, "SendMessage", text="still reachable")["statusCode"] == 0
    scrape = httpx.get(
        f"{world.server.base_url}/metrics", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10
    ).text
    assert sample(scrape, "smsdesk_sms_unknown_reports_total", connector="twilio", report="opt-out") == 1
    assert sample(scrape, "smsdesk_sms_unknown_reports_total", connector="twilio", report="receipt") == 1

    # The same error about a message smsdesk did send opts the customer out, as before.
    assert world.post("status", unsubscribed(sent_sid)).status_code == 200
    refused = agent.op(session_id, "SendMessage", text="are you there?", expect=403)
    assert refused["statusCode"] == 3
    complete(world, session_id)
