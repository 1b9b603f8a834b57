"""The Twilio-format connector: webhooks signed by the ``twilio`` package's own RequestValidator, and
sends against a loopback HTTP server that answers the way Twilio's Messages API does."""

from __future__ import annotations

import asyncio
import base64
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, parse_qsl, urlencode

import pytest
from connector_support import RecordingEvents, free_loopback_port
from twilio.request_validator import RequestValidator

from smsdesk.connectors.twilio_format import (
    TwilioConfig,
    TwilioConnector,
    WebhookKind,
    compute_signature,
    parse_inbound,
    parse_status,
    signature_is_valid,
    signed_content_digest,
)
from smsdesk.operations.sms_ports import DeliveryReceipt, OutboundSms, SmsSendError

ACCOUNT_SID = "AC" + "0" * 32
AUTH_TOKEN = "12345678901234567890123456789012"
PUBLIC_BASE = "https://sms.example.com/webhooks/twilio"

INBOUND_FORM = {
    "ToCountry": "US",
    "SmsMessageSid": "SM11111111111111111111111111111111",
    "NumMedia": "0",
    "SmsSid": "SM11111111111111111111111111111111",
    "SmsStatus": "received",
    "Body": "Hi, is my order ready? 😀 & more=stuff",
    "To": "+15005550006",
    "NumSegments": "1",
    "MessageSid": "SM11111111111111111111111111111111",
    "AccountSid": ACCOUNT_SID,
    "From": "+14155551234",
    "ApiVersion": "2010-04-01",
}


def make_connector(api_base_url: str = "https://api.twilio.com", timeout: float = 15.0) -> TwilioConnector:
    return TwilioConnector(
        TwilioConfig(
            account_sid=ACCOUNT_SID,
            auth_token=AUTH_TOKEN,
            public_webhook_base_url=PUBLIC_BASE,
            api_base_url=api_base_url,
            request_timeout_seconds=timeout,
        )
    )


def twilio_sign(url: str, form: dict[str, str]) -> str:
    signature: str = RequestValidator(AUTH_TOKEN).compute_signature(url, form)
    return signature


def as_received(form: dict[str, str]) -> dict[str, str]:
    """The form as a route decodes it from the wire body."""
    return dict(parse_qsl(urlencode(form), keep_blank_values=True))


async def deliver(
    connector: TwilioConnector, kind: WebhookKind, form: dict[str, str], signature: str | None
) -> tuple[int, RecordingEvents]:
    events = RecordingEvents()
    await connector.start(events)
    try:
        result = await connector.handle_webhook(kind, as_received(form), signature)
    finally:
        await connector.stop()
    return result.http_status, events


# ---------------------------------------------------------------------------------------------
# Signatures


def test_our_signature_equals_twilios() -> None:
    url = PUBLIC_BASE + "/inbound"
    assert compute_signature(AUTH_TOKEN, url, INBOUND_FORM) == twilio_sign(url, INBOUND_FORM)
    assert RequestValidator(AUTH_TOKEN).validate(
        url, INBOUND_FORM, compute_signature(AUTH_TOKEN, url, INBOUND_FORM)
    )


def test_signature_with_explicit_default_port_is_accepted() -> None:
    signature = twilio_sign("https://sms.example.com:443/webhooks/twilio/inbound", INBOUND_FORM)
    assert signature_is_valid(AUTH_TOKEN, PUBLIC_BASE + "/inbound", INBOUND_FORM, signature)


def test_correctly_signed_inbound_is_forwarded() -> None:
    signature = twilio_sign(PUBLIC_BASE + "/inbound", INBOUND_FORM)
    status, events = asyncio.run(deliver(make_connector(), "inbound", INBOUND_FORM, signature))
    assert status == 200
    [sms] = events.inbound_messages
    assert sms.service_number == "+15005550006"
    assert sms.customer_number == "+14155551234"
    assert sms.text == INBOUND_FORM["Body"]
    assert sms.provider_message_id == INBOUND_FORM["MessageSid"]
    assert sms.connector == "twilio"
    assert events.opt_outs == []


def test_tampered_body_is_refused_and_nothing_forwarded() -> None:
    signature = twilio_sign(PUBLIC_BASE + "/inbound", INBOUND_FORM)
    tampered = {**INBOUND_FORM, "Body": "Send me a refund"}
    status, events = asyncio.run(deliver(make_connector(), "inbound", tampered, signature))
    assert status == 403
    assert events.inbound_messages == []


def test_added_parameter_is_refused() -> None:
    signature = twilio_sign(PUBLIC_BASE + "/inbound", INBOUND_FORM)
    status, events = asyncio.run(
        deliver(make_connector(), "inbound", {**INBOUND_FORM, "Extra": "1"}, signature)
    )
    assert status == 403
    assert events.inbound_messages == []


def test_unknown_parameters_signed_by_twilio_are_accepted() -> None:
    # Twilio adds parameters without notice; they are part of the signature and must not break it.
    form = {**INBOUND_FORM, "FromCity": "SAN FRANCISCO", "SomeFutureField": "x"}
    signature = twilio_sign(PUBLIC_BASE + "/inbound", form)
    status, events = asyncio.run(deliver(make_connector(), "inbound", form, signature))
    assert status == 200
    assert len(events.inbound_messages) == 1


def test_signature_over_the_http_url_fails_against_the_https_public_url() -> None:
    # A proxy terminates TLS, so the app sees http://; Twilio signed the public https:// URL.
    signature = twilio_sign("http://sms.example.com/webhooks/twilio/inbound", INBOUND_FORM)
    status, events = asyncio.run(deliver(make_connector(), "inbound", INBOUND_FORM, signature))
    assert status == 403
    assert events.inbound_messages == []


def test_unsigned_request_is_refused() -> None:
    status, events = asyncio.run(deliver(make_connector(), "inbound", INBOUND_FORM, None))
    assert status == 403
    assert events.inbound_messages == []


def test_inbound_signature_does_not_validate_a_status_callback() -> None:
    form = {"MessageSid": "SM1", "MessageStatus": "delivered"}
    signature = twilio_sign(PUBLIC_BASE + "/inbound", form)
    status, events = asyncio.run(deliver(make_connector(), "status", form, signature))
    assert status == 403
    assert events.receipts == []


def test_replayed_duplicate_is_forwarded_with_the_same_id() -> None:
    signature = twilio_sign(PUBLIC_BASE + "/inbound", INBOUND_FORM)

    async def twice() -> RecordingEvents:
        connector = make_connector()
        events = RecordingEvents()
        await connector.start(events)
        for _ in range(2):
            result = await connector.handle_webhook("inbound", as_received(INBOUND_FORM), signature)
            assert result.http_status == 200
        await connector.stop()
        return events

    events = asyncio.run(twice())
    assert [sms.provider_message_id for sms in events.inbound_messages] == [INBOUND_FORM["MessageSid"]] * 2


def test_signed_inbound_without_sender_is_a_bad_request() -> None:
    form = {key: value for key, value in INBOUND_FORM.items() if key != "From"}
    signature = twilio_sign(PUBLIC_BASE + "/inbound", form)
    status, events = asyncio.run(deliver(make_connector(), "inbound", form, signature))
    assert status == 400
    assert events.inbound_messages == []


# ---------------------------------------------------------------------------------------------
# Inbound opt-out keywords and status callbacks


@pytest.mark.parametrize(("opt_out_type", "opted_out"), [("STOP", True), ("START", False), ("HELP", None)])
def test_opt_out_type_is_reported_after_the_message(opt_out_type: str, opted_out: bool | None) -> None:
    form = {**INBOUND_FORM, "Body": opt_out_type.lower(), "OptOutType": opt_out_type}
    signature = twilio_sign(PUBLIC_BASE + "/inbound", form)
    status, events = asyncio.run(deliver(make_connector(), "inbound", form, signature))
    assert status == 200
    assert len(events.inbound_messages) == 1
    if opted_out is None:
        assert events.opt_outs == []
    else:
        [signal] = events.opt_outs
        assert (signal.service_number, signal.customer_number) == ("+15005550006", "+14155551234")
        assert signal.opted_out is opted_out


@pytest.mark.parametrize(
    ("message_status", "error_code", "expected"),
    [
        ("queued", "", "accepted"),
        ("accepted", "", "accepted"),
        ("sent", "", "accepted"),
        ("delivered", "", "delivered"),
        ("undelivered", "30003", "failed"),
        ("failed", "30008", "failed"),
    ],
)
def test_status_callback_maps_to_receipt(message_status: str, error_code: str, expected: str) -> None:
    form = {
        "MessageSid": "SM22222222222222222222222222222222",
        "MessageStatus": message_status,
        "ErrorCode": error_code,
        "From": "+15005550006",
        "To": "+14155551234",
        "AccountSid": ACCOUNT_SID,
    }
    signature = twilio_sign(PUBLIC_BASE + "/status", form)
    status, events = asyncio.run(deliver(make_connector(), "status", form, signature))
    assert status == 200
    assert events.receipts == [
        DeliveryReceipt(
            connector="twilio",
            provider_message_id="SM22222222222222222222222222222222",
            state=expected,  # type: ignore[arg-type]
            error_code=error_code or None,
            idempotency_key="status:" + signed_content_digest(form),
        )
    ]


def test_unsubscribed_recipient_error_becomes_an_opt_out() -> None:
    form = {
        "MessageSid": "SM3",
        "MessageStatus": "failed",
        "ErrorCode": "21610",
        "From": "+1500",
        "To": "+1415",
    }
    receipt, signal = parse_status(form, connector="twilio")
    assert receipt is not None and receipt.state == "failed" and receipt.error_code == "21610"
    assert signal is not None and signal.opted_out and signal.customer_number == "+1415"
    # Intake acts on it only if smsdesk sent SM3 (operations/intake.py).
    assert signal.about_message == "SM3"


def test_untracked_status_is_acknowledged_without_a_receipt() -> None:
    receipt, signal = parse_status({"MessageSid": "SM4", "MessageStatus": "receiving"}, connector="twilio")
    assert receipt is None and signal is None


def test_parse_inbound_without_opt_out_type() -> None:
    sms, signal = parse_inbound(INBOUND_FORM, connector="tw")
    assert sms.connector == "tw" and signal is None


# ---------------------------------------------------------------------------------------------
# Sending, against a loopback server answering like Twilio


@dataclass
class FakeTwilioApi:
    """What the fake API answers next, and what it received."""

    status: int = 201
    body: dict[str, object] = field(default_factory=dict)
    delay_seconds: float = 0.0
    requests: list[tuple[str, str, dict[str, list[str]]]] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)


@pytest.fixture
def fake_twilio() -> Iterator[tuple[str, FakeTwilioApi]]:
    api = FakeTwilioApi()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            raw = self.rfile.read(length).decode()
            api.requests.append((self.path, self.headers.get("Authorization", ""), parse_qs(raw)))
            if api.delay_seconds:
                api.release.wait(api.delay_seconds)
            payload = json.dumps(api.body).encode()
            self.send_response(api.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", api
    finally:
        api.release.set()
        server.shutdown()
        server.server_close()


OUTBOUND = OutboundSms(
    outbound_id=7, service_number="+15005550006", customer_number="+14155551234", text="Hi 😀"
)


async def send_once(
    connector: TwilioConnector, sms: OutboundSms = OUTBOUND
) -> tuple[object, RecordingEvents]:
    events = RecordingEvents()
    await connector.start(events)
    try:
        try:
            return await connector.send(sms), events
        except SmsSendError as error:
            return error, events
    finally:
        await connector.stop()


def test_send_posts_twilio_form_and_returns_the_sid(fake_twilio: tuple[str, FakeTwilioApi]) -> None:
    base_url, api = fake_twilio
    api.body = {"sid": "SM99999999999999999999999999999999", "status": "queued", "num_segments": "1"}
    outcome, _events = asyncio.run(send_once(make_connector(base_url)))
    assert not isinstance(outcome, SmsSendError), outcome
    assert outcome.provider_message_id == "SM99999999999999999999999999999999"  # type: ignore[attr-defined]
    assert (outcome.segments, outcome.encoding) == (1, "UCS-2")  # type: ignore[attr-defined]
    [(path, authorization, form)] = api.requests
    assert path == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
    assert authorization == "Basic " + base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()
    assert form == {
        "To": ["+14155551234"],
        "From": ["+15005550006"],
        "Body": ["Hi 😀"],
        "StatusCallback": [PUBLIC_BASE + "/status"],
    }


def test_server_error_is_transient(fake_twilio: tuple[str, FakeTwilioApi]) -> None:
    base_url, api = fake_twilio
    api.status, api.body = 500, {"code": 20500, "message": "Internal Server Error", "status": 500}
    outcome, _events = asyncio.run(send_once(make_connector(base_url)))
    assert isinstance(outcome, SmsSendError)
    assert outcome.transient is True


def test_too_many_requests_is_transient(fake_twilio: tuple[str, FakeTwilioApi]) -> None:
    base_url, api = fake_twilio
    api.status, api.body = 429, {"code": 20429, "message": "Too Many Requests", "status": 429}
    outcome, _events = asyncio.run(send_once(make_connector(base_url)))
    assert isinstance(outcome, SmsSendError)
    assert (outcome.transient, outcome.error_code) == (True, "20429")


def test_client_error_is_permanent_with_twilio_code(fake_twilio: tuple[str, FakeTwilioApi]) -> None:
    base_url, api = fake_twilio
    api.status = 400
    api.body = {"code": 21211, "message": "The 'To' number is not a valid phone number.", "status": 400}
    outcome, events = asyncio.run(send_once(make_connector(base_url)))
    assert isinstance(outcome, SmsSendError)
    assert (outcome.transient, outcome.error_code) == (False, "21211")
    assert events.opt_outs == []


def test_unsubscribed_recipient_on_send_reports_opt_out(fake_twilio: tuple[str, FakeTwilioApi]) -> None:
    base_url, api = fake_twilio
    api.status = 400
    api.body = {"code": 21610, "message": "Attempt to send to unsubscribed recipient", "status": 400}
    outcome, events = asyncio.run(send_once(make_connector(base_url)))
    assert isinstance(outcome, SmsSendError)
    assert (outcome.transient, outcome.error_code) == (False, "21610")
    [signal] = events.opt_outs
    assert signal.opted_out and signal.customer_number == "+14155551234"


@pytest.mark.slow
def test_timeout_is_transient(fake_twilio: tuple[str, FakeTwilioApi]) -> None:
    base_url, api = fake_twilio
    api.delay_seconds = 5.0
    outcome, _events = asyncio.run(send_once(make_connector(base_url, timeout=0.3)))
    assert isinstance(outcome, SmsSendError)
    assert outcome.transient is True


def test_connection_refused_is_transient() -> None:
    outcome, _events = asyncio.run(send_once(make_connector(f"http://127.0.0.1:{free_loopback_port()}")))
    assert isinstance(outcome, SmsSendError)
    assert outcome.transient is True


def test_signed_inbound_without_message_sid_is_a_bad_request() -> None:
    form = {key: value for key, value in INBOUND_FORM.items() if key not in ("MessageSid", "SmsSid")}
    signature = twilio_sign(PUBLIC_BASE + "/inbound", form)
    status, events = asyncio.run(deliver(make_connector(), "inbound", form, signature))
    assert status == 400
    assert events.inbound_messages == []


def test_status_callbacks_are_keyed_by_their_signed_content() -> None:
    form = {"MessageSid": "SM5", "MessageStatus": "delivered", "ErrorCode": "21610", "From": "+1", "To": "+2"}
    first, first_signal = parse_status(form, connector="twilio")
    again, _ = parse_status(dict(form), connector="twilio")
    other, _ = parse_status({**form, "MessageStatus": "failed"}, connector="twilio")
    assert first is not None and again is not None and other is not None and first_signal is not None
    assert first.idempotency_key == again.idempotency_key
    assert first.idempotency_key != other.idempotency_key
    assert first_signal.idempotency_key not in (None, first.idempotency_key)
