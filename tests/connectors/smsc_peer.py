"""A scriptable SMSC on loopback, built on the ``smpp34`` package's SMPP server (Rust core).

It records binds and ``submit_sm``s, answers each ``submit_sm`` with an id ``MSG-<n>`` (or a
status the test chooses), and pushes ``deliver_sm`` (MO and receipts) to the bound ESME.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
from collections.abc import Callable
from dataclasses import dataclass, field

import smpp34


@dataclass(frozen=True)
class ReceivedSubmit:
    source_addr: str
    destination_addr: str
    esm_class: int
    data_coding: int
    registered_delivery: int
    short_message: bytes
    message_id: str | None


@dataclass
class LoopbackSmsc:
    port: int
    # Return a command_status to reject a submit_sm, None to accept it.
    decide: Callable[[ReceivedSubmit], int | None] = lambda _submit: None
    answer_delay: float = 0.0
    binds: list[str] = field(default_factory=list)
    submits: list[ReceivedSubmit] = field(default_factory=list)
    outstanding: int = 0
    most_outstanding: int = 0
    unbound_sessions: int = 0
    _server: smpp34.Server | None = None
    _task: asyncio.Task[None] | None = None
    _esme: smpp34.Esme | None = None
    _changed: asyncio.Event = field(default_factory=asyncio.Event)
    _answers: set[asyncio.Task[None]] = field(default_factory=set)

    async def start(self) -> None:
        self._server = smpp34.Server("127.0.0.1", self.port, system_id="loopsmsc")
        await self._server.start()
        self._task = asyncio.create_task(self._serve())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._server is not None:
            await self._server.stop()
        self._server, self._task, self._esme = None, None, None

    async def _serve(self) -> None:
        assert self._server is not None
        next_id = len(self.submits) + 1
        while True:
            event = await self._server.next()
            if isinstance(event, smpp34.Esme):
                self._esme = event
                self.binds.append(event.system_id)
            elif isinstance(event, smpp34.SubmitSmEvent):
                message_id = f"MSG-{next_id}"
                next_id += 1
                submit = ReceivedSubmit(
                    source_addr=event.source_addr,
                    destination_addr=event.destination_addr,
                    esm_class=event.esm_class,
                    data_coding=event.data_coding,
                    registered_delivery=event.registered_delivery,
                    short_message=event.short_message,
                    message_id=message_id,
                )
                self.submits.append(submit)
                self.outstanding += 1
                self.most_outstanding = max(self.most_outstanding, self.outstanding)
                answer = asyncio.create_task(self._answer(event, submit))
                self._answers.add(answer)
                answer.add_done_callback(self._answers.discard)
            elif isinstance(event, smpp34.Unbound):
                self.unbound_sessions += 1
            self._changed.set()

    async def _answer(self, event: smpp34.SubmitSmEvent, submit: ReceivedSubmit) -> None:
        if self.answer_delay:
            await asyncio.sleep(self.answer_delay)
        self.outstanding -= 1
        status = self.decide(submit)
        if status is None:
            assert submit.message_id is not None
            event.accept(submit.message_id)
        else:
            event.reject(status)

    async def wait_until(self, condition: Callable[[], bool], limit_seconds: float = 10.0) -> None:
        async with asyncio.timeout(limit_seconds):
            while not condition():
                self._changed.clear()
                if condition():
                    break
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(0.05):
                        await self._changed.wait()

    async def deliver(
        self,
        *,
        source_addr: str,
        destination_addr: str,
        short_message: bytes,
        esm_class: int = 0,
        data_coding: int = 0,
        tlvs: list[smpp34.Tlv] | None = None,
    ) -> int:
        """Push a deliver_sm to the bound ESME and return the command_status it answered with."""
        assert self._esme is not None, "no ESME bound"
        response = await self._esme.deliver_sm(
            destination_addr,
            short_message,
            source_addr=source_addr,
            esm_class=esm_class,
            data_coding=data_coding,
            tlvs=tlvs or [],
        )
        return response.command_status

    async def unbind_esme(self) -> None:
        assert self._esme is not None
        esme, self._esme = self._esme, None
        await esme.unbind()


class SeverableTcpProxy:
    """Forwards loopback TCP to the SMSC and can cut every connection, to stage a network loss."""

    def __init__(self, listen_port: int, target_port: int) -> None:
        self.listen_port = listen_port
        self.target_port = target_port
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._pumps: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.listen_port)

    async def sever(self) -> None:
        """Stop listening and drop every open connection."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for writer in list(self._writers):
            writer.transport.abort()
        for pump in list(self._pumps):
            pump.cancel()
        self._writers.clear()

    async def _accept(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        self._writers.update((client_writer, upstream_writer))
        for reader, writer in ((client_reader, upstream_writer), (upstream_reader, client_writer)):
            pump = asyncio.create_task(self._pump(reader, writer))
            self._pumps.add(pump)
            pump.add_done_callback(self._pumps.discard)

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, OSError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.transport.abort()


class SilentAfterBindSmsc:
    """Answers bind_transceiver, then never says another word: a hung SMSC the keepalive must notice."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.binds = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._session, "127.0.0.1", self.port)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            for writer in self._writers:
                writer.transport.abort()
            await self._server.wait_closed()

    async def _session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
            while True:
                header = await reader.readexactly(16)
                length, command_id, _status, sequence = struct.unpack(">LLLL", header)
                await reader.readexactly(length - 16)
                if command_id == BIND_TRANSCEIVER:
                    self.binds += 1
                    body = b"silent\x00"
                    writer.write(
                        struct.pack(">LLLL", 16 + len(body), BIND_TRANSCEIVER_RESP, 0, sequence) + body
                    )
                    await writer.drain()


BIND_TRANSCEIVER = 0x00000009
BIND_TRANSCEIVER_RESP = 0x80000009
