"""A websocket Bayeux client that stops reading, as a stalled or hostile one does: a raw socket with
a small receive buffer, the upgrade and the Bayeux handshake done by hand, then nothing read at all.

(Client libraries read in a background thread, so they cannot play a client that never reads.)
"""

from __future__ import annotations

import base64
import json
import os
import socket
from typing import Any


def _frame(payload: bytes) -> bytes:
    """A masked text frame, as a client must send."""
    header = bytearray([0x81])
    size = len(payload)
    if size < 126:
        header.append(0x80 | size)
    elif size < 65_536:
        header.append(0x80 | 126)
        header += size.to_bytes(2, "big")
    else:
        header.append(0x80 | 127)
        header += size.to_bytes(8, "big")
    mask = os.urandom(4)
    header += mask
    return bytes(header) + bytes(byte ^ mask[i % 4] for i, byte in enumerate(payload))


class SlowWebSocket:
    def __init__(
        self, host: str, port: int, path: str, authorization: str | None = None, receive_buffer: int = 4_096
    ) -> None:
        self.socket = socket.socket()
        # Set before connecting, so the window the server sees is small from the start.
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
        self.socket.settimeout(10)
        self.socket.connect((host, port))
        self._buffer = b""
        key = base64.b64encode(os.urandom(16)).decode()
        head = (
            f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
        )
        if authorization is not None:
            head += f"Authorization: {authorization}\r\n"
        self.socket.sendall((head + "\r\n").encode())
        response = self._read_until(b"\r\n\r\n")
        if not response.startswith(b"HTTP/1.1 101"):
            raise ConnectionError(response.decode(errors="replace"))
        self.client_id: str | None = None

    def _read_until(self, marker: bytes) -> bytes:
        while marker not in self._buffer:
            chunk = self.socket.recv(65_536)
            if not chunk:
                raise ConnectionError("closed")
            self._buffer += chunk
        head, _, self._buffer = self._buffer.partition(marker)
        return head

    def _read_exactly(self, size: int) -> bytes:
        while len(self._buffer) < size:
            chunk = self.socket.recv(65_536)
            if not chunk:
                raise ConnectionError("closed")
            self._buffer += chunk
        data, self._buffer = self._buffer[:size], self._buffer[size:]
        return data

    def send(self, *messages: dict[str, Any]) -> None:
        self.socket.sendall(_frame(json.dumps(list(messages)).encode()))

    def receive(self) -> list[dict[str, Any]]:
        """One frame from the server (unmasked, not fragmented: what smsdesk sends)."""
        first, second = self._read_exactly(2)
        size = second & 0x7F
        if size == 126:
            size = int.from_bytes(self._read_exactly(2), "big")
        elif size == 127:
            size = int.from_bytes(self._read_exactly(8), "big")
        payload = self._read_exactly(size)
        if first & 0x0F == 0x8:
            raise ConnectionError("closed by the server")
        if first & 0x0F != 0x1:
            return self.receive()  # a ping: the server expects no answer from a test this short
        frame: list[dict[str, Any]] = json.loads(payload)
        return frame

    def start(self, subscription: str = "/v2/me/**") -> SlowWebSocket:
        """Handshake, subscribe and send a connect (held by the server): from here on it reads nothing."""
        self.send({"channel": "/meta/handshake", "version": "1.0", "supportedConnectionTypes": ["websocket"]})
        [reply] = self.receive()
        assert reply["successful"], reply
        self.client_id = reply["clientId"]
        self.send({"channel": "/meta/connect", "clientId": self.client_id, "connectionType": "websocket"})
        self.receive()  # the first connect returns at once
        self.send({"channel": "/meta/subscribe", "clientId": self.client_id, "subscription": subscription})
        [subscribed] = self.receive()
        assert subscribed["successful"], subscribed
        self.send({"channel": "/meta/connect", "clientId": self.client_id, "connectionType": "websocket"})
        return self

    def cut_off(self) -> bool:
        """Whether the server has dropped the connection (read everything left: a reset or the end)."""
        self.socket.settimeout(0.2)
        try:
            while True:
                if not self.socket.recv(1_048_576):
                    return True
        except ConnectionResetError:
            return True
        except (TimeoutError, BlockingIOError):
            return False
        except OSError:
            return True

    def close(self) -> None:
        self.socket.close()
