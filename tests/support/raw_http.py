"""One whole HTTP request on a plain socket, for tests that count sockets or source addresses."""

from __future__ import annotations

import socket

VERSION_REQUEST = b"GET /api/v2/diagnostics/version HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"


def ask(port: int, source: str | None = None, request: bytes = VERSION_REQUEST) -> bytes | None:
    """The whole answer to ``request`` sent at once (from ``source``); None when reset instead."""
    sock = socket.socket()
    if source is not None:
        sock.bind((source, 0))
    sock.settimeout(5)
    try:
        sock.connect(("127.0.0.1", port))
        sock.sendall(request)
        chunks = []
        while chunk := sock.recv(4096):
            chunks.append(chunk)
        return b"".join(chunks)
    except ConnectionResetError:
        return None
    finally:
        sock.close()
