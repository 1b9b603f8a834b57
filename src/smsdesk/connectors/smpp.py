"""An SMPP 3.4 ESME connector: binds as a transceiver to an SMSC or aggregator with smpplib.

smpplib is blocking, so one thread per connector owns the socket's read side: it binds, reads
PDUs, answers ``enquire_link``, keeps the link alive and reconnects with exponential backoff.
Everything else happens on the asyncio loop: ``send`` builds ``submit_sm`` PDUs, waits for their
``submit_sm_resp`` inside a bounded window, and one dispatcher task handles ``deliver_sm`` in
arrival order (join concatenated MO, correlate receipts) before acknowledging it, so an SMSC
redelivers what the server failed to take.

Writes come from both sides and go through one lock. A connection's PDUs carry its generation
number so that nothing of a dead connection leaks into the next. What the PDUs say (text, parts of
a long message, receipts) is read and built by ``connectors/smpp_codec.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import random
import select
import socket
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

import smpplib.client
import smpplib.consts
import smpplib.exceptions
import smpplib.smpp

from smsdesk.connectors.smpp_codec import (
    REGISTERED_DELIVERY_FINAL_RECEIPT,
    STATUS_INVALID_COMMAND_ID,
    STATUS_INVALID_DESTINATION,
    STATUS_OK,
    STATUS_TEMPORARY_APP_ERROR,
    STATUS_THROTTLED,
    TON_ALPHANUMERIC,
    TON_INTERNATIONAL,
    TRANSIENT_SUBMIT_STATUSES,
    ConcatenatedMoBuffer,
    DeliverSmFields,
    SubmitPart,
    build_submit_parts,
    concatenation_of,
    decode_short_message,
    deliver_sm_fields,
    parse_receipt,
    pdu_text,
    smpp_address,
)
from smsdesk.operations import phone_numbers
from smsdesk.operations.intake import UnknownServiceNumber
from smsdesk.operations.ports import StorageUnavailable
from smsdesk.operations.ratelimit import RateLimited
from smsdesk.operations.sms_ports import (
    DeliveryReceipt,
    InboundSms,
    OutboundSms,
    SendAccepted,
    SmsEvents,
    SmsSendError,
)

logger = logging.getLogger(__name__)
# smpplib hex-dumps every PDU at DEBUG, bind_transceiver and its password included: keep that out
# of logs even when an operator turns DEBUG on for everything.
logging.getLogger(f"{__name__}.wire").setLevel(logging.INFO)


@dataclass(frozen=True, slots=True)
class SmppConfig:
    """Where and how to bind, and the limits of the session.

    ``window`` is the most ``submit_sm`` awaiting their response at once (each part of a long
    message counts). ``enquire_link_interval`` is both how often the link is probed and, with
    ``response_timeout``, how long silence may last before the link is declared dead.
    """

    host: str
    system_id: str
    password: str = field(repr=False)
    port: int = 2775
    system_type: str = ""
    source_ton: int = smpplib.consts.SMPP_TON_INTL
    source_npi: int = smpplib.consts.SMPP_NPI_ISDN
    destination_ton: int = smpplib.consts.SMPP_TON_INTL
    destination_npi: int = smpplib.consts.SMPP_NPI_ISDN
    window: int = 10
    enquire_link_interval: float = 30.0
    response_timeout: float = 10.0
    reconnect_initial_delay: float = 1.0
    reconnect_max_delay: float = 60.0
    concatenated_mo_ttl: float = 600.0
    name: str = "smpp"


class _SequenceNumbers:
    """smpplib's sequence generator, made safe to share between the reader thread and the loop."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last = 0

    @property
    def sequence(self) -> int:
        return self._last

    def next_sequence(self) -> int:
        with self._lock:
            self._last = self._last % 0x7FFFFFFF + 1
            return self._last


@dataclass
class _MultipartReceipts:
    """Receipts of one long message arrive per part; the server hears one outcome for the message."""

    primary_id: str
    part_ids: frozenset[str]
    delivered: set[str] = field(default_factory=set)
    reported_final: bool = False


class SmppLinkDown(Exception):
    pass


# ---------------------------------------------------------------------------------------------
# The connector


class SmppConnector:
    """An ESME bound as transceiver; see the module docstring for the threading model."""

    MULTIPART_TRACKING_LIMIT: Final = 50_000

    def __init__(self, config: SmppConfig, *, default_region: str = "") -> None:
        self.config = config
        self.default_region = default_region
        self.name = config.name
        self._events: SmsEvents | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._sequences = _SequenceNumbers()
        self._write_lock = threading.Lock()
        self._client: Any = None
        self._generation = 0
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._bind_token = ""
        # Loop-side state below: touched only on the event loop.
        self._bound = asyncio.Event()
        self._window = asyncio.Semaphore(config.window)
        self._pending: dict[int, tuple[int, asyncio.Future[str]]] = {}
        self._delivers: asyncio.Queue[tuple[int, str, DeliverSmFields] | None] = asyncio.Queue()
        self._dispatcher: asyncio.Task[None] | None = None
        self._concatenated = ConcatenatedMoBuffer(config.concatenated_mo_ttl)
        self._multipart: OrderedDict[str, _MultipartReceipts] = OrderedDict()
        self._references = itertools.count(random.randrange(256))

    # -- lifecycle -----------------------------------------------------------------------------

    @property
    def is_bound(self) -> bool:
        return self._bound.is_set()

    async def wait_until_bound(self) -> None:
        await self._bound.wait()

    async def start(self, events: SmsEvents) -> None:
        self._events = events
        self._loop = asyncio.get_running_loop()
        self._stopping.clear()
        self._dispatcher = asyncio.create_task(self._dispatch_delivers(), name=f"{self.name}-deliver_sm")
        self._thread = threading.Thread(target=self._run_link, name=f"{self.name}-smpp-link", daemon=True)
        self._thread.start()

    async def stop(self) -> None:
        self._stopping.set()
        await asyncio.get_running_loop().run_in_executor(None, self._unbind_quietly)
        if self._thread is not None:
            await asyncio.get_running_loop().run_in_executor(None, self._thread.join)
            self._thread = None
        if self._dispatcher is not None:
            self._delivers.put_nowait(None)
            await self._dispatcher
            self._dispatcher = None
        self._fail_pending(None, "connector stopped")

    # -- the link thread -----------------------------------------------------------------------

    def _run_link(self) -> None:
        delay = self.config.reconnect_initial_delay
        while not self._stopping.is_set():
            generation = self._generation + 1
            try:
                client = self._connect_and_bind(generation)
                delay = self.config.reconnect_initial_delay
                self._read_until_down(client, generation)
            except (smpplib.exceptions.ConnectionError, smpplib.exceptions.PDUError, OSError) as error:
                if not self._stopping.is_set():
                    logger.warning("%s: SMPP link to %s:%s down: %r", self.name, *self._address, error)
            except SmppLinkDown as error:
                if not self._stopping.is_set():
                    logger.warning("%s: SMPP link to %s:%s down: %s", self.name, *self._address, error)
            except Exception:
                # Whatever went wrong (an unknown command id, a malformed PDU), the thread must live
                # on: a fresh bind is the one recovery SMPP offers.
                logger.exception("%s: SMPP link to %s:%s failed", self.name, *self._address)
            finally:
                self._drop_connection(generation)
            if self._stopping.wait(delay * random.uniform(0.5, 1.0)):
                break
            delay = min(delay * 2, self.config.reconnect_max_delay)

    @property
    def _address(self) -> tuple[str, int]:
        return self.config.host, self.config.port

    def _connect_and_bind(self, generation: int) -> Any:
        client = smpplib.client.Client(
            self.config.host,
            self.config.port,
            timeout=self.config.response_timeout,
            sequence_generator=self._sequences,
            logger_name=f"{__name__}.wire",
            allow_unknown_opt_params=True,
        )
        with self._write_lock:
            self._client = client
            self._generation = generation
        client.connect()
        client.bind_transceiver(
            system_id=self.config.system_id,
            password=self.config.password,
            system_type=self.config.system_type,
        )
        self._bind_token = uuid.uuid4().hex[:12]
        logger.info("%s: bound to %s:%s as %s", self.name, *self._address, self.config.system_id)
        self._to_loop(self._bound.set)
        return client

    def _read_until_down(self, client: Any, generation: int) -> None:
        interval = self.config.enquire_link_interval
        last_received = last_probe = time.monotonic()
        while not self._stopping.is_set():
            now = time.monotonic()
            if now - last_received > interval + self.config.response_timeout:
                raise SmppLinkDown(f"no answer for {now - last_received:.1f} s")
            if now - last_probe >= interval:
                self._write(generation, smpplib.smpp.make_pdu("enquire_link", client=client))
                last_probe = now
            wake_in = max(0.05, min(0.5, last_probe + interval - now))
            readable, _, _ = select.select([client._socket], [], [], wake_in)
            if not readable:
                continue
            pdu = client.read_pdu()
            last_received = time.monotonic()
            if pdu is None:
                continue
            if self._handle_pdu(client, generation, pdu) == "unbound":
                return

    def _handle_pdu(self, client: Any, generation: int, pdu: Any) -> str | None:
        command = pdu.command
        if command in ("submit_sm_resp", "generic_nack"):
            message_id = pdu_text(getattr(pdu, "message_id", None))
            self._to_loop(self._resolve_submit, generation, pdu.sequence, pdu.status, message_id)
        elif command == "deliver_sm":
            fields = deliver_sm_fields(pdu)
            self._to_loop(self._delivers.put_nowait, (generation, self._bind_token, fields))
        elif command == "enquire_link":
            self._respond(client, generation, "enquire_link_resp", pdu.sequence)
        elif command == "unbind":
            self._respond(client, generation, "unbind_resp", pdu.sequence)
            logger.info("%s: SMSC unbound", self.name)
            return "unbound"
        elif command == "unbind_resp":
            return "unbound"
        elif pdu.is_request() and command != "alert_notification":
            # data_sm and the like: say "not supported" so the SMSC does not wait for an answer.
            logger.info("%s: answered unsupported %s with generic_nack", self.name, command)
            self._respond(client, generation, "generic_nack", pdu.sequence, STATUS_INVALID_COMMAND_ID)
        return None

    def _respond(self, client: Any, generation: int, command: str, sequence: int, status: int = 0) -> None:
        response = smpplib.smpp.make_pdu(command, client=client, status=status)
        response.sequence = sequence
        self._write(generation, response)

    def _write(self, generation: int, pdu: Any) -> None:
        """Send one PDU on the connection of ``generation``; refuse if that connection is gone."""
        with self._write_lock:
            if self._client is None or self._generation != generation:
                raise SmppLinkDown("connection replaced")
            self._client.send_pdu(pdu)

    def _drop_connection(self, generation: int) -> None:
        with self._write_lock:
            client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(OSError):
                if client._socket is not None:
                    client._socket.shutdown(socket.SHUT_RDWR)
            # Set OPEN first: smpplib warns when disconnecting a bound client, which is the point here.
            client.state = smpplib.consts.SMPP_CLIENT_STATE_OPEN
            with contextlib.suppress(Exception):
                client.disconnect()
        self._to_loop(self._on_link_down, generation)

    def _unbind_quietly(self) -> None:
        with self._write_lock:
            client = self._client
            if client is None or client.state != smpplib.consts.SMPP_CLIENT_STATE_BOUND_TRX:
                return
            with contextlib.suppress(Exception):
                client.send_pdu(smpplib.smpp.make_pdu("unbind", client=client))
        # The reader thread sees unbind_resp (or the close) and ends; do not wait for ever on an SMSC
        # that stays silent.
        if self._thread is not None:
            self._thread.join(self.config.response_timeout)
        with self._write_lock:
            client = self._client
        if client is not None and client._socket is not None:
            with contextlib.suppress(OSError):
                client._socket.shutdown(socket.SHUT_RDWR)

    def _to_loop(self, callback: Callable[..., object], *args: object) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        with contextlib.suppress(RuntimeError):  # the loop closed between the check and the call
            loop.call_soon_threadsafe(callback, *args)

    # -- loop side: link state -----------------------------------------------------------------

    def _on_link_down(self, generation: int) -> None:
        # Callbacks from the link thread run in order, so this never clears a newer bind.
        self._bound.clear()
        self._fail_pending(generation, "SMPP link lost before submit_sm_resp")

    def _fail_pending(self, generation: int | None, reason: str) -> None:
        for sequence, (pending_generation, future) in list(self._pending.items()):
            if generation is None or pending_generation == generation:
                del self._pending[sequence]
                if not future.done():
                    future.set_exception(SmsSendError(reason, transient=True))

    def _resolve_submit(self, generation: int, sequence: int, status: int, message_id: str) -> None:
        entry = self._pending.pop(sequence, None)
        if entry is None or entry[0] != generation or entry[1].done():
            return
        future = entry[1]
        if status == STATUS_OK and message_id:
            future.set_result(message_id)
            return
        if status == STATUS_OK:
            # Taken but unreferenceable: a retry would send it twice, so fail it for a human.
            future.set_exception(
                SmsSendError("SMSC accepted submit_sm without a message_id", transient=False)
            )
            return
        code = f"0x{status:08X}"
        future.set_exception(
            SmsSendError(
                f"SMSC refused submit_sm: {code} {smpplib.consts.DESCRIPTIONS.get(status, '')}".rstrip(),
                transient=status in TRANSIENT_SUBMIT_STATUSES,
                error_code=code,
            )
        )

    # -- loop side: sending --------------------------------------------------------------------

    async def send(self, sms: OutboundSms) -> SendAccepted:
        if self._loop is None:
            raise SmsSendError(f"connector {self.name} not started", transient=True)
        try:
            encoding, parts = build_submit_parts(sms.text, next(self._references))
        except ValueError as error:
            raise SmsSendError(str(error), transient=False) from error
        results = await asyncio.gather(*(self._submit(sms, part) for part in parts), return_exceptions=True)
        failures = [result for result in results if isinstance(result, BaseException)]
        if failures:
            # A part already accepted may still reach the phone; the first failure says why the rest did not.
            raise failures[0]
        message_ids = [result for result in results if isinstance(result, str)]
        if len(message_ids) > 1:
            self._track_multipart(message_ids)
        return SendAccepted(provider_message_id=message_ids[0], segments=len(parts), encoding=encoding)

    async def _submit(self, sms: OutboundSms, part: SubmitPart) -> str:
        async with self._window:
            if not self.is_bound:
                raise SmsSendError("SMPP link not bound", transient=True)
            with self._write_lock:
                client, generation = self._client, self._generation
            if client is None:
                raise SmsSendError("SMPP link not bound", transient=True)
            pdu = smpplib.smpp.make_pdu(
                "submit_sm",
                client=client,
                source_addr_ton=self.config.source_ton,
                source_addr_npi=self.config.source_npi,
                source_addr=smpp_address(sms.service_number, self.config.source_ton),
                dest_addr_ton=self.config.destination_ton,
                dest_addr_npi=self.config.destination_npi,
                destination_addr=smpp_address(sms.customer_number, self.config.destination_ton),
                esm_class=part.esm_class,
                registered_delivery=REGISTERED_DELIVERY_FINAL_RECEIPT,
                data_coding=part.data_coding,
                short_message=part.short_message,
            )
            future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
            self._pending[pdu.sequence] = (generation, future)
            try:
                await asyncio.get_running_loop().run_in_executor(None, self._write, generation, pdu)
            except (SmppLinkDown, smpplib.exceptions.ConnectionError, smpplib.exceptions.PDUError) as error:
                self._pending.pop(pdu.sequence, None)
                raise SmsSendError(f"submit_sm not written: {error!r}", transient=True) from error
            try:
                async with asyncio.timeout(self.config.response_timeout):
                    return await future
            except TimeoutError as error:
                self._pending.pop(pdu.sequence, None)
                raise SmsSendError("no submit_sm_resp in time", transient=True) from error

    def _track_multipart(self, message_ids: list[str]) -> None:
        tracker = _MultipartReceipts(primary_id=message_ids[0], part_ids=frozenset(message_ids))
        for message_id in message_ids:
            self._multipart[message_id] = tracker
        while len(self._multipart) > self.MULTIPART_TRACKING_LIMIT:
            self._multipart.popitem(last=False)

    # -- loop side: deliver_sm -----------------------------------------------------------------

    async def _dispatch_delivers(self) -> None:
        while (item := await self._delivers.get()) is not None:
            generation, bind_token, fields = item
            try:
                await self._handle_deliver(bind_token, fields)
                status = STATUS_OK
            except UnknownServiceNumber:
                status = STATUS_INVALID_DESTINATION  # intake logged the one line that says so
            except RateLimited as error:
                logger.info("%s: deliver_sm %d throttled: %s", self.name, fields.sequence, error)
                status = STATUS_THROTTLED
            except StorageUnavailable:
                # The database is away (logged once): the SMSC delivers it again later.
                logger.info(
                    "%s: deliver_sm %d not taken while the database is away", self.name, fields.sequence
                )
                status = STATUS_TEMPORARY_APP_ERROR
            except Exception:
                logger.exception(
                    "%s: deliver_sm %d not taken; asking the SMSC to retry", self.name, fields.sequence
                )
                status = STATUS_TEMPORARY_APP_ERROR
            await self._acknowledge(generation, fields.sequence, status)

    async def _acknowledge(self, generation: int, sequence: int, status: int) -> None:
        with self._write_lock:
            client = self._client
        if client is None or self._generation != generation:
            return  # the SMSC redelivers unacknowledged messages on the next bind
        response = smpplib.smpp.make_pdu("deliver_sm_resp", client=client, status=status)
        response.sequence = sequence
        try:
            await asyncio.get_running_loop().run_in_executor(None, self._write, generation, response)
        except (SmppLinkDown, smpplib.exceptions.ConnectionError, smpplib.exceptions.PDUError) as error:
            logger.info("%s: deliver_sm_resp %d not sent: %r", self.name, sequence, error)

    async def _handle_deliver(self, bind_token: str, fields: DeliverSmFields) -> None:
        events = self._events
        if events is None:
            raise RuntimeError("no SmsEvents")
        if fields.is_receipt:
            receipt = parse_receipt(fields, connector=self.name)
            if receipt is None:
                logger.warning("%s: unreadable delivery receipt %r", self.name, fields.payload[:160])
                return
            receipt = self._fold_multipart(receipt)
            if receipt is not None:
                await events.delivery_receipt(receipt)
            return
        info, body = concatenation_of(fields)
        first_sequence, data_coding = fields.sequence, fields.data_coding
        if info is not None and info.total > 1:
            completed = self._concatenated.add(fields, info, body)
            if completed is None:
                return
            data_coding, first_sequence, body = completed
        await events.inbound(
            InboundSms(
                service_number=self._number(fields.destination_addr, fields.dest_addr_ton),
                customer_number=self._number(fields.source_addr, fields.source_addr_ton),
                text=decode_short_message(body, data_coding),
                connector=self.name,
                # deliver_sm carries no message id for MO; the bind token keeps ids from colliding
                # across binds and restarts while still catching a resend within one bind.
                provider_message_id=f"{bind_token}-{first_sequence}",
            )
        )

    def _number(self, address: str, ton: int) -> str:
        if ton == TON_ALPHANUMERIC or not address.strip():
            return address.strip()
        return phone_numbers.normalise(address, self.default_region, international=ton == TON_INTERNATIONAL)

    def _fold_multipart(self, receipt: DeliveryReceipt) -> DeliveryReceipt | None:
        """Translate a part's receipt into one about the whole message, reported once when final."""
        tracker = self._multipart.get(receipt.provider_message_id)
        if tracker is None:
            return receipt
        if tracker.reported_final:
            return None
        whole = DeliveryReceipt(
            connector=receipt.connector,
            provider_message_id=tracker.primary_id,
            state=receipt.state,
            error_code=receipt.error_code,
        )
        if receipt.state in ("failed", "expired"):
            tracker.reported_final = True
            return whole
        if receipt.state == "delivered":
            tracker.delivered.add(receipt.provider_message_id)
            if tracker.delivered == tracker.part_ids:
                tracker.reported_final = True
                for part_id in tracker.part_ids:
                    self._multipart.pop(part_id, None)
                return whole
            return None
        return whole if receipt.provider_message_id == tracker.primary_id else None
