"""A real Bayeux server for tests: Starlette + BayeuxEndpoint under uvicorn, in a background thread
on a free loopback port, with an allow-all policy and HTTP Basic authentication."""

from __future__ import annotations

import asyncio
import base64
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette

from smsdesk.bayeux import BayeuxEndpoint, BayeuxServer, BayeuxSettings, Rejection, ServerSession

PATH = "/api/v2/notifications"
PASSWORD = "secret"
T = TypeVar("T")


class TestPolicy:
    """Allows everything except publishing to channels under ``/denied`` (and what a test adds)."""

    def __init__(self) -> None:
        self.denied_subscriptions: set[str] = set()

    def can_handshake(self, principal: object, message: dict[str, Any]) -> bool:
        return principal != "nobody"

    def can_subscribe(self, session: ServerSession, channel: str) -> bool:
        return channel not in self.denied_subscriptions

    def can_publish(self, session: ServerSession, channel: str, message: dict[str, Any]) -> bool:
        return not channel.startswith("/denied")


class Recorder:
    """SessionListener recording what it hears; ``on_handshake_hook`` lets a test act in it."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str, object]] = []
        self.on_subscribe_hook: Callable[[ServerSession, str], None] | None = None
        self.on_handshake_hook: Callable[[ServerSession], None] | None = None

    def on_handshake(self, session: ServerSession, message: dict[str, Any]) -> None:
        self.events.append(("handshake", session.id, message.get("ext")))
        if self.on_handshake_hook is not None:
            self.on_handshake_hook(session)

    def on_subscribe(self, session: ServerSession, channel: str) -> None:
        self.events.append(("subscribe", session.id, channel))
        if self.on_subscribe_hook is not None:
            self.on_subscribe_hook(session, channel)

    def on_removed(self, session: ServerSession, expired: bool) -> None:
        self.events.append(("removed", session.id, expired))


async def authenticate(scope: dict[str, Any]) -> object:
    for key, value in scope["headers"]:
        if key == b"authorization":
            scheme, _, encoded = bytes(value).decode().partition(" ")
            user, _, password = base64.b64decode(encoded).decode().partition(":")
            if scheme.lower() == "basic" and password == PASSWORD:
                return user
            return Rejection(status=401, body=b'{"error":"denied"}', headers=(("WWW-Authenticate", "Basic"),))
    return "anonymous"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Harness:
    def __init__(self, settings: BayeuxSettings, http: Any = "auto", ws: Any = "auto") -> None:
        self.policy = TestPolicy()
        self.listener = Recorder()
        self.server = BayeuxServer(settings, self.policy, self.listener)
        self.endpoint = BayeuxEndpoint(self.server, authenticate)
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.url = self.base_url + PATH
        self.ws_url = f"ws://127.0.0.1:{self.port}{PATH}"
        self.loop: asyncio.AbstractEventLoop | None = None

        @asynccontextmanager
        async def lifespan(app: Starlette) -> AsyncIterator[None]:
            self.loop = asyncio.get_running_loop()
            await self.server.start()
            yield
            await self.server.close()

        app = Starlette(routes=self.endpoint.routes(PATH), lifespan=lifespan)
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="on", http=http, ws=ws
        )
        self.uvicorn = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.uvicorn.run, daemon=True)

    def start(self) -> Harness:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.uvicorn.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self.uvicorn.should_exit = True
        self.thread.join(10)

    def call(self, function: Callable[..., T], *args: Any) -> T:
        """Run ``function`` on the server's event loop (the server is not thread-safe) and return."""
        assert self.loop is not None

        async def run() -> T:
            return function(*args)

        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(10)

    def deliver(
        self,
        client_id: str,
        channel: str,
        data: Any,
        ext: dict[str, Any] | None = None,
        sequence: int | None = None,
    ) -> bool:
        def run() -> bool:
            session = self.server.session(client_id)
            return session is not None and self.server.deliver(session, channel, data, ext, sequence)

        return self.call(run)

    def has_session(self, client_id: str) -> bool:
        return self.call(lambda: self.server.session(client_id) is not None)


@pytest.fixture
def start_server() -> Iterator[Callable[..., Harness]]:
    started: list[Harness] = []

    def start(http: Any = "auto", ws: Any = "auto", **settings: Any) -> Harness:
        """``http``, ``ws``: uvicorn's protocols by default, or protocol classes (smsdesk serve's, say)."""
        options: dict[str, Any] = {"timeout_ms": 1_500, "sweep_interval_ms": 100, **settings}
        harness = Harness(BayeuxSettings(**options), http, ws).start()
        started.append(harness)
        return harness

    yield start
    for harness in started:
        harness.stop()


@pytest.fixture
def bayeux(start_server: Callable[..., Harness]) -> Harness:
    return start_server()


class Client:
    """Raw long-polling over httpx: every reply is returned exactly as received."""

    def __init__(self, harness: Harness, user: str = "alice", http: httpx.Client | None = None) -> None:
        self.harness = harness
        self.http = http or httpx.Client(auth=(user, PASSWORD), timeout=15)
        self.client_id: str | None = None
        self._id = 0

    def next_id(self) -> str:
        self._id += 1
        return str(self._id)

    def post(self, body: Any, suffix: str = "") -> httpx.Response:
        return self.http.post(self.harness.url + suffix, json=body)

    def send(self, *messages: dict[str, Any], suffix: str = "") -> list[dict[str, Any]]:
        response = self.post(list(messages), suffix)
        assert response.status_code == 200, response.text
        replies: list[dict[str, Any]] = response.json()
        return replies

    def handshake(self, ext: dict[str, Any] | None = None, types: list[str] | None = None) -> dict[str, Any]:
        message: dict[str, Any] = {
            "channel": "/meta/handshake",
            "version": "1.0",
            "supportedConnectionTypes": types or ["long-polling"],
            "id": self.next_id(),
        }
        if ext is not None:
            message["ext"] = ext
        reply = self.send(message)[0]
        if reply["successful"]:
            self.client_id = reply["clientId"]
        return reply

    def connect(self, ext: dict[str, Any] | None = None, **fields: Any) -> list[dict[str, Any]]:
        message: dict[str, Any] = {
            "channel": "/meta/connect",
            "clientId": self.client_id,
            "connectionType": "long-polling",
            "id": self.next_id(),
            **fields,
        }
        if ext is not None:
            message["ext"] = ext
        return self.send(message)

    def subscribe(self, subscription: str | list[str]) -> dict[str, Any]:
        message = {
            "channel": "/meta/subscribe",
            "clientId": self.client_id,
            "subscription": subscription,
            "id": self.next_id(),
        }
        return self.send(message)[0]

    def unsubscribe(self, subscription: str | list[str]) -> dict[str, Any]:
        message = {
            "channel": "/meta/unsubscribe",
            "clientId": self.client_id,
            "subscription": subscription,
            "id": self.next_id(),
        }
        return self.send(message)[0]

    def publish(self, channel: str, data: Any) -> dict[str, Any]:
        return self.send(
            {"channel": channel, "clientId": self.client_id, "data": data, "id": self.next_id()}
        )[0]

    def disconnect(self) -> dict[str, Any]:
        return self.send({"channel": "/meta/disconnect", "clientId": self.client_id, "id": self.next_id()})[0]

    def close(self) -> None:
        self.http.close()


@pytest.fixture
def client_factory(bayeux: Harness) -> Iterator[Callable[..., Client]]:
    clients: list[Client] = []

    def make(user: str = "alice", harness: Harness | None = None, **kwargs: Any) -> Client:
        client = Client(harness or bayeux, user, **kwargs)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


def data_of(replies: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [m for m in replies if not m["channel"].startswith("/meta/")]


def meta_of(replies: list[dict[str, Any]], channel: str) -> dict[str, Any]:
    [reply] = [m for m in replies if m["channel"] == channel]
    return reply


def wait_until(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached")
        time.sleep(0.01)


def is_held(harness: Harness, client_id: str) -> bool:
    def check() -> bool:
        session = harness.server.session(client_id)
        return session is not None and session.connect is not None and session.connect.hold

    return harness.call(check)
