"""Interoperability with baiocas (PyPI, 2.x), a Python Bayeux client (long-polling only, on Tornado)
that ships the client half of the ack extension, against smsdesk's server (tests/bayeux harness).

What baiocas 2.0.0 can and cannot do here, pinned down:

* Its transport builds a blocking ``tornado.httpclient.HTTPClient`` in ``__init__`` and again in
  ``abort()``; that constructor runs a private event loop, which raises "Cannot run the event loop
  while another loop is running" inside a running one. So the client is built before the loop runs,
  and ``abort()`` (the client's own way to drop its connection) and ``disconnect(sync=True)`` (its
  default) cannot be used from asyncio at all.
* ``LongPollingHttpTransport.send`` awaits ``AsyncHTTPClient.fetch()`` with no error handling: a
  dropped connection raises out of the coroutine instead of reaching ``client.fail_messages``, so the
  client never sends another ``/meta/connect`` and stalls for good
  (test_unpatched_baiocas_stalls_when_a_connect_reply_is_lost). ``RetryingTransport`` below routes
  that error to ``fail_messages``, as the synchronous path of the same method means to, and then the
  ack extension recovers a lost reply with every message exactly once, in order.

The connection is dropped by a loopback TCP proxy between client and server that swallows the next
response the server writes (so the server believes the batch went out) and closes the connection.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest
from baiocas.channel_id import ChannelId
from baiocas.client import Client
from baiocas.extensions.ack import AckExtension
from baiocas.transports.long_polling import LongPollingHttpTransport
from tornado import gen

from bayeux.harness import PASSWORD, PATH, Harness, is_held, wait_until

pytestmark = pytest.mark.slow


class RetryingTransport(LongPollingHttpTransport):  # type: ignore[misc]
    """baiocas's transport with the missing error path: a failed fetch fails the messages, so the
    client applies its retry advice (and the ack extension resends the last acknowledged batch id)."""

    @gen.coroutine
    def send(self, messages: list[Any], sync: bool = False) -> Any:
        try:
            yield super().send(messages, sync)
        except Exception as error:
            self._client.fail_messages(messages, error)


def complete(response: bytes) -> bool:
    """Whether ``response`` holds an HTTP response's headers and its whole Content-Length body."""
    head, found, body = response.partition(b"\r\n\r\n")
    if not found:
        return False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return len(body) >= int(value)
    return False


class SwallowingProxy:
    """Forwards loopback TCP to the server; ``swallow_next_response()`` makes it discard the next bytes
    the server sends back and close that client connection, as a network that loses a reply would.
    baiocas (Tornado's simple client) opens one connection per request, so that is one whole reply."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.armed = False
        self.swallowed = 0
        self.lost = b""  # what the swallowed reply carried
        self.server: asyncio.Server | None = None
        self.port = 0

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]

    def swallow_next_response(self) -> None:
        self.armed = True

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)

        async def pump(source: asyncio.StreamReader, sink: asyncio.StreamWriter, downstream: bool) -> None:
            with contextlib.suppress(ConnectionError):
                while chunk := await source.read(65536):
                    if downstream and self.armed:
                        # Read the whole response (headers and body may come in separate chunks) so
                        # the server has surely written it, then drop it and the connection.
                        self.lost = chunk
                        while not complete(self.lost) and (more := await source.read(65536)):
                            self.lost += more
                        self.armed = False
                        self.swallowed += 1
                        break
                    sink.write(chunk)
                    await sink.drain()

        tasks = [
            asyncio.ensure_future(pump(reader, up_writer, False)),
            asyncio.ensure_future(pump(up_reader, writer, True)),
        ]
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in tasks:
            task.cancel()
        for w in (writer, up_writer):
            w.close()

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()


class Run:
    """One event loop, current before baiocas is built (see the module docstring), closed at the end."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self.loop)

    def __call__(self, scenario: Awaitable[Any]) -> Any:
        return self.loop.run_until_complete(asyncio.wait_for(scenario, 30))

    def close(self) -> None:
        self.loop.run_until_complete(self.loop.shutdown_asyncgens())
        self.loop.close()
        asyncio.set_event_loop(None)


@pytest.fixture
def run() -> Iterator[Run]:
    runner = Run()
    yield runner
    runner.close()


def make_client(
    port: int, transport: type[LongPollingHttpTransport] = LongPollingHttpTransport
) -> tuple[Client, AckExtension]:
    # The backoff after a failed connect defaults to 1 s, then 2 s...: shortened to keep the test quick.
    client = Client(f"http://127.0.0.1:{port}{PATH}", backoff_period_increment=100)
    http = transport()
    http.set_header("authorization", "Basic " + base64.b64encode(f"alice:{PASSWORD}".encode()).decode())
    client.register_transport(http)
    ack = AckExtension()
    client.register_extension(ack)
    return client, ack


async def until(predicate: Callable[[], bool]) -> None:
    async with asyncio.timeout(10):
        # Polling on purpose: the state lives in the server's thread and in baiocas, neither of
        # which can signal an asyncio.Event here.
        while not predicate():  # noqa: ASYNC110
            await asyncio.sleep(0.02)


class Session:
    """A handshaken, subscribed baiocas client and what it received on ``/n``."""

    def __init__(self, harness: Harness, client: Client) -> None:
        self.harness = harness
        self.client = client
        self.received: list[int] = []
        self.handshakes: list[dict[str, Any]] = []
        self.connect_acks: list[int] = []
        self.client_id = ""

    async def open(self) -> None:
        client = self.client
        client.get_channel(ChannelId.META_HANDSHAKE).add_listener(
            lambda _, m: self.handshakes.append(dict(m))
        )
        client.get_channel(ChannelId.META_CONNECT).add_listener(self._connected)
        client.handshake()
        # baiocas fails a subscribe sent before the handshake completes instead of queueing it.
        await until(lambda: client.status == "connected")
        client.get_channel("/n").subscribe(lambda _, m: self.received.append(m.data["n"]))
        self.client_id = client.client_id
        await until(lambda: self._subscribed())

    def _connected(self, _: object, message: Any) -> None:
        ack = (message.get("ext") or {}).get("ack")
        if message.successful and isinstance(ack, int):
            self.connect_acks.append(ack)

    def _subscribed(self) -> bool:
        session = self.harness.server.session(self.client_id)
        return session is not None and "/n" in session.subscriptions

    async def deliver(self, numbers: range) -> None:
        def burst() -> list[bool]:
            session = self.harness.server.session(self.client_id)
            assert session is not None
            return [self.harness.server.deliver(session, "/n", {"n": n}) for n in numbers]

        assert all(await asyncio.to_thread(self.harness.call, burst))

    async def held(self) -> None:
        """Wait until the client's next /meta/connect is held: a reply to swallow is then pending."""
        await until(lambda: is_held(self.harness, self.client_id))

    async def close(self) -> None:
        self.client.disconnect(sync=False)  # sync=True needs a loop of its own: see the docstring
        await until(lambda: not self.harness.has_session(self.client_id))


def test_baiocas_negotiates_ack_and_receives_every_message_once_in_order(
    start_server: Callable[..., Harness], run: Run
) -> None:
    harness: Harness = start_server()
    client, ack = make_client(harness.port)

    async def scenario() -> Session:
        session = Session(harness, client)
        await session.open()
        for start in range(0, 60, 20):
            await session.held()
            await session.deliver(range(start, start + 20))
        await until(lambda: len(session.received) >= 60)
        await session.close()
        return session

    session = run(scenario())
    [handshake] = session.handshakes
    assert handshake["successful"] and handshake["ext"]["ack"] is True
    assert ack.server_supports_acks
    assert session.received == list(range(60))
    assert session.connect_acks == sorted(session.connect_acks) and session.connect_acks[-1] >= 3
    assert harness.listener.events[-1] == ("removed", session.client_id, False)


def test_baiocas_with_error_handling_recovers_a_lost_connect_reply_through_ack(
    start_server: Callable[..., Harness], run: Run
) -> None:
    harness: Harness = start_server()
    proxy = SwallowingProxy(harness.port)
    run(proxy.start())
    client, _ = make_client(proxy.port, RetryingTransport)

    async def scenario() -> tuple[Session, SwallowingProxy]:
        session = Session(harness, client)
        try:
            await session.open()
            await session.held()
            await session.deliver(range(0, 10))
            await until(lambda: len(session.received) >= 10)
            await session.held()
            proxy.swallow_next_response()
            await session.deliver(range(10, 20))  # written by the server, lost on the way
            await until(lambda: proxy.swallowed == 1)
            await until(lambda: len(session.received) >= 20)  # resent: the client never acknowledged
            await session.held()
            await session.deliver(range(20, 30))
            await until(lambda: len(session.received) >= 30)
            await session.close()
        finally:
            await proxy.close()
        return session, proxy

    session, proxy = run(scenario())
    assert proxy.swallowed == 1 and b'{"n":10}' in proxy.lost  # the lost reply did carry the batch
    assert session.received == list(range(30))
    assert len(session.handshakes) == 1  # the same session throughout: nothing was re-handshaken


def test_unpatched_baiocas_stalls_when_a_connect_reply_is_lost(
    start_server: Callable[..., Harness], run: Run
) -> None:
    """Documents the baiocas 2.0.0 bug worked around above; if this starts failing, baiocas handles
    transport errors itself and RetryingTransport can go."""
    harness: Harness = start_server()
    proxy = SwallowingProxy(harness.port)
    run(proxy.start())
    client, _ = make_client(proxy.port)

    async def scenario() -> Session:
        session = Session(harness, client)
        try:
            await session.open()
            await session.held()
            proxy.swallow_next_response()
            await session.deliver(range(0, 5))
            await until(lambda: proxy.swallowed == 1)
            # Well past the 100 ms backoff a retrying client would wait: no new connect ever comes.
            await asyncio.sleep(1.0)
            assert not is_held(harness, session.client_id)
        finally:
            await proxy.close()
        return session

    session = run(scenario())
    assert session.received == []
    wait_until(lambda: harness.has_session(session.client_id))  # only the server's max_interval ends it
