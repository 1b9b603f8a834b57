"""End-to-end UpdateUserData benchmark: smsdesk against a bare Starlette JSON echo, in the same run.

Run ``.venv/bin/python bench/operations.py`` (or ``make bench``); ``--help`` lists the options.

What one smsdesk operation costs here: an HTTP request in, the SQLite commit, and the PropertiesUpdated
notification delivered to the agent's subscribed Bayeux long-poll client. The echo (``POST /echo``
returning the request's JSON, uvicorn with the same loop/http/worker options) is the in-run yardstick
that cancels out the noise of our shared 2-core machines (performance spec §6-§7): rounds are
interleaved (echo, smsdesk, then smsdesk, echo, ...) and we report medians and the ratio of medians. Both
servers run at the same log level (``--server-log-level``, default info as ``smsdesk serve``, which
means one uvicorn access-log line per request: a real cost, paid by both).

Method:
- The servers are pinned to one core (``taskset``) and this driver to the other, so the server has a
  whole core and the driver cannot steal it. Server, driver and rest-of-machine CPU are printed: a
  driver near 100 % of its core means the driver capped the load (the figure is a lower bound); a
  busy rest of machine means someone else shared the server's core.
- Load is closed-loop: ``--concurrency`` keep-alive connections, each sending its next request as soon
  as the previous reply arrives. The client is a few lines of raw asyncio streams on uvloop, because
  httpx/requests cost more CPU per request than the server we want to measure.
- Latency is measured on one clock (this process): "HTTP" is request written -> reply parsed;
  "notification" is request written -> the agent's ``/meta/connect`` reply carrying the notification
  with the operation's ``referenceId`` has been read.
- Each agent keeps its cookies as a browser does: its sign-in (Basic) gets a ``JSESSIONID``, which
  its operations and its Bayeux client send back from then on (with Basic still on every request).
- ``--compare GIT_REF`` measures the code of another commit in the same run: GIT_REF is checked
  out into a temporary git worktree (removed at the end, Ctrl-C included), a second smsdesk runs
  from it (this virtualenv's Python, ``PYTHONPATH=<worktree>/src``; the server writes where its
  code comes from to its log, and the benchmark checks it), on a database provisioned by that
  commit's own ``bench/operations.py``. Rounds rotate over echo, the current code and the old one;
  the report adds old/echo and old/current ratios.

Speed never fails the run (the targets are printed, not asserted). The exit status is non-zero only
when something functionally broke: HTTP errors, lost, duplicate or unmatched notifications, a server
that would not start or answer (every setup request has a deadline; a round's stragglers get
``STUCK_S``).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import gc
import itertools
import math
import os
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

import msgspec
from git_ref import GitError, RefWorktree

HOST = "127.0.0.1"
PASSWORD = "bench-pass-1"
TARGET_OPS = 4_000.0
TARGET_RATIO = 0.35  # issue 12; stretch 0.5
SERVER_CPU, DRIVER_CPU = 0, 1
BAYEUX_TIMEOUT_MS = 5_000
BAYEUX_PATH = "/api/v2/notifications"
# After the load stops, notifications still in flight get this long to arrive before counting as lost.
DRAIN_S = 5.0
STUCK_S = 30.0
# Any one setup request (sign-in, subscribe, an SMS, Accept) answered later than this is a failure.
SETUP_TIMEOUT_S = 30.0
SCRIPT = Path(__file__).resolve()


# --------------------------------------------------------------------------------------------------
# A minimal HTTP/1.1 keep-alive client on raw asyncio streams.


class HttpError(Exception):
    pass


class Connection:
    """One keep-alive connection; one request at a time (no pipelining: that would flatter the server)."""

    def __init__(self, port: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.port = port
        self.reader = reader
        self.writer = writer
        self.head = b""  # the last reply's status line and headers, lower-cased
        self.raw_head = b""  # the same as sent (cookie values are case-sensitive)

    @classmethod
    async def open(cls, port: int, within: float = 10.0) -> Connection:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(HOST, port), within)
        return cls(port, reader, writer)

    async def call(self, raw: bytes, within: float = SETUP_TIMEOUT_S) -> tuple[int, bytes]:
        """``request`` with a deadline: what setup uses, so a server that never answers is an error."""
        try:
            return await asyncio.wait_for(self.request(raw), within)
        except TimeoutError:
            first_line = raw.split(b"\r\n", 1)[0].decode(errors="replace")
            raise HttpError(f"{first_line}: no answer within {within:g} s") from None

    async def request(self, raw: bytes) -> tuple[int, bytes]:
        if self.reader.at_eof():
            # uvicorn closes keep-alive connections idle for 5 s (between setup steps, say): reopen.
            self.writer.close()
            self.reader, self.writer = await asyncio.open_connection(HOST, self.port)
        # Requests are a few hundred bytes, far below the transport's high-water mark, so no drain():
        # awaiting the reply is the flow control.
        self.writer.write(raw)
        self.raw_head = await self.reader.readuntil(b"\r\n\r\n")
        self.head = head = self.raw_head.lower()
        if not head.startswith(b"http/1.1 "):
            raise HttpError(f"bad status line: {head[:40]!r}")
        status = int(head[9:12])
        start = head.find(b"\r\ncontent-length:")
        if start >= 0:
            start += 17
            length = int(head[start : head.index(b"\r\n", start)])
            return status, await self.reader.readexactly(length) if length else b""
        if b"\r\ntransfer-encoding: chunked\r\n" in head:
            return status, await self._chunked()
        if status in (204, 304) or 100 <= status < 200:
            return status, b""
        raise HttpError(f"reply without Content-Length: {head[:200]!r}")

    async def _chunked(self) -> bytes:
        parts: list[bytes] = []
        while True:
            size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                await self.reader.readuntil(b"\r\n")  # we never ask for trailers; skip the final CRLF
                return b"".join(parts)
            parts.append(await self.reader.readexactly(size))
            await self.reader.readexactly(2)

    def header(self, name: bytes) -> str | None:
        """A header of the last reply (setup paths only: the hot path reads just what it needs)."""
        for line in self.head.split(b"\r\n")[1:]:
            key, _, value = line.partition(b":")
            if key == name:
                return value.strip().decode("latin-1")
        return None

    def close(self) -> None:
        self.writer.close()


def request_bytes(method: str, path: str, port: int, headers: Sequence[str], body: bytes | None) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {HOST}:{port}", *headers]
    if body is not None:
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + (body or b"")


def basic_auth(user: str, password: str) -> str:
    return "Authorization: Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


class CookieJar:
    """One client's cookies, as a browser keeps them: whatever a reply sets is sent back from then
    on (smsdesk's ``JSESSIONID``, issued to a Basic-authenticated request; ``BAYEUX_BROWSER``).
    nginx's soft affinity hashes the ``JSESSIONID``, so a client without one would not stick."""

    def __init__(self) -> None:
        self.cookies: dict[str, str] = {}
        self.version = 0  # bumped on change: request templates built from an older one are stale

    def keep(self, raw_head: bytes) -> None:
        """Take the cookies a reply sets (its raw status line and headers)."""
        for line in raw_head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() != b"set-cookie":
                continue
            pair = value.decode("latin-1").split(";", 1)[0].strip()
            key, _, cookie = pair.partition("=")
            if key and self.cookies.get(key) != cookie:
                self.cookies[key] = cookie
                self.version += 1

    def headers(self) -> list[str]:
        if not self.cookies:
            return []
        return ["Cookie: " + "; ".join(f"{k}={v}" for k, v in self.cookies.items())]

    @property
    def session(self) -> str | None:
        return self.cookies.get("JSESSIONID")


def sets_cookie(connection: Connection) -> bool:
    return b"\r\nset-cookie:" in connection.head


class PostTemplate:
    """A POST whose headers are encoded once; only the body and its length change per request."""

    def __init__(self, path: str, port: int, headers: Sequence[str]) -> None:
        head = "\r\n".join(
            [f"POST {path} HTTP/1.1", f"Host: {HOST}:{port}", *headers, "Content-Type: application/json"]
        )
        self.prefix = (head + "\r\nContent-Length: ").encode()

    def build(self, body: bytes) -> bytes:
        return b"%s%d\r\n\r\n%s" % (self.prefix, len(body), body)


def op_body(counter: int) -> bytes:
    return b'{"operationName":"UpdateUserData","userData":{"Counter":%d,"Note":"bench"}}' % counter


class OpReply(msgspec.Struct):
    statusCode: int  # wire names: camelCase
    referenceId: int | None = None


decode_op_reply = msgspec.json.Decoder(OpReply).decode
decode_any = msgspec.json.Decoder().decode
encode = msgspec.json.encode


# --------------------------------------------------------------------------------------------------
# Bookkeeping: matching notifications to operations.


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile (no interpolation: every figure printed is one a request really saw)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(pct / 100 * len(ordered)) - 1)]


class Tracker:
    """Operations and notifications of one round, keyed by (agent, referenceId).

    A notification can be read before the HTTP reply that names its referenceId (both run on this
    event loop, and the server may flush the long-poll first), hence ``early``.
    """

    def __init__(self) -> None:
        self.pending: dict[tuple[int, int], float] = {}
        self.early: dict[tuple[int, int], float] = {}
        self.delivered: set[tuple[int, int]] = set()
        self.latencies: list[float] = []
        self.duplicates = 0
        self.drained: asyncio.Event | None = None  # set when the last pending notification arrives

    async def drain(self, within: float) -> None:
        if self.pending:
            self.drained = asyncio.Event()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.drained.wait(), within)

    def sent(self, agent: int, reference: int, sent_at: float) -> None:
        key = (agent, reference)
        if key in self.pending or key in self.delivered:
            self.duplicates += 1  # a referenceId handed out twice to one agent
            return
        received_at = self.early.pop(key, None)
        if received_at is None:
            self.pending[key] = sent_at
        else:
            self.delivered.add(key)
            self.latencies.append(received_at - sent_at)

    def notified(self, agent: int, reference: int, received_at: float) -> None:
        key = (agent, reference)
        sent_at = self.pending.pop(key, None)
        if sent_at is not None:
            self.delivered.add(key)
            self.latencies.append(received_at - sent_at)
            if self.drained is not None and not self.pending:
                self.drained.set()
        elif key in self.delivered or key in self.early:
            self.duplicates += 1
        else:
            self.early[key] = received_at


@dataclass
class RoundResult:
    target: str
    index: int  # 0 for the warm-up
    ops: int = 0
    elapsed: float = 0.0
    http: list[float] = field(default_factory=list)
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)
    notification: list[float] = field(default_factory=list)
    lost: int = 0
    duplicates: int = 0
    unmatched: int = 0
    polls: int = 0  # Bayeux /meta/connect round trips during the round (each also costs the server)
    server_cpu: float = 0.0  # seconds of server CPU during the round
    driver_cpu: float = 0.0
    # What other processes (other engineers' tests...) ran on the server's core meanwhile, or on the
    # whole machine when nothing is pinned.
    other_cpu: float = 0.0
    # What a subclass measured besides (bench/cluster.py: CPU by part, PostgreSQL's statements).
    measured: dict[str, Any] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.ops / self.elapsed if self.elapsed else 0.0

    @property
    def broken(self) -> bool:
        return bool(self.errors or self.lost or self.duplicates or self.unmatched)

    def error(self, text: str) -> None:
        self.errors += 1
        if len(self.error_samples) < 5:
            self.error_samples.append(text)


# --------------------------------------------------------------------------------------------------
# Servers under test.


@dataclass(frozen=True)
class Pinning:
    prefix: list[str]  # runs a server pinned to its core
    server_cpu: int | None
    description: str


def cpu_pinning() -> Pinning:
    """Pin this driver to one core and return how to pin a server to the other."""
    try:
        allowed = os.sched_getaffinity(0)
    except (AttributeError, OSError):
        return Pinning([], None, "no CPU pinning (sched_getaffinity unavailable)")
    if len(allowed) < 2:
        return Pinning([], None, f"no CPU pinning (only {len(allowed)} CPU available)")
    server, driver = (SERVER_CPU, DRIVER_CPU) if {SERVER_CPU, DRIVER_CPU} <= allowed else sorted(allowed)[:2]
    taskset = shutil.which("taskset")
    if taskset is None:
        return Pinning([], None, "no CPU pinning (taskset not found)")
    os.sched_setaffinity(0, {driver})
    return Pinning(
        [taskset, "-c", str(server)], server, f"server on CPU {server} (taskset), driver on CPU {driver}"
    )


def busy_seconds(cpu: int | None) -> float:
    """CPU-seconds one CPU (or all of them) spent not idle since boot (/proc/stat)."""
    name = "cpu" if cpu is None else f"cpu{cpu}"
    try:
        with open("/proc/stat") as stat:
            line = next(line for line in stat if line.split(maxsplit=1)[0] == name)
    except (OSError, StopIteration):
        return math.nan
    values = [int(v) for v in line.split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    guest = sum(values[8:10])  # already counted in user/nice
    return (sum(values) - idle - guest) / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


# ``python -m smsdesk`` that first writes to its log where its smsdesk package was imported from, so
# a run that compares two versions of the code can check which one each server runs.
CODE_PROBE = (
    "import runpy, sys, smsdesk; "
    "print('smsdesk code:', smsdesk.__file__, file=sys.stderr, flush=True); "
    "runpy.run_module('smsdesk', run_name='__main__', alter_sys=True)"
)
CODE_LINE = "smsdesk code: "


def smsdesk_command(*arguments: str) -> list[str]:
    """The command line of ``smsdesk ARGUMENTS`` run by this Python (``CODE_PROBE``)."""
    return [sys.executable, "-c", CODE_PROBE, *arguments]


def raise_open_file_limit() -> int:
    """Raise this process's soft open-file limit to its hard limit; the servers, drivers and nginx
    it starts inherit it (thousands of long-polls are thousands of descriptors)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


class Server:
    def __init__(self, name: str, command: list[str], port: int, log: Path, env: dict[str, str]) -> None:
        self.name = name
        self.port = port
        self.log_path = log
        self._log = log.open("wb")
        self.process = subprocess.Popen(command, env=env, stdout=self._log, stderr=subprocess.STDOUT)

    def code_path(self) -> Path | None:
        """The directory of the smsdesk package this server imported (logged by ``CODE_PROBE``)."""
        if not self._log.closed:
            self._log.flush()
        for line in self.log_path.read_text(errors="replace").splitlines()[:50]:
            if line.startswith(CODE_LINE):
                return package_directory(line[len(CODE_LINE) :])
        return None

    async def wait_ready(self, path: str, within: float = 60.0) -> None:
        raw = request_bytes("GET", path, self.port, [], None)
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                connection = await Connection.open(self.port)
            except (OSError, TimeoutError):
                await asyncio.sleep(0.1)
                continue
            try:
                status, _ = await connection.call(raw, 5.0)
            except (OSError, asyncio.IncompleteReadError, HttpError):
                status = 0
            finally:
                connection.close()
            if status == 200:
                return
            await asyncio.sleep(0.1)
        raise RuntimeError(f"{self.name} did not answer {path} within {within:.0f} s:\n{self.log_tail()}")

    def cpu_seconds(self) -> float:
        """utime + stime of the server process and its live children (granian serves from a worker
        process), all threads, from /proc."""
        total = 0.0
        pending = [self.process.pid]
        while pending:
            pid = pending.pop()
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                if pid == self.process.pid:
                    return math.nan
                continue
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
            with contextlib.suppress(OSError):
                for task in Path(f"/proc/{pid}/task").iterdir():
                    children = (task / "children").read_text().split()
                    pending += [int(child) for child in children]
        return total

    def log_tail(self, lines: int = 30) -> str:
        if not self._log.closed:
            self._log.flush()
        text = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self._log.close()


def echo_app() -> Any:
    """The yardstick: a bare Starlette JSON echo (``POST /echo``) and ``GET /ready``."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route

    async def echo(request: Request) -> JSONResponse:
        return JSONResponse(await request.json())

    async def ready(request: Request) -> Response:
        return Response(b"ok")

    return Starlette(routes=[Route("/echo", echo, methods=["POST"]), Route("/ready", ready)])


def granian_command(target: str, port: int, log_level: str) -> list[str]:
    """One granian worker serving the ASGI factory ``target``, on the event loop smsdesk uses."""
    return [
        sys.executable, "-m", "granian", "--interface", "asgi", "--factory", "--host", HOST,
        "--port", str(port), "--workers", "1", "--runtime-threads", "1", "--loop", "uvloop",
        "--log-level", log_level, "--no-access-log", target,
    ]  # fmt: skip


def serve_echo(port: int, log_level: str) -> None:
    """The echo, started exactly as ``smsdesk serve`` starts uvicorn."""
    import logging

    import uvicorn

    app = echo_app()
    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)-7s %(name)s: %(message)s")
    uvicorn.run(
        app,
        host=HOST,
        port=port,
        log_level=log_level,
        loop="uvloop",
        http="httptools",
        lifespan="on",
        timeout_graceful_shutdown=3,
    )


# --------------------------------------------------------------------------------------------------
# Bayeux long-poll clients, one per agent.


class SessionInfo(msgspec.Struct):
    id: str = ""
    state: str = ""


class NotificationData(msgspec.Struct):
    messageType: str = ""
    notificationType: str = ""
    referenceId: int | None = None
    smssession: SessionInfo | None = None


class BayeuxMessage(msgspec.Struct):
    channel: str
    successful: bool | None = None
    clientId: str | None = None
    error: str | None = None
    advice: dict[str, Any] | None = None
    data: NotificationData | None = None
    ext: dict[str, Any] | None = None


decode_bayeux = msgspec.json.Decoder(list[BayeuxMessage]).decode


class BayeuxBroken(Exception):
    pass


class BayeuxClient:
    def __init__(
        self,
        agent: int,
        port: int,
        auth: str,
        path: str = BAYEUX_PATH,
        cookies: CookieJar | None = None,
        ack: bool = False,
    ) -> None:
        self.agent = agent
        self.ack = ack
        """The CometD ack extension, as the official client with its AckExtension and smsdesk's own
        desktop use it: each connect acknowledges the batch the previous reply carried."""
        self._acked: int | None = None
        self.port = port
        self.auth = auth
        self.path = path
        self.cookies = cookies if cookies is not None else CookieJar()
        self.client_id = ""
        self.connection: Connection | None = None
        self._built_for = -1  # the jar version self.post and self._connect_raw carry
        self.post = PostTemplate(path, port, [auth])
        self._connect_raw = b""
        self.polls = 0  # /meta/connect replies read by poll_forever
        self._rebuild()

    def _rebuild(self) -> None:
        if self._built_for == self.cookies.version:
            return
        self._built_for = self.cookies.version
        self.post = PostTemplate(self.path, self.port, [self.auth, *self.cookies.headers()])
        if self.client_id:
            connect: dict[str, Any] = {
                "channel": "/meta/connect",
                "clientId": self.client_id,
                "connectionType": "long-polling",
            }
            if self.ack:
                connect["ext"] = {"ack": self._acked if self._acked is not None else -1}
            self._connect_raw = self.post.build(encode([connect]))

    def _acknowledge(self, reply: BayeuxMessage) -> None:
        batch = reply.ext.get("ack") if reply.ext else None
        if self.ack and isinstance(batch, int) and batch != self._acked:
            self._acked = batch
            self._built_for = -1  # the next connect carries it

    async def send(self, *messages: dict[str, Any]) -> list[BayeuxMessage]:
        self._rebuild()
        return await self.send_raw(self.post.build(encode(list(messages))), SETUP_TIMEOUT_S)

    async def send_raw(self, raw: bytes, within: float | None = None) -> list[BayeuxMessage]:
        assert self.connection is not None
        if within is None:
            status, body = await self.connection.request(raw)
        else:
            status, body = await self.connection.call(raw, within)
        if sets_cookie(self.connection):
            self.cookies.keep(self.connection.raw_head)
        if status != 200:
            raise BayeuxBroken(f"agent {self.agent}: HTTP {status} {body[:200]!r}")
        return decode_bayeux(body)

    async def start(self, subscription: str) -> None:
        self.connection = await Connection.open(self.port)
        handshake: dict[str, Any] = {
            "channel": "/meta/handshake",
            "version": "1.0",
            "supportedConnectionTypes": ["long-polling"],
        }
        if self.ack:
            handshake["ext"] = {"ack": True}
        reply = (await self.send(handshake))[0]
        if not reply.successful or not reply.clientId:
            raise BayeuxBroken(f"agent {self.agent}: handshake refused: {reply}")
        self.client_id = reply.clientId
        self._built_for = -1
        self._rebuild()
        for reply in await self.send_raw(self._connect_raw, SETUP_TIMEOUT_S):  # returns at once
            if reply.channel == "/meta/connect":
                self._acknowledge(reply)
        replies = await self.send(
            {"channel": "/meta/subscribe", "clientId": self.client_id, "subscription": subscription}
        )
        if not all(r.successful for r in replies if r.channel == "/meta/subscribe"):
            raise BayeuxBroken(f"agent {self.agent}: subscribe refused: {replies}")

    async def poll_forever(self, deliver: Callable[[int, BayeuxMessage, float], None]) -> None:
        while True:
            self._rebuild()
            messages = await self.send_raw(self._connect_raw)
            received_at = time.perf_counter()
            self.polls += 1
            for message in messages:
                if message.channel == "/meta/connect":
                    if not message.successful:
                        raise BayeuxBroken(f"agent {self.agent}: /meta/connect failed: {message}")
                    self._acknowledge(message)
                elif message.data is not None:
                    deliver(self.agent, message, received_at)

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()


# --------------------------------------------------------------------------------------------------
# The benchmark.


@dataclass
class Agent:
    index: int
    name: str
    auth: str
    session_id: str = ""
    cookies: CookieJar = field(default_factory=CookieJar)
    op_path: str = ""
    port: int = 0
    op: PostTemplate | None = None
    op_cookies: int = -1  # the jar version ``op`` was built with

    def headers(self) -> list[str]:
        return [self.auth, *self.cookies.headers()]

    def operation(self, body: bytes) -> bytes:
        """The UpdateUserData request on the agent's session, with the agent's current cookies."""
        if self.op is None or self.op_cookies != self.cookies.version:
            self.op = PostTemplate(self.op_path, self.port, self.headers())
            self.op_cookies = self.cookies.version
        return self.op.build(body)


class Bench:
    """The driver and the servers it loads. ``target`` names the smsdesk server ("smsdesk"; "old"
    for the code of another commit, run from ``source``, a ``src`` directory)."""

    def __init__(
        self,
        args: argparse.Namespace,
        workdir: Path,
        pinning: Pinning,
        target: str = "smsdesk",
        source: Path | None = None,
    ) -> None:
        self.args = args
        self.workdir = workdir
        self.pin_prefix = pinning.prefix
        self.server_core = pinning.server_cpu
        self.target = target
        self.source = source
        self.servers: list[Server] = []
        self.echo: Server | None = None
        self.smsdesk: Server | None = None
        self.agents: list[Agent] = []
        self.bayeux: list[BayeuxClient] = []
        self.poll_tasks: list[asyncio.Task[None]] = []
        self.poll_failures: list[str] = []
        self.invited: asyncio.Queue[tuple[int, str]] = asyncio.Queue()
        self.tracker = Tracker()
        self.counter = 0
        self.warnings: list[str] = []

    # -- servers ------------------------------------------------------------------------------------

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        if self.source is not None:
            env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(self.source), env.get("PYTHONPATH")]))
        env["SMSDESK_BAYEUX_TIMEOUT_MS"] = str(BAYEUX_TIMEOUT_MS)
        env["SMSDESK_SIMULATOR"] = "1"  # customers' SMS come in through POST /simulator/sms
        # The benchmark is one tenant at full speed on purpose: measure the server, not its limits.
        env["SMSDESK_RATE_LIMIT_USER_PER_S"] = "0"
        env["SMSDESK_RATE_LIMIT_TENANT_PER_S"] = "0"
        env["SMSDESK_RATE_LIMIT_INTAKE_PER_S"] = "0"
        env["SMSDESK_MAX_CONNECTIONS_PER_ADDRESS"] = "0"  # every client is on the same loopback address
        return env

    async def start_echo(self) -> None:
        port = free_port()
        env = self.env()
        if self.args.http_server == "granian":
            command = granian_command("operations:echo_app", port, self.args.server_log_level)
            env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SCRIPT.parent), env.get("PYTHONPATH")]))
        else:
            command = [sys.executable, str(SCRIPT), "--serve-echo", str(port)]
            command += ["--server-log-level", self.args.server_log_level]
        self.echo = Server("echo", self.pin_prefix + command, port, self.workdir / "echo.log", env)
        self.servers.append(self.echo)
        await self.echo.wait_ready("/ready")

    async def start_smsdesk(self) -> None:
        port = free_port()
        self.workdir.mkdir(parents=True, exist_ok=True)
        database = self.workdir / f"{self.target}.db"
        database_url = f"sqlite:///{database}"
        names = [f"bench-agent{i + 1}" for i in range(self.args.agents)]
        number = "+18885550100"
        progress(f"{self.target}: provisioning {len(names)} agents in {database}")
        base_url = f"http://{HOST}:{port}"
        if self.source is None:
            await asyncio.wait_for(provision(database_url, base_url, names, number), 300)
        else:
            await provision_with(self.source, database_url, base_url, names, number)
        env = self.env()
        if self.args.http_server == "granian":
            # The same app through its worker factory, which reads its settings from SMSDESK_*.
            command = granian_command("smsdesk.app:app_from_environment", port, self.args.server_log_level)
            env.update(
                SMSDESK_PORT=str(port),
                SMSDESK_DATABASE_URL=database_url,
                SMSDESK_LOG_LEVEL=self.args.server_log_level,
            )
        else:
            command = smsdesk_command("serve", "--port", str(port), "--database", database_url)
            command += ["--log-level", self.args.server_log_level]
        log = self.workdir / f"{self.target}.log"
        self.smsdesk = Server(self.target, self.pin_prefix + command, port, log, env)
        self.servers.append(self.smsdesk)
        await self.smsdesk.wait_ready("/api/v2/diagnostics/version")
        self.check_code(self.smsdesk, env)
        self.agents = [Agent(i, name, basic_auth(name, PASSWORD)) for i, name in enumerate(names)]
        await self.prepare_agents(number)

    def expected_code(self) -> Path:
        if self.source is not None:
            return (self.source / "smsdesk").resolve()
        import smsdesk

        return Path(smsdesk.__file__).resolve().parent

    def check_code(self, server: Server, env: dict[str, str]) -> None:
        """Make sure the server runs the code it is meant to (the current tree, or ``source``)."""
        found = server.code_path()
        if found is None:  # granian: no probe in the server; ask the same interpreter and path
            probe = [sys.executable, "-c", "import smsdesk; print(smsdesk.__file__)"]
            printed = subprocess.run(probe, env=env, capture_output=True, text=True, timeout=60).stdout
            found = package_directory(printed)
        if found != self.expected_code():
            raise RuntimeError(
                f"{server.name} runs the smsdesk code in {found}, not the one meant ({self.expected_code()})"
            )
        progress(f"{server.name} runs the smsdesk code in {found}")

    async def prepare_agents(self, service_number: str) -> None:
        """Log every agent in, subscribe it, make it Ready and give it one Chatting session."""
        assert self.smsdesk is not None
        port = self.smsdesk.port
        rest = await Connection.open(port)

        async def post(agent: Agent | None, path: str, body: dict[str, Any]) -> dict[str, Any]:
            headers = agent.headers() if agent is not None else []
            status, reply = await rest.call(request_bytes("POST", path, port, headers, encode(body)))
            if agent is not None and sets_cookie(rest):
                agent.cookies.keep(rest.raw_head)
            decoded: dict[str, Any] = decode_any(reply) if reply else {}
            if status != 200 or decoded.get("statusCode") != 0:
                who = agent.name if agent is not None else "anonymous"
                raise RuntimeError(f"{who} POST {path} {body}: HTTP {status} {reply[:300]!r}")
            return decoded

        # The documented endpoint is the bare path; if the server redirects it (a Starlette Mount without
        # a Route for the bare path answers 307), say so loudly and follow, rather than measure nothing.
        bayeux_path = BAYEUX_PATH
        status, _ = await rest.call(request_bytes("POST", BAYEUX_PATH, port, [self.agents[0].auth], b"[]"))
        location = rest.header(b"location")
        if status in (307, 308) and location:
            bayeux_path = "/" + location.split("://", 1)[-1].split("/", 1)[-1]
            self.warnings.append(
                f"POST {BAYEUX_PATH} answered {status} -> {bayeux_path}: CometD clients that post to the "
                f"bare path would break; the Bayeux clients here used {bayeux_path}"
            )
            progress("warning: " + self.warnings[-1])

        progress(f"{self.target}: logging in {len(self.agents)} agents and subscribing their Bayeux clients")
        for agent in self.agents:
            # The first request signs in with Basic and gets the JSESSIONID cookie; the agent's
            # requests and its Bayeux client send it back from then on, as a browser would.
            await post(
                agent,
                "/api/v2/me",
                {"operationName": "StartContactCenterSession", "channels": ["smssession"]},
            )
            if agent.cookies.session is None:
                raise RuntimeError(f"{agent.name}: StartContactCenterSession set no JSESSIONID cookie")
            client = BayeuxClient(
                agent.index, port, agent.auth, bayeux_path, agent.cookies, ack=self.args.desktop_ack
            )
            await client.start("/v2/me/**")
            self.bayeux.append(client)
            self.poll_tasks.append(asyncio.create_task(self.poll(client)))
            await post(agent, "/api/v2/me/channels/smssession", {"operationName": "Ready"})

        # One customer SMS at a time: routing offers it to the least-loaded Ready agent, so each agent
        # ends up with one session; whatever an agent is offered, it accepts (so no offer expires and
        # gets re-routed during the measurement).
        progress(f"{self.target}: creating one Chatting session per agent through the SMS simulator")
        sms = 0
        while any(not a.session_id for a in self.agents):
            sms += 1
            if sms > 3 * len(self.agents):
                raise RuntimeError("routing did not give every agent a session")
            body = {"from": f"+1555{sms:07d}", "to": service_number, "text": "hi"}
            status, reply = await rest.call(request_bytes("POST", "/simulator/sms", port, [], encode(body)))
            if status != 200:
                raise RuntimeError(f"POST /simulator/sms: HTTP {status} {reply[:300]!r}")
            try:
                index, session_id = await asyncio.wait_for(self.invited.get(), 10)
            except TimeoutError:
                raise RuntimeError(f"no agent was offered the SMS from {body['from']} within 10 s") from None
            agent = self.agents[index]
            await post(agent, f"/api/v2/me/smssessions/{session_id}", {"operationName": "Accept"})
            if not agent.session_id:
                agent.session_id = session_id
                agent.op_path = f"/api/v2/me/smssessions/{session_id}"
                agent.port = port
        rest.close()
        await asyncio.sleep(0.5)  # let the Accept notifications flush before the first round
        if self.poll_failures:
            raise RuntimeError("; ".join(self.poll_failures))

    async def poll(self, client: BayeuxClient) -> None:
        try:
            await client.poll_forever(self.deliver)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a dead poller means lost notifications: make the run say why
            self.poll_failures.append(f"agent {client.agent} Bayeux poller died: {exc!r}")

    def deliver(self, agent: int, message: BayeuxMessage, received_at: float) -> None:
        data = message.data
        if data is None or message.channel != "/v2/me/smssessions":
            return
        if data.notificationType == "PropertiesUpdated" and data.referenceId is not None:
            self.tracker.notified(agent, data.referenceId, received_at)
        elif (
            data.notificationType == "StatusChange"
            and data.smssession is not None
            and data.smssession.state == "Invited"
        ):
            self.invited.put_nowait((agent, data.smssession.id))

    # -- load ---------------------------------------------------------------------------------------

    def round_started(self, result: RoundResult) -> None:
        """Called the moment the load starts (after the CPU marks): for subclasses that measure more."""

    def round_ended(self, result: RoundResult) -> None:
        """Called the moment the load has ended (with the CPU marks), before the notifications drain."""

    async def run_round(self, target: str, index: int, duration: float) -> RoundResult:
        smsdesk = target != "echo"
        server = self.smsdesk if smsdesk else self.echo
        assert server is not None
        result = RoundResult(target, index)
        self.tracker = tracker = Tracker()
        connections = [await Connection.open(server.port) for _ in range(self.args.concurrency)]
        if smsdesk:
            workers = [self.smsdesk_worker(c, w, result) for w, c in enumerate(connections)]
        else:
            workers = [self.echo_worker(c, result) for c in connections]

        # The driver's GC pauses would show up as server latency; collect between rounds instead.
        gc.collect()
        gc.disable()
        core = self.server_core
        cpu_server, cpu_driver, cpu_busy = server.cpu_seconds(), time.process_time(), busy_seconds(core)
        polls = sum(c.polls for c in self.bayeux)
        self.round_started(result)
        started = time.perf_counter()
        deadline = started + duration
        tasks = [asyncio.ensure_future(w(deadline)) for w in workers]
        # A request the server never answers would hang the run; give stragglers a generous grace.
        _, stuck = await asyncio.wait(tasks, timeout=duration + STUCK_S)
        for task in stuck:
            task.cancel()
            result.error(f"a request was still unanswered {STUCK_S:g} s after the round ended")
        outcomes = [t.exception() for t in tasks if t not in stuck]
        result.elapsed = time.perf_counter() - started
        result.server_cpu = server.cpu_seconds() - cpu_server
        result.driver_cpu = time.process_time() - cpu_driver
        self.round_ended(result)
        result.polls = sum(c.polls for c in self.bayeux) - polls
        others = busy_seconds(core) - cpu_busy - result.server_cpu
        result.other_cpu = max(0.0, others if core is not None else others - result.driver_cpu)
        gc.enable()
        for outcome in outcomes:
            if outcome is not None:
                result.error(f"connection failed: {outcome!r}")
        for connection in connections:
            connection.close()

        if smsdesk:
            await tracker.drain(DRAIN_S)
            result.notification = tracker.latencies
            result.lost = len(tracker.pending)
            result.duplicates = tracker.duplicates
            result.unmatched = len(tracker.early)
            for failure in self.poll_failures:
                result.error(failure)
            self.poll_failures.clear()
        return result

    def smsdesk_worker(
        self, connection: Connection, worker: int, result: RoundResult
    ) -> Callable[[float], Awaitable[None]]:
        # Each worker owns a fixed slice of the agents, so with agents >= concurrency no two requests
        # for one session are in flight at once (as with a real desktop).
        count = self.args.concurrency
        mine = [a for a in self.agents if a.index % count == worker] or [
            self.agents[worker % len(self.agents)]
        ]

        async def work(deadline: float) -> None:
            tracker, latencies, turn = self.tracker, result.http, 0
            while (sent_at := time.perf_counter()) < deadline:
                agent = mine[turn % len(mine)]
                turn += 1
                self.counter += 1
                status, body = await connection.request(agent.operation(op_body(self.counter)))
                latencies.append(time.perf_counter() - sent_at)
                result.ops += 1
                if sets_cookie(connection):  # a new JSESSIONID (the old one ended): keep it
                    agent.cookies.keep(connection.raw_head)
                if status != 200:
                    result.error(f"{agent.name}: HTTP {status} {body[:200]!r}")
                    continue
                reply = decode_op_reply(body)
                if reply.statusCode != 0 or reply.referenceId is None:
                    result.error(f"{agent.name}: {body[:200]!r}")
                    continue
                tracker.sent(agent.index, reply.referenceId, sent_at)

        return work

    def echo_worker(self, connection: Connection, result: RoundResult) -> Callable[[float], Awaitable[None]]:
        assert self.echo is not None
        # The same body and the same headers (Basic auth and the cookies included) as an operation.
        headers = self.agents[0].headers() if self.agents else [basic_auth("bench-agent1", PASSWORD)]
        template = PostTemplate("/echo", self.echo.port, headers)

        async def work(deadline: float) -> None:
            latencies = result.http
            while (sent_at := time.perf_counter()) < deadline:
                self.counter += 1
                body = op_body(self.counter)
                status, reply = await connection.request(template.build(body))
                latencies.append(time.perf_counter() - sent_at)
                result.ops += 1
                # Starlette re-encodes compact JSON in key order, so a correct echo is byte-identical.
                if status != 200 or reply != body:
                    result.error(f"echo: HTTP {status} {reply[:200]!r}")

        return work

    def close(self) -> None:
        for task in self.poll_tasks:
            task.cancel()
        for client in self.bayeux:
            client.close()
        for server in self.servers:
            server.stop()


async def provision(database_url: str, base_url: str, names: list[str], number: str) -> None:
    """Create the tenant, its agents and service number in the server's database before it starts
    (as ``smsdesk users add`` would; the same approach as tests/support/agents.py)."""
    from smsdesk.config import Settings
    from smsdesk.gws.representation import Urls
    from smsdesk.node import open_store, operation_settings
    from smsdesk.operations import admin
    from smsdesk.operations.services import Services

    settings = Settings(database_url=database_url)
    store = open_store(settings)
    store.migrate()
    services = Services(store, Urls(base_url), operation_settings(settings))
    tenant, queue = "bench", "bench-queue"

    # Every agent has the same password: hash it once and let add_user reuse that (salted) hash, which
    # saves argon2's ~50-250 ms per agent here. The server still verifies each agent's login with argon2.
    namespace = vars(admin)  # add_user looks hash_password up in its module's namespace
    hash_password: Callable[[str], str] = namespace["hash_password"]
    hashed = hash_password(PASSWORD)
    namespace["hash_password"] = lambda password: hashed if password == PASSWORD else hash_password(password)
    try:
        async with services.work() as work:
            await work.tx.tenants.ensure(tenant, tenant)
        for name in names:
            await admin.add_user(services, name, PASSWORD, tenant=tenant, queues=(queue,))
        await admin.add_service_number(services, number, queue=queue, tenant=tenant)
    finally:
        namespace["hash_password"] = hash_password
        store.close()


# Runs another checkout's own ``provision`` on its own code: the database is then exactly what that
# code creates and reads (its migrations, its storage interface), whatever the current code changed.
PROVISION_WITH = """
import asyncio, json, sys
sys.path.insert(0, sys.argv[1])
import operations, smsdesk
print(smsdesk.__file__, flush=True)
a = json.loads(sys.argv[2])
asyncio.run(operations.provision(a["database_url"], a["base_url"], a["names"], a["number"]))
"""


def package_directory(init_file: str) -> Path:
    return Path(init_file.strip()).resolve().parent


async def provision_with(
    source: Path, database_url: str, base_url: str, names: list[str], number: str
) -> None:
    """``provision`` by the checkout whose ``src`` is ``source``, with its ``bench/operations.py``."""
    checkout = source.parent
    arguments = {"database_url": database_url, "base_url": base_url, "names": names, "number": number}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        PROVISION_WITH,
        str(checkout / "bench"),
        encode(arguments).decode(),
        cwd=checkout,
        env={**os.environ, "PYTHONPATH": str(source)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(), 300)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise RuntimeError(f"provisioning with {checkout}'s bench/operations.py took over 300 s") from None
    if process.returncode != 0:
        tail = "\n".join(err.decode(errors="replace").splitlines()[-15:])
        raise RuntimeError(f"provisioning with {checkout}'s bench/operations.py failed:\n{tail}")
    used = package_directory(out.decode().splitlines()[0])
    if used != (source / "smsdesk").resolve():
        raise RuntimeError(f"provisioning for {checkout} imported smsdesk from {used}")


# --------------------------------------------------------------------------------------------------
# Reporting.


def progress(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", flush=True)


def ms(seconds: float) -> str:
    return "-" if math.isnan(seconds) else f"{seconds * 1000:.2f}"


def pct(fraction: float) -> str:
    return "-" if math.isnan(fraction) else f"{fraction:.0%}"


@dataclass
class Figures:
    """One printed line: a round's figures, or the medians of several rounds (counts are summed)."""

    rate: float
    http_p50: float
    http_p99: float
    notification_p50: float
    notification_p99: float
    lost: int
    duplicates: int
    errors: int
    server: float  # fraction of one core
    server_us_per_op: float
    driver: float
    others: float

    @classmethod
    def of(cls, r: RoundResult) -> Figures:
        return cls(
            rate=r.rate,
            http_p50=percentile(r.http, 50),
            http_p99=percentile(r.http, 99),
            notification_p50=percentile(r.notification, 50),
            notification_p99=percentile(r.notification, 99),
            lost=r.lost,
            duplicates=r.duplicates + r.unmatched,
            errors=r.errors,
            server=r.server_cpu / r.elapsed if r.elapsed else math.nan,
            server_us_per_op=r.server_cpu / r.ops * 1e6 if r.ops else math.nan,
            driver=r.driver_cpu / r.elapsed if r.elapsed else math.nan,
            others=r.other_cpu / r.elapsed if r.elapsed else math.nan,
        )

    @classmethod
    def median(cls, rounds: list[RoundResult]) -> Figures:
        each = [cls.of(r) for r in rounds]

        def med(name: str) -> float:
            values = [v for f in each if not math.isnan(v := getattr(f, name))]
            return statistics.median(values) if values else math.nan

        return cls(
            rate=med("rate"),
            http_p50=med("http_p50"),
            http_p99=med("http_p99"),
            notification_p50=med("notification_p50"),
            notification_p99=med("notification_p99"),
            lost=sum(f.lost for f in each),
            duplicates=sum(f.duplicates for f in each),
            errors=sum(f.errors for f in each),
            server=med("server"),
            server_us_per_op=med("server_us_per_op"),
            driver=med("driver"),
            others=med("others"),
        )


HEADER = (
    f"{'round':<8}{'target':<9}{'ops/s':>8} {'HTTP p50':>9}{'p99':>7} {'notif p50':>10}{'p99':>7}"
    f" {'lost':>5}{'dup':>5}{'err':>5} {'server CPU':>11}{'µs/op':>7} {'driver':>7} {'others':>7}"
)
UNITS = (
    f"{'':<8}{'':<9}{'':>8} {'ms':>9}{'ms':>7} {'ms':>10}{'ms':>7}{'':16}"
    f" {'% core':>11}{'':>7} {'% core':>7} {'% core':>7}"
)


def line(label: str, target: str, f: Figures) -> str:
    smsdesk = target != "echo"
    return (
        f"{label:<8}{target:<9}{f.rate:>8,.0f} {ms(f.http_p50):>9}{ms(f.http_p99):>7}"
        f" {ms(f.notification_p50) if smsdesk else '-':>10}{ms(f.notification_p99) if smsdesk else '-':>7}"
        f" {f.lost if smsdesk else '-':>5}{f.duplicates if smsdesk else '-':>5}{f.errors:>5}"
        f" {pct(f.server):>11}{f.server_us_per_op:>7.0f} {pct(f.driver):>7} {pct(f.others):>7}"
    )


def brief(result: RoundResult) -> str:
    f = Figures.of(result)
    text = f"{f.rate:,.0f} ops/s, HTTP p50/p99 {ms(f.http_p50)}/{ms(f.http_p99)} ms"
    if result.target != "echo":
        text += (
            f", notification p50/p99 {ms(f.notification_p50)}/{ms(f.notification_p99)} ms,"
            f" lost {result.lost}, dup {result.duplicates}, unmatched {result.unmatched},"
            f" {result.polls / max(result.ops, 1):.2f} Bayeux polls per op"
        )
    return (
        f"{text}, errors {result.errors}; CPU: server {pct(f.server)},"
        f" driver {pct(f.driver)}, others {pct(f.others)}"
    )


def verdict(value: float, target: float) -> str:
    return "met" if value >= target else "MISSED"


def report(results: dict[str, list[RoundResult]], pinning: Pinning, old: str | None = None) -> None:
    """Per-round lines, medians and ratios. ``results`` by target: "echo", "smsdesk" (the current
    code) and, with ``--compare``, "old" (``old`` describes its commit)."""
    others = "the machine" if pinning.server_cpu is None else f"CPU {pinning.server_cpu}"
    print()
    print(f"Results: {pinning.description}. CPU is % of one core during the round;")
    print(f"'others' is what other processes used of {others} meanwhile (it should be near 0).")
    if old is not None:
        print(f"smsdesk = the working tree's code; old = {old}")
    print(HEADER)
    print(UNITS)
    for row in itertools.zip_longest(*results.values()):
        for result in row:
            if result is not None:
                print(line(str(result.index), result.target, Figures.of(result)))
    for rounds in results.values():
        if rounds:
            print(line("median", rounds[0].target, Figures.median(rounds)))
    print()
    echo, smsdesk = results.get("echo", []), results.get("smsdesk", [])
    if smsdesk:
        rate = statistics.median(r.rate for r in smsdesk)
        print(
            f"smsdesk UpdateUserData end to end: {rate:,.0f} ops/s "
            f"(target >= {TARGET_OPS:,.0f}: {verdict(rate, TARGET_OPS)})"
        )
        polls = statistics.median(r.polls / max(r.ops, 1) for r in smsdesk)
        print(
            f"Bayeux: {polls:.2f} /meta/connect round trips per operation (median), i.e. about "
            f"{1 / polls if polls else math.inf:.1f} notifications per long-poll reply"
        )
    if echo:
        for target, rounds in results.items():
            if target == "echo" or not rounds:
                continue
            ratio = statistics.median(r.rate for r in rounds) / statistics.median(r.rate for r in echo)
            per_round = ", ".join(f"{s.rate / e.rate:.3f}" for e, s in zip(echo, rounds, strict=False))
            goal = (
                f" (target >= {TARGET_RATIO}x: {verdict(ratio, TARGET_RATIO)})" if target == "smsdesk" else ""
            )
            print(f"{target} / echo ops/s, ratio of medians: {ratio:.3f}x{goal}; per round: {per_round}")
    previous = results.get("old", [])
    if smsdesk and previous:
        new_f, old_f = Figures.median(smsdesk), Figures.median(previous)
        per_round = ", ".join(f"{o.rate / n.rate:.3f}" for n, o in zip(smsdesk, previous, strict=False))
        print(
            f"old / smsdesk (the old code against the current one): ops/s {old_f.rate / new_f.rate:.3f}x "
            f"(per round: {per_round}); server CPU per operation {old_f.server_us_per_op:.0f} µs against "
            f"{new_f.server_us_per_op:.0f} µs ({old_f.server_us_per_op / new_f.server_us_per_op:.3f}x); "
            f"notification p50 {ms(old_f.notification_p50)} against {ms(new_f.notification_p50)} ms"
        )
        print("  (above 1.000x in ops/s, or below in CPU, the old code was faster)")
    everything = [r for rounds in results.values() for r in rounds]
    driver = max((Figures.of(r).driver for r in everything), default=0.0)
    if driver > 0.9:
        print(
            f"note: the driver reached {driver:.0%} of its core: the load may have been capped by the "
            "driver, not the server, so treat those rates as lower bounds"
        )
    shared = max((Figures.of(r).others for r in everything), default=0.0)
    if shared > 0.1:
        print(
            f"note: other processes used up to {shared:.0%} of {others} during a round, so the servers "
            "shared their core: trust the in-run ratio more than the absolute figures, or rerun when quiet"
        )


# --------------------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=(
            "Measure smsdesk's UpdateUserData end to end (HTTP in, SQLite commit, Bayeux notification "
            "out) against a bare Starlette JSON echo, interleaved in one run. Prints per-round figures, "
            "medians and the smsdesk/echo ratio; exits non-zero only on functional failures."
        )
    )
    parser.add_argument("--duration", type=float, default=5.0, help="seconds of load per round (default 5)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per target, interleaved (default 3)")
    parser.add_argument(
        "--agents",
        type=int,
        default=None,
        help="agents, each with a Bayeux client and one session (default 50)",
    )
    parser.add_argument(
        "--concurrency", type=int, default=32, help="keep-alive connections sending operations (default 32)"
    )
    parser.add_argument(
        "--warmup", type=float, default=1.0, help="seconds of unmeasured load per target first (default 1)"
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke mode for the test suite: 1 round of 1 s, short warm-up, 10 agents unless --agents",
    )
    parser.add_argument(
        "--only",
        choices=("echo", "smsdesk"),
        help="measure one target only (e.g. to check the driver's headroom)",
    )
    parser.add_argument(
        "--server-log-level",
        default="info",
        help="log level of both servers (default info, as `smsdesk serve`; uvicorn logs each request)",
    )
    parser.add_argument(
        "--http-server",
        choices=("uvicorn", "granian"),
        default="uvicorn",
        help="the HTTP server under both targets (default uvicorn, as `smsdesk serve`; granian must be "
        "installed: .venv/bin/pip install granian). Compare two runs by their ratios.",
    )
    parser.add_argument(
        "--compare",
        metavar="GIT_REF",
        help="also measure the code of GIT_REF (a branch, tag or commit), checked out into a temporary "
        "git worktree and run by this virtualenv's Python, interleaved with the current code and the "
        "echo; prints old/current ratios. The worktree is removed at the end.",
    )
    parser.add_argument(
        "--desktop-ack",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="the agents' Bayeux clients use the CometD ack extension, as smsdesk's desktop does (default on)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (database, logs)")
    parser.add_argument("--serve-echo", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.compare and args.only == "echo":
        parser.error("--compare measures smsdesk: it cannot go with --only echo")
    if args.quick:
        args.duration, args.rounds, args.warmup = 1.0, 1, 0.3
        args.agents = args.agents or 10
    args.agents = args.agents or 50
    if args.duration <= 0 or args.rounds < 1 or args.agents < 1 or args.concurrency < 1 or args.warmup < 0:
        parser.error("--duration, --rounds, --agents and --concurrency must be positive")
    return args


async def run(args: argparse.Namespace, workdir: Path, old: RefWorktree | None = None) -> int:
    pinning = cpu_pinning()
    progress(
        f"{pinning.description}; {args.rounds} round(s) of {args.duration:g} s per target, "
        f"{args.agents} agents, concurrency {args.concurrency}, server log level {args.server_log_level}"
    )
    bench = Bench(args, workdir, pinning)
    benches = {"echo": bench, "smsdesk": bench}
    targets = ["echo", "smsdesk"] if args.only is None else [args.only]
    if old is not None:
        benches["old"] = Bench(args, workdir / "old", pinning, target="old", source=old.source)
        targets.append("old")
    results: dict[str, list[RoundResult]] = {t: [] for t in targets}
    failed = False
    try:
        try:
            if "echo" in targets:
                progress("starting the Starlette echo server")
                await bench.start_echo()
            for target in targets:
                if target != "echo":
                    progress(f"starting {target}")
                    await benches[target].start_smsdesk()
        except Exception as exc:
            traceback.print_exc()
            print(f"error: could not set up the benchmark: {exc}", file=sys.stderr, flush=True)
            args.keep = True
            return 1
        if args.warmup:
            for target in targets:
                warm = await benches[target].run_round(target, 0, args.warmup)
                progress(f"warm-up {target}: {brief(warm)}")
                failed |= warm.broken
                for sample in warm.error_samples:
                    print(f"    error: {sample}", flush=True)
        for index in range(1, args.rounds + 1):
            # Each round starts with the next target, so none is always measured right after another.
            turn = (index - 1) % len(targets)
            for target in targets[turn:] + targets[:turn]:
                result = await benches[target].run_round(target, index, args.duration)
                results[target].append(result)
                failed |= result.broken
                progress(f"round {index}/{args.rounds} {target}: {brief(result)}")
                for sample in result.error_samples:
                    print(f"    error: {sample}", flush=True)
    finally:
        for each in {id(b): b for b in benches.values()}.values():
            each.close()
    report(results, pinning, old.description if old is not None else None)
    for each in {id(b): b for b in benches.values()}.values():
        for warning in each.warnings:
            print(f"warning: {warning}")
    if failed:
        print("FUNCTIONAL FAILURE: errors, lost, duplicate or unmatched notifications (see above)")
        args.keep = True  # the server logs and database are the evidence
    return 1 if failed else 0


def interrupt(signum: int, frame: FrameType | None) -> None:
    """SIGTERM ends the run as Ctrl-C does: servers stopped, temporary worktree removed."""
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.serve_echo is not None:
        serve_echo(args.serve_echo, args.server_log_level)
        return 0
    import uvloop

    raise_open_file_limit()
    signal.signal(signal.SIGTERM, interrupt)
    workdir = Path(tempfile.mkdtemp(prefix="smsdesk-bench-"))
    try:
        with contextlib.ExitStack() as stack:
            old = None
            if args.compare:
                old = stack.enter_context(RefWorktree(args.compare))
                progress(f"old code: {old.description}, checked out in {old.path}")
                if old.dependencies_differ():
                    progress(
                        "warning: pyproject.toml differs between the two: the old code runs on this "
                        "virtualenv's packages, which may not be the ones it needs"
                    )
            return uvloop.run(run(args, workdir, old))
    except GitError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            print(f"server logs and database kept in {workdir}")


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main())
    sys.exit(130)
