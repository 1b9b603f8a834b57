"""A long-polling client that does what a careful real client does: the ack extension, and on
re-handshake the smsdesk resume token (``ext.smsdesk.resume`` = the last position it saw). It keeps
every data message with its position, so a test can assert 0 lost, 0 duplicated, in order."""

from __future__ import annotations

import threading
import time
from typing import Any

import httpx

from support.agents import Agent
from support.server import RunningServer

Message = dict[str, Any]
PATH = "/api/v2/notifications"


def position(message: Message) -> int:
    return int(message["ext"]["smsdesk"]["position"])


class Listener:
    def __init__(
        self,
        server: RunningServer,
        auth: tuple[str, str],
        *,
        ack: bool = True,
        resume: bool = True,
        subscription: str | list[str] = "/v2/me/**",
    ) -> None:
        self.http = httpx.Client(base_url=server.base_url, auth=auth, timeout=30)
        self.ack = ack
        self.resume = resume
        self.subscription = subscription
        self.client_id: str | None = None
        self.batch: int | None = None
        self.last: int | None = None
        """The last position seen: the resume token of the next handshake."""
        self.handshake_position: int | None = None
        self.first_position: int | None = None
        """Where the first handshake started: everything of the agent after it is this client's."""
        self.received: list[Message] = []
        self.handshakes = 0
        self._ids = 0

    def _id(self) -> str:
        self._ids += 1
        return str(self._ids)

    def send(self, *messages: Message) -> list[Message]:
        response = self.http.post(PATH, json=list(messages))
        response.raise_for_status()
        replies: list[Message] = response.json()
        return replies

    def handshake(self, subscribe: bool = True) -> Message:
        ext: Message = {}
        if self.ack:
            ext["ack"] = True
        if self.resume and self.last is not None:
            ext["smsdesk"] = {"resume": self.last}
        message: Message = {
            "channel": "/meta/handshake",
            "version": "1.0",
            "supportedConnectionTypes": ["long-polling"],
            "id": self._id(),
        }
        if ext:
            message["ext"] = ext
        reply = self.send(message)[0]
        assert reply["successful"], reply
        self.handshakes += 1
        self.client_id = reply["clientId"]
        self.batch = None
        self.handshake_position = int(reply["ext"]["smsdesk"]["position"])
        if self.last is None:
            self.last = self.handshake_position  # a fresh client starts where the server is
        if self.first_position is None:
            self.first_position = self.handshake_position
        if subscribe:
            self.subscribe()
        return reply

    def subscribe(self) -> None:
        subscribed = self.send(
            {
                "channel": "/meta/subscribe",
                "clientId": self.client_id,
                "subscription": self.subscription,
                "id": self._id(),
            }
        )
        assert subscribed[0]["successful"], subscribed

    def connect_message(self, timeout: int | None = None) -> Message:
        message: Message = {
            "channel": "/meta/connect",
            "clientId": self.client_id,
            "connectionType": "long-polling",
            "id": self._id(),
        }
        if self.ack and self.batch is not None:
            message["ext"] = {"ack": self.batch}
        if timeout is not None:
            message["advice"] = {"timeout": timeout}
        return message

    def absorb(self, replies: list[Message]) -> bool:
        """Take a connect response; returns False if the server asked for a new handshake."""
        ok = True
        for message in replies:
            channel = message.get("channel", "")
            if channel == "/meta/connect":
                if not message.get("successful"):
                    ok = False
                    continue
                ack = message.get("ext", {}).get("ack")
                if isinstance(ack, int):
                    self.batch = ack if self.batch is None else max(self.batch, ack)
            elif not channel.startswith("/meta/"):
                self.received.append(message)
                self.last = max(self.last or 0, position(message))
        return ok

    def poll(self, timeout: int | None = None) -> None:
        """One connect; re-handshakes (with the resume token) when the server forgot the session."""
        if self.client_id is None:
            self.handshake()
        replies = self.send(self.connect_message(timeout))
        if not self.absorb(replies):
            self.client_id = None
            self.handshake()

    def until(self, predicate: Any, timeout: float = 15.0, what: str = "notifications") -> None:
        """Poll until ``predicate()`` holds (checked before each poll, so no needless held connect)."""
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}; received {self.received}")
            self.poll()

    def positions(self) -> list[int]:
        return [position(m) for m in self.received]

    def reference_ids(self) -> list[int]:
        return [
            int(m["data"]["referenceId"])
            for m in self.received
            if m["channel"] == "/v2/me/smssessions" and "referenceId" in m.get("data", {})
        ]

    def close(self) -> None:
        self.http.close()


class Background:
    """Runs ``listener.poll`` in a thread until stopped; network errors (a killed server) are
    retried after a short pause, exactly like a client's reconnect back-off."""

    def __init__(self, listener: Listener) -> None:
        self.listener = listener
        self.stopped = threading.Event()
        self.errors = 0
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.stopped.is_set():
            try:
                self.listener.poll()
            except httpx.HTTPError:
                self.errors += 1
                time.sleep(0.05)

    def __enter__(self) -> Background:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopped.set()
        self.thread.join(30)


def wait_until(predicate: Any, timeout: float = 15.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def chatting(agent: Agent, sms: Any, customer: str) -> str:
    """Bring ``agent`` into a chat with a new customer; returns the session id."""
    sms(customer, "hello")
    session_id: str = agent.wait_invited()["id"]
    agent.op(session_id, "Accept")
    agent.take(3)
    return session_id


def assert_exactly_once_in_order(listener: Listener, acknowledged: list[int]) -> None:
    positions = listener.positions()
    assert positions == sorted(set(positions)), f"duplicated or reordered positions: {positions}"
    got = listener.reference_ids()
    assert len(got) == len(set(got)), "a notification arrived twice"
    missing = sorted(set(acknowledged) - set(got))
    assert not missing, f"lost notifications for acknowledged operations: {missing}"
