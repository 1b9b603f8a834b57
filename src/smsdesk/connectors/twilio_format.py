"""An HTTP SMS provider connector speaking the Twilio Messaging format.

Inbound messages and status callbacks arrive as signed form posts. The HTTP layer owns the routes
and calls :meth:`TwilioConnector.handle_webhook`; this module owns everything Twilio-specific:
signature checking, the field names, the status vocabulary and the error codes.

Signatures are checked against the configured *public* URLs, because behind a TLS-terminating
proxy the URL a request arrives on (``http://10.0.0.5:8080/...``) is not the one Twilio signed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final, Literal
from urllib.parse import urlsplit, urlunsplit

import httpx

from smsdesk.domain.sms_encoding import analyse
from smsdesk.operations import phone_numbers
from smsdesk.operations.sms_ports import (
    DeliveryReceipt,
    DeliveryState,
    InboundSms,
    OptOutSignal,
    OutboundSms,
    SendAccepted,
    SmsEvents,
    SmsSendError,
)

logger = logging.getLogger(__name__)

SIGNATURE_HEADER: Final = "X-Twilio-Signature"
WebhookKind = Literal["inbound", "status"]

# Twilio's "Attempt to send to unsubscribed recipient": the customer texted STOP.
OPT_OUT_ERROR_CODES: Final = frozenset({"21610"})

STATUS_TO_STATE: Final[Mapping[str, DeliveryState]] = {
    "accepted": "accepted",
    "scheduled": "accepted",
    "queued": "accepted",
    "sending": "accepted",
    "sent": "accepted",
    "delivered": "delivered",
    "read": "delivered",
    "undelivered": "failed",
    "failed": "failed",
    "canceled": "failed",
}

# An empty TwiML document: Twilio sends no auto-reply and logs no "invalid response" warning.
EMPTY_TWIML: Final = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


class WebhookFormError(ValueError):
    """A signed webhook lacks a field we cannot do without."""


# ---------------------------------------------------------------------------------------------
# Signatures


def compute_signature(auth_token: str, url: str, form: Mapping[str, str]) -> str:
    """base64(HMAC-SHA1(auth_token, url + key1 + value1 + key2 + value2 ...)), keys sorted."""
    payload = url + "".join(key + form[key] for key in sorted(form))
    digest = hmac.new(auth_token.encode(), payload.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def _url_port_variants(url: str) -> tuple[str, ...]:
    """The URL without and with its default port: Twilio signs either form depending on the product."""
    parts = urlsplit(url)
    default_port = {"https": 443, "http": 80}.get(parts.scheme)
    if default_port is None or parts.port not in (None, default_port):
        return (url,)
    netloc_without_port = parts.netloc.rsplit(":", 1)[0] if parts.port else parts.netloc
    return (
        urlunsplit(parts._replace(netloc=netloc_without_port)),
        urlunsplit(parts._replace(netloc=f"{netloc_without_port}:{default_port}")),
    )


def signature_is_valid(auth_token: str, url: str, form: Mapping[str, str], signature: str | None) -> bool:
    if not signature:
        return False
    presented = signature.strip().encode()
    valid = False
    for candidate_url in _url_port_variants(url):
        expected = compute_signature(auth_token, candidate_url, form).encode()
        # No short-circuit, so the time taken does not tell which variant matched.
        valid |= hmac.compare_digest(expected, presented)
    return valid


def signed_content_digest(form: Mapping[str, str]) -> str:
    """SHA-256 of the form as the signature covers it (sorted keys and values, unambiguously joined).
    The URL is left out: one connector has one status URL."""
    hasher = hashlib.sha256()
    for key in sorted(form):
        for part in (key, form[key]):
            encoded = part.encode()
            hasher.update(len(encoded).to_bytes(4, "big") + encoded)
    return hasher.hexdigest()


# ---------------------------------------------------------------------------------------------
# Parsing


def _required(form: Mapping[str, str], name: str) -> str:
    value = form.get(name, "").strip()
    if not value:
        raise WebhookFormError(f"missing {name}")
    return value


def _number(form: Mapping[str, str], name: str, default_region: str) -> str:
    try:
        return phone_numbers.normalise(_required(form, name), default_region)
    except phone_numbers.InvalidPhoneNumber as error:
        raise WebhookFormError(f"{name}: {error}") from None


def parse_inbound(
    form: Mapping[str, str], *, connector: str, default_region: str = ""
) -> tuple[InboundSms, OptOutSignal | None]:
    """An inbound-message webhook as the SMS it carries, plus the opt change Twilio recognised in it.

    Twilio sets ``OptOutType`` to STOP, START or HELP when its Advanced Opt-Out matched a keyword;
    HELP changes nothing.
    """
    # The message id is what makes a provider's retry (or a captured request replayed) one message,
    # so a request without it is refused rather than taken as a new message every time it arrives.
    message_sid = (form.get("MessageSid") or form.get("SmsSid") or "").strip()
    if not message_sid:
        raise WebhookFormError("missing MessageSid")
    sms = InboundSms(
        service_number=_number(form, "To", default_region),
        customer_number=_number(form, "From", default_region),
        text=form.get("Body", ""),
        connector=connector,
        provider_message_id=message_sid,
    )
    opt_out_type = form.get("OptOutType", "").strip().upper()
    signal: OptOutSignal | None = None
    if opt_out_type in {"STOP", "START"}:
        signal = OptOutSignal(
            service_number=sms.service_number,
            customer_number=sms.customer_number,
            opted_out=opt_out_type == "STOP",
            connector=connector,
            reason=f"keyword {opt_out_type}",
            idempotency_key=f"opt-out:{message_sid}",
        )
    return sms, signal


def parse_status(
    form: Mapping[str, str], *, connector: str, default_region: str = ""
) -> tuple[DeliveryReceipt | None, OptOutSignal | None]:
    """A status callback as a receipt (None for statuses we do not track) and an opt-out it implies.

    A status callback is about a message we sent, so ``From`` is our service number and ``To``
    the customer.
    """
    message_sid = (form.get("MessageSid") or form.get("SmsSid") or "").strip()
    if not message_sid:
        raise WebhookFormError("missing MessageSid")
    # One message has several callbacks (sent, delivered...), so its id alone cannot key them; the
    # digest of everything the provider signed can: a replay is byte-for-byte the same request.
    key = "status:" + signed_content_digest(form)
    status = (form.get("MessageStatus") or form.get("SmsStatus") or "").strip().lower()
    error_code = form.get("ErrorCode", "").strip() or None
    state = STATUS_TO_STATE.get(status)
    receipt = None
    if state is not None:
        receipt = DeliveryReceipt(
            connector=connector,
            provider_message_id=message_sid,
            state=state,
            error_code=error_code,
            idempotency_key=key,
        )
    signal = None
    if error_code in OPT_OUT_ERROR_CODES and form.get("From") and form.get("To"):
        signal = OptOutSignal(
            service_number=_number(form, "From", default_region),
            customer_number=_number(form, "To", default_region),
            opted_out=True,
            connector=connector,
            reason=f"twilio error {error_code}",
            idempotency_key="opt-out:" + key,
            about_message=message_sid,
        )
    return receipt, signal


# ---------------------------------------------------------------------------------------------
# The connector


@dataclass(frozen=True, slots=True)
class TwilioConfig:
    """``public_webhook_base_url`` is what Twilio is configured to call, e.g.
    ``https://sms.example.com/webhooks/twilio``; inbound messages go to ``<base>/inbound`` and,
    unless ``status_callback_url`` says otherwise, status callbacks to ``<base>/status``.
    """

    account_sid: str
    auth_token: str = field(repr=False)
    public_webhook_base_url: str
    status_callback_url: str | None = None
    api_base_url: str = "https://api.twilio.com"
    request_timeout_seconds: float = 15.0
    name: str = "twilio"

    @property
    def inbound_url(self) -> str:
        return self.public_webhook_base_url.rstrip("/") + "/inbound"

    @property
    def effective_status_callback_url(self) -> str:
        return self.status_callback_url or self.public_webhook_base_url.rstrip("/") + "/status"


@dataclass(frozen=True, slots=True)
class WebhookResult:
    """What the route answers.

    ``http_status`` is 200 when the webhook was accepted and forwarded (also for a status we do not
    track), 403 when the signature is missing or wrong (nothing was forwarded), 400 when a signed
    request lacks required fields. An exception raised by the ``SmsEvents`` handler propagates so
    that the route answers 5xx and a provider that retries will retry.
    """

    http_status: Literal[200, 400, 403]
    body: str = ""
    content_type: str = "text/plain; charset=utf-8"
    reason: str = ""

    @property
    def accepted(self) -> bool:
        return self.http_status == 200


class TwilioConnector:
    """Sends through Twilio's Messages API and turns Twilio's webhooks into ``SmsEvents`` calls."""

    def __init__(
        self, config: TwilioConfig, *, http_client: httpx.AsyncClient | None = None, default_region: str = ""
    ) -> None:
        self.config = config
        self.default_region = default_region
        self.name = config.name
        self._events: SmsEvents | None = None
        self._http_client = http_client
        self._owns_http_client = http_client is None

    async def start(self, events: SmsEvents) -> None:
        self._events = events
        if self._http_client is None:
            self._http_client = self._new_http_client()

    async def stop(self) -> None:
        if self._http_client is not None and self._owns_http_client:
            await self._http_client.aclose()
            self._http_client = None
        self._events = None

    def _new_http_client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            timeout=httpx.Timeout(self.config.request_timeout_seconds),
            headers={"Accept": "application/json"},
        )

    # -- outbound ------------------------------------------------------------------------------

    @property
    def messages_url(self) -> str:
        api_base = self.config.api_base_url.rstrip("/")
        return f"{api_base}/2010-04-01/Accounts/{self.config.account_sid}/Messages.json"

    async def send(self, sms: OutboundSms) -> SendAccepted:
        if self._http_client is None:
            self._http_client = self._new_http_client()
            self._owns_http_client = True
        form = {
            "To": sms.customer_number,
            "From": sms.service_number,
            "Body": sms.text,
            "StatusCallback": self.config.effective_status_callback_url,
        }
        try:
            response = await self._http_client.post(
                self.messages_url,
                data=form,
                auth=httpx.BasicAuth(self.config.account_sid, self.config.auth_token),
            )
        except httpx.TimeoutException as error:
            raise SmsSendError(f"twilio request timed out: {error!r}", transient=True) from error
        except httpx.TransportError as error:
            raise SmsSendError(f"twilio unreachable: {error!r}", transient=True) from error

        if response.status_code in (200, 201):
            return self._accepted(sms, response)
        error_code, message = _twilio_error(response)
        reason = f"twilio answered {response.status_code}: {message}"
        # 429 is Twilio's "too many requests": the same send will work later.
        transient = response.status_code >= 500 or response.status_code == 429
        if not transient and error_code in OPT_OUT_ERROR_CODES:
            await self._report_opt_out(sms, error_code)
        raise SmsSendError(reason, transient=transient, error_code=error_code)

    def _accepted(self, sms: OutboundSms, response: httpx.Response) -> SendAccepted:
        try:
            payload = response.json()
            sid = payload["sid"]
        except (ValueError, KeyError, TypeError) as error:
            # Twilio took the message, so a retry would send it twice: fail it for a human instead.
            raise SmsSendError(
                f"twilio accepted the message but its answer has no sid: {response.text[:200]!r}",
                transient=False,
            ) from error
        analysis = analyse(sms.text)
        return SendAccepted(
            provider_message_id=str(sid), segments=analysis.segments, encoding=analysis.encoding
        )

    async def _report_opt_out(self, sms: OutboundSms, error_code: str) -> None:
        if self._events is None:
            return
        await self._events.opt_out(
            OptOutSignal(
                service_number=sms.service_number,
                customer_number=sms.customer_number,
                opted_out=True,
                connector=self.name,
                reason=f"twilio error {error_code}",
            )
        )

    # -- webhooks ------------------------------------------------------------------------------

    def webhook_url(self, kind: WebhookKind) -> str:
        return self.config.inbound_url if kind == "inbound" else self.config.effective_status_callback_url

    async def handle_webhook(
        self, kind: WebhookKind, form: Mapping[str, str], signature: str | None
    ) -> WebhookResult:
        """Check the signature of one webhook and report what it says to the ``SmsEvents``.

        ``form`` is the decoded POST body, ``signature`` the ``X-Twilio-Signature`` header.
        """
        url = self.webhook_url(kind)
        if not signature_is_valid(self.config.auth_token, url, form, signature):
            logger.warning(
                "refused %s webhook for %s: %s signature (checked against %s)",
                kind,
                self.name,
                "bad" if signature else "no",
                url,
            )
            return WebhookResult(http_status=403, reason="invalid signature")
        events = self._events
        if events is None:
            raise RuntimeError(f"connector {self.name} got a webhook before start()")
        try:
            if kind == "inbound":
                sms, signal = parse_inbound(form, connector=self.name, default_region=self.default_region)
            else:
                receipt, signal = parse_status(form, connector=self.name, default_region=self.default_region)
        except WebhookFormError as error:
            logger.warning("refused signed %s webhook for %s: %s", kind, self.name, error)
            return WebhookResult(http_status=400, reason=str(error))
        if kind == "inbound":
            await events.inbound(sms)
        elif receipt is not None:
            await events.delivery_receipt(receipt)
        if signal is not None:
            await events.opt_out(signal)
        if kind == "inbound":
            return WebhookResult(http_status=200, body=EMPTY_TWIML, content_type="text/xml")
        return WebhookResult(http_status=200)


def _twilio_error(response: httpx.Response) -> tuple[str | None, str]:
    """Twilio's error ``code`` and ``message`` from an error answer, if it is the usual JSON."""
    try:
        payload = response.json()
    except ValueError:
        return None, response.text[:200]
    if not isinstance(payload, dict):
        return None, response.text[:200]
    code = payload.get("code")
    message = str(payload.get("message") or response.reason_phrase)
    return (str(code) if code is not None else None), message
