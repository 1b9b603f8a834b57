"""Slow and greedy clients cannot lock others out: 2,000 connections sending their request a byte at
a time are cut after the header timeout (with a 408 envelope) while a normal client is served
throughout; a slow body is cut after the body timeout; one address cannot hold more than its share
of connections."""

from __future__ import annotations

import base64
import contextlib
import json
import resource
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from support.raw_http import ask
from support.server import QUICK_TIMEOUTS, RunningServer

pytestmark = pytest.mark.slow

SLOW_CLIENTS = 2_000
# Loopback addresses to spread the slow clients over, each staying under the per-address cap.
SOURCES = [f"127.0.1.{n}" for n in range(1, 11)]
REQUEST = b"GET /api/v2/diagnostics/version HTTP/1.1\r\nHost: x\r\n\r\n"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    env = {
        **QUICK_TIMEOUTS,
        "SMSDESK_HEADER_TIMEOUT_S": "2",
        "SMSDESK_BODY_TIMEOUT_S": "2",
        "SMSDESK_MAX_CONNECTIONS_PER_ADDRESS": "250",
    }
    running = RunningServer(Path(tmp_path_factory.mktemp("slow")) / "smsdesk.db", env).start()
    yield running
    running.stop()


def open_from(source: str, port: int) -> socket.socket:
    sock = socket.socket()
    sock.bind((source, 0))
    sock.connect(("127.0.0.1", port))
    sock.setblocking(False)
    return sock


def trickle(socks: list[socket.socket], data: bytes) -> None:
    for sock in socks:
        with contextlib.suppress(OSError):  # closed by the server already
            sock.send(data)


def answer(sock: socket.socket, timeout: float = 5.0) -> bytes:
    sock.setblocking(True)
    sock.settimeout(timeout)
    chunks = []
    try:
        while chunk := sock.recv(4096):
            chunks.append(chunk)
    except OSError:
        pass
    return b"".join(chunks)


def served_in(server: RunningServer) -> float:
    started = time.monotonic()
    assert httpx.get(server.base_url + "/api/v2/diagnostics/version", timeout=5).status_code == 200
    return time.monotonic() - started


def test_two_thousand_byte_at_a_time_clients_do_not_lock_others_out(server: RunningServer) -> None:
    per_source = SLOW_CLIENTS // len(SOURCES)
    slow = [open_from(source, server.port) for source in SOURCES for _ in range(per_source)]
    try:
        latencies = []
        started = time.monotonic()
        position = 0
        # Keep trickling for longer than the header timeout, one byte per client per round.
        while time.monotonic() - started < 3.5:
            trickle(slow, REQUEST[position : position + 1])
            position = min(position + 1, 10)  # never finish the request line
            latencies.append(served_in(server))
            time.sleep(0.2)
        assert max(latencies) < 2.0, latencies
        answers = [answer(sock, timeout=3) for sock in slow]
    finally:
        for sock in slow:
            sock.close()
    cut = [a for a in answers if a.startswith(b"HTTP/1.1 408")]
    assert len(cut) == SLOW_CLIENTS, f"{len(cut)} of {SLOW_CLIENTS} cut with a 408"
    assert b'"statusMessage":"Request headers not received within 2 s (limit header_timeout_s)"' in cut[0]
    assert "Traceback" not in server.logs()


def test_a_body_sent_a_byte_at_a_time_is_cut_after_the_body_timeout(server: RunningServer) -> None:
    sock = open_from("127.0.0.1", server.port)
    sock.setblocking(True)
    sock.sendall(
        b"POST /api/v2/me HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n"
        b"Authorization: Basic " + base64.b64encode(b"agent1:password") + b"\r\n\r\n"
    )
    started = time.monotonic()
    try:
        for _ in range(30):
            sock.send(b" ")
            time.sleep(0.1)
    except OSError:
        pass
    reply = answer(sock)
    sock.close()
    assert reply.startswith(b"HTTP/1.1 408"), reply
    assert b"body_timeout_s" in reply
    assert time.monotonic() - started < 4


def test_an_idle_connection_is_closed_after_the_header_timeout(server: RunningServer) -> None:
    sock = open_from("127.0.0.1", server.port)
    started = time.monotonic()
    reply = answer(sock, timeout=6)
    sock.close()
    assert reply.startswith(b"HTTP/1.1 408")
    assert 1.5 < time.monotonic() - started < 4


def test_one_address_cannot_hold_more_than_its_share(server: RunningServer) -> None:
    greedy = [open_from("127.0.2.1", server.port) for _ in range(260)]
    try:
        time.sleep(0.5)
        refused = []
        for sock in greedy[250:]:
            reply = answer(sock, timeout=1)
            refused.append(reply)
        assert all(r.startswith(b"HTTP/1.1 429") for r in refused), refused[:1]
        assert b"max_connections_per_address" in refused[0]
        # Everybody else is served meanwhile.
        assert served_in(server) < 2.0
    finally:
        for sock in greedy:
            sock.close()


def test_over_the_cap_every_client_reads_its_429_never_a_reset(server: RunningServer) -> None:
    greedy = [open_from("127.0.3.1", server.port) for _ in range(250)]
    try:
        time.sleep(0.5)
        answers = [ask(server.port, source="127.0.3.1") for _ in range(300)]
    finally:
        for sock in greedy:
            sock.close()
    resets = answers.count(None)
    assert resets == 0, f"{resets} of {len(answers)} connections reset instead of answered"
    head, _, body = answers[0].partition(b"\r\n\r\n")  # type: ignore[union-attr]
    assert head.startswith(b"HTTP/1.1 429") and b"retry-after: 1" in head.lower()
    assert (
        json.loads(body)["statusCode"] == 10
        and "max_connections_per_address" in json.loads(body)["statusMessage"]
    )
    assert all(a is not None and a.startswith(b"HTTP/1.1 429") for a in answers)
    assert "250 already open (limit max_connections_per_address)" in server.logs()


def test_the_open_file_soft_limit_is_raised_to_the_hard_limit(tmp_path: Path) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    # The server inherits a low soft limit, as from a default shell.
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(1_024, hard), hard))
    try:
        running = RunningServer(tmp_path / "smsdesk.db", QUICK_TIMEOUTS).start()
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    try:
        assert running.process is not None
        limits = Path(f"/proc/{running.process.pid}/limits").read_text()
        line = next(row for row in limits.splitlines() if row.startswith("Max open files"))
        assert line.split()[3] == str(hard), line
    finally:
        running.stop()
