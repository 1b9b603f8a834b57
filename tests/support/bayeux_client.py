"""A minimal synchronous Bayeux long-polling client for tests that assert exactly what arrives.

(Real client libraries are exercised too; this one exists so a test can see every raw message.)
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx

Message = dict[str, Any]


class BayeuxClient:
    def __init__(
        self, base_url: str, auth: tuple[str, str] | None, path: str = "/api/v2/notifications"
    ) -> None:
        self.http = httpx.Client(base_url=base_url, auth=auth, timeout=30)
        self.path = path
        self.client_id: str | None = None
        self.received: list[Message] = []
        self._next_id = 0

    def _id(self) -> str:
        self._next_id += 1
        return str(self._next_id)

    def send(self, *messages: Message, suffix: str = "") -> list[Message]:
        response = self.http.post(self.path + suffix, json=list(messages))
        response.raise_for_status()
        replies: list[Message] = response.json()
        return replies

    def handshake(self, ext: dict[str, Any] | None = None) -> Message:
        message: Message = {
            "channel": "/meta/handshake",
            "version": "1.0",
            "supportedConnectionTypes": ["long-polling"],
            "id": self._id(),
        }
        if ext:
            message["ext"] = ext
        reply = self.send(message)[0]
        if reply.get("successful"):
            self.client_id = reply["clientId"]
            self.connect()  # the first connect returns at once
        return reply

    def subscribe(self, *channels: str) -> list[Message]:
        return self.send(
            *(
                {
                    "channel": "/meta/subscribe",
                    "clientId": self.client_id,
                    "subscription": c,
                    "id": self._id(),
                }
                for c in channels
            )
        )

    def connect(self) -> list[Message]:
        replies = self.send(
            {
                "channel": "/meta/connect",
                "clientId": self.client_id,
                "connectionType": "long-polling",
                "id": self._id(),
            }
        )
        data = [m for m in replies if not m["channel"].startswith("/meta/")]
        self.received.extend(data)
        return replies

    def disconnect(self) -> None:
        if self.client_id:
            self.send({"channel": "/meta/disconnect", "clientId": self.client_id, "id": self._id()})
        self.http.close()

    def wait_for(self, predicate: Callable[[list[Message]], bool], timeout: float = 10.0) -> list[Message]:
        """Poll until ``predicate(all data messages received so far)`` holds."""
        deadline = time.monotonic() + timeout
        while not predicate(self.received):
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out; received so far: {self.received}")
            self.connect()
        return self.received

    def take(self, count: int, timeout: float = 10.0) -> list[Message]:
        """Wait for ``count`` new data messages and remove them from the buffer."""
        self.wait_for(lambda received: len(received) >= count, timeout)
        taken, self.received = self.received[:count], self.received[count:]
        return taken

    def drain(self) -> list[Message]:
        """Everything already queued (one connect), then clear."""
        self.connect()
        taken, self.received = self.received, []
        return taken
