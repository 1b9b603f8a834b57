"""Notifications benchmark: smsdesk's operation -> Bayeux notification path against peer Bayeux servers.

Run ``.venv/bin/python bench/notifications.py`` (``--quick`` for a < 60 s smoke run, ``--help`` for the
options). Needs ``node`` and ``npm``; ``npm ci`` runs in ``bench/peers`` on first use.

Method (performance spec §6.3-§6.5 and §7):
- Peers: cometd-nodejs-server 1.2.1 (long-polling only) and faye 1.4 (websocket), each wrapped by a
  small Node script (``bench/peers/*_server.mjs``) that adds ``POST /op/<agent>``: publish the ~1 KB
  JSON body on ``/agents/<agent>``, answer ``{"statusCode":0}``. smsdesk's equivalent is
  ``UpdateUserData`` on the agent's Chatting session, which commits to SQLite and produces a
  ``PropertiesUpdated`` notification on every Bayeux session of that agent (``/v2/me/**``).
- One load driver for all systems (``bench/peers/driver.mjs``): the official ``cometd`` 9 JS client
  with ``cometd-nodejs-client`` (faye's own client for faye, whose websocket the cometd client cannot
  use). Open-loop operations at a fixed rate; every notification carries the operation's ``seq``;
  latency is "POST sent -> received by every subscriber of that agent", on one clock. Each client
  keeps its own cookie jar; against smsdesk it first signs in over REST (``GET /api/v2/me`` with
  Basic) as a desktop does, so its Bayeux requests carry its ``JSESSIONID``. A client not
  subscribed within 60 s makes the driver give up and say why, rather than wait.
- The servers run pinned to CPU 0 (``taskset``) and the drivers to CPU 1. Server CPU is utime+stime
  from ``/proc/<pid>/stat`` over the load window, minus the server's idle rate measured just before
  (same sessions connected, no load), divided by the deliveries. RSS is ``VmRSS``.
- Rounds are interleaved (peer, smsdesk, peer, smsdesk, ...); every round opens fresh Bayeux sessions,
  warms up, then measures. Figures are medians over the rounds; ratios are smsdesk ÷ peer of medians.
- Each transport's peer is its own process, and so is smsdesk's: the websocket scenario gets a
  freshly started smsdesk (same agents and sessions), as faye is, so neither's RSS carries another
  scenario's high-water mark.

Speed never fails the run. The exit status is non-zero only when something functionally broke: HTTP
errors, lost / duplicate / out-of-order notifications outside the restart scenario, a server that
would not start.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# The colleague's benchmark owns the raw asyncio HTTP client and the process plumbing; reuse, don't fork.
from operations import (
    HOST,
    Connection,
    Pinning,
    Server,
    basic_auth,
    busy_seconds,
    cpu_pinning,
    decode_any,
    encode,
    free_port,
    progress,
    raise_open_file_limit,
    request_bytes,
)

PEERS = Path(__file__).resolve().parent / "peers"
PASSWORD = "bench-pass-1"
SERVICE_NUMBER = "+18885550100"
BAYEUX_TIMEOUT_MS = 20_000  # the peers' long-poll hold, performance.md §6.3; smsdesk gets the same
# Sessions must survive while a client reconnects after a server restart (S4), for every system alike.
MAX_INTERVAL_MS = 30_000
PAYLOAD_BYTES = 1_000  # the peers' notification body; smsdesk's PropertiesUpdated is printed alongside


# --------------------------------------------------------------------------------------------------
# Systems under test.


@dataclass(frozen=True)
class System:
    name: str  # "smsdesk", "cometd", "faye"
    transport: str  # "long-polling" | "websocket"
    label: str

    @property
    def client(self) -> str:
        return "faye" if self.name == "faye" else "cometd"


SMSDESK_LP = System("smsdesk", "long-polling", "smsdesk LP")
SMSDESK_WS = System("smsdesk", "websocket", "smsdesk WS")
COMETD_LP = System("cometd", "long-polling", "cometd-nodejs-server LP")
FAYE_WS = System("faye", "websocket", "faye WS")


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return math.nan


class Bench:
    def __init__(self, args: argparse.Namespace, workdir: Path, pinning: Pinning) -> None:
        self.args = args
        self.workdir = workdir
        self.pinning = pinning
        self.servers: dict[str, Server] = {}
        self.agents: dict[str, list[dict[str, Any]]] = {}  # per database: the driver's agent specs
        self.warnings: list[str] = []
        self.failures: list[str] = []
        self.logs = 0
        self.desktop_ack = False
        """smsdesk's desktops use the CometD ack extension (bench/cluster.py's default; the comparison
        with the peers here keeps them without, as the peers' clients are)."""

    # -- servers --------------------------------------------------------------------------------

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        if self.args.src:
            env["PYTHONPATH"] = os.pathsep.join(filter(None, [self.args.src, env.get("PYTHONPATH")]))
        env.update(
            SMSDESK_SIMULATOR="1",
            SMSDESK_BAYEUX_TIMEOUT_MS=str(BAYEUX_TIMEOUT_MS),
            SMSDESK_BAYEUX_MAX_INTERVAL_MS=str(MAX_INTERVAL_MS),
            # Offers must not expire and re-route while 1,000 agents are being set up.
            SMSDESK_OFFER_TIMEOUT_MS="600000",
            # One tenant at 1,000 agents and thousands of ops/s: measure the server, not its limits.
            SMSDESK_RATE_LIMIT_TENANT_PER_S="0",
            SMSDESK_RATE_LIMIT_USER_PER_S="0",
            SMSDESK_RATE_LIMIT_INTAKE_PER_S="0",
            # Every simulated desktop connects from the same loopback address.
            SMSDESK_MAX_CONNECTIONS_PER_ADDRESS="0",
        )
        return env

    def command(self, name: str, port: int, database: str = "", ack: bool = False) -> list[str]:
        node = shutil.which("node") or "node"
        if name == "smsdesk":
            # warning: no per-request access log line, since the Node peers do not log requests either.
            command = [sys.executable, "-m", "smsdesk", "serve", "--port", str(port)]
            command += ["--database", database, "--log-level", self.args.server_log_level]
        elif name == "cometd":
            command = [node, str(PEERS / "cometd_server.mjs"), str(port)] + (["ack"] if ack else [])
        else:
            command = [node, str(PEERS / "faye_server.mjs"), str(port)]
        return self.pinning.prefix + command

    async def start(
        self, key: str, name: str, database: str = "", ack: bool = False, port: int | None = None
    ) -> Server:
        port = port or free_port()
        self.logs += 1
        log = self.workdir / f"{key}-{self.logs}.log"
        env = self.env() if name == "smsdesk" else dict(os.environ)
        server = Server(key, self.command(name, port, database, ack), port, log, env)
        self.servers[key] = server
        await server.wait_ready("/api/v2/diagnostics/version" if name == "smsdesk" else "/ready")
        return server

    def bayeux_path(self, name: str) -> str:
        return {"smsdesk": "/api/v2/notifications", "cometd": "/cometd", "faye": "/bayeux"}[name]

    # -- smsdesk provisioning -----------------------------------------------------------------------

    async def smsdesk(self, key: str, agents: int) -> Server:
        """A provisioned smsdesk: ``agents`` logged-in Ready agents, each with one Chatting session."""
        database = f"sqlite:///{self.workdir / (key + '.db')}"
        names = [f"bench-{key}-{i + 1}" for i in range(agents)]
        started = time.perf_counter()
        await asyncio.to_thread(provision, database, names)
        server = await self.start(key, "smsdesk", database)
        self.agents[key] = await prepare_agents(server.port, names)
        progress(
            f"{key}: {agents} agents provisioned with a Chatting session in {time.perf_counter() - started:.1f} s"
        )
        return server

    # -- one measured round -------------------------------------------------------------------------

    def driver_config(
        self, system: System, server: Server, agents: int, fanout: int, **extra: Any
    ) -> dict[str, Any]:
        if system.name == "smsdesk":
            specs = self.agents[server.name][:agents]
        else:
            specs = [{"index": i, "opPath": f"/op/a{i}", "channel": f"/agents/a{i}"} for i in range(agents)]
        if system.name == "smsdesk" and self.desktop_ack:
            extra = {"ack": True, **extra}
        return {
            "system": system.name,
            "client": system.client,
            "transport": system.transport,
            "fanout": fanout,
            "base": f"http://{HOST}:{server.port}",
            "bayeuxPath": self.bayeux_path(system.name),
            "payloadBytes": PAYLOAD_BYTES,
            "agents": specs,
            # Each desktop signs in over REST first, which gets it smsdesk's JSESSIONID cookie.
            "signInPath": "/api/v2/me" if system.name == "smsdesk" else None,
            **extra,
        }

    async def load_round(
        self, system: System, server: Server, agents: int, fanout: int, rate: float, duration: float
    ) -> Round:
        driver = await Driver.start(self.driver_config(system, server, agents, fanout), self.workdir)
        try:
            await driver.ready(within=120 + agents * fanout / 50)
            # Warm-up (JIT, caches, first-request costs), not counted.
            await driver.load(rate, self.args.warmup, drain=3)
            await asyncio.sleep(self.args.settle)
            # Idle baseline: the same sessions, no operations. Subtracted from the load window's CPU.
            idle_s = self.args.idle
            cpu0 = server.cpu_seconds()
            await asyncio.sleep(idle_s)
            idle_rate = (server.cpu_seconds() - cpu0) / idle_s
            marks: dict[str, float] = {}

            def started() -> None:
                marks["cpu"], marks["busy"] = server.cpu_seconds(), busy_seconds(self.pinning.server_cpu)

            result = await driver.load(rate, duration, drain=5, on_started=started)
            cpu = server.cpu_seconds() - marks["cpu"]
            other = busy_seconds(self.pinning.server_cpu) - marks["busy"] - cpu
            return Round(system.label, result, cpu, idle_rate, rss_mb(server.process.pid), max(0.0, other))
        finally:
            await driver.quit()

    # -- scenarios ---------------------------------------------------------------------------------------

    async def interleaved(
        self, title: str, pairs: list[tuple[System, Server]], agents: int, fanout: int, rate: float
    ) -> dict[str, list[Round]]:
        rounds: dict[str, list[Round]] = {s.label: [] for s, _ in pairs}
        for index in range(self.args.runs):
            for system, server in pairs:
                progress(f"{title}: {system.label}, round {index + 1}/{self.args.runs}")
                r = await self.load_round(system, server, agents, fanout, rate, self.args.duration)
                progress("  " + r.brief())
                rounds[system.label].append(r)
                self.check(title, r)
        return rounds

    def check(self, title: str, r: Round) -> None:
        x = r.result
        bad = {k: x[k] for k in ("errors", "lost", "duplicates", "outOfOrder") if x[k]}
        if bad:
            self.failures.append(f"{title} {r.label}: {bad} {x['errorSamples'][:2]}")

    async def idle_sessions(self, smsdesk: Server, peer: Server, sessions: int) -> dict[str, Any]:
        """S3: RSS and idle CPU with ``sessions`` long-poll sessions, one per agent, no traffic."""
        out: dict[str, Any] = {}
        for system, server in ((COMETD_LP, peer), (SMSDESK_LP, smsdesk)):
            before = rss_mb(server.process.pid)
            if system.name == "smsdesk":
                # Baseline: the same window with no Bayeux session (routing's sweep timer still runs).
                probe = StraceProbe.start(server.process.pid)
                await asyncio.sleep(self.args.idle_window)
                out["strace_baseline"] = probe.stop()
            driver = await Driver.start(self.driver_config(system, server, sessions, 1), self.workdir)
            try:
                await driver.ready(within=120)
                await asyncio.sleep(4 * self.args.settle)  # the connect burst is over
                cpu0 = server.cpu_seconds()
                probe = StraceProbe.start(server.process.pid) if system.name == "smsdesk" else None
                await asyncio.sleep(self.args.idle_window)
                calls = probe.stop() if probe else None
                idle = (server.cpu_seconds() - cpu0) / self.args.idle_window
                out[system.label] = {"before": before, "after": rss_mb(server.process.pid), "cpu": idle}
                if calls is not None:
                    out["strace"] = calls
            finally:
                await driver.quit()
        return out

    async def restart(self, system: System, agents: int, rate: float, duration: float) -> dict[str, Any]:
        """S4 (performance.md §6.5): SIGKILL the server at t=2 s, restart it 0.5 s later, same port/db."""
        key = f"restart-{system.name}"
        if system.name == "smsdesk" and key in self.agents:  # provisioned by an earlier round
            server = await self.start(key, "smsdesk", f"sqlite:///{self.workdir / (key + '.db')}")
        elif system.name == "smsdesk":
            server = await self.smsdesk(key, agents)
        else:
            server = await self.start(key, "cometd", ack=True)
        resume = system.name == "smsdesk" and resume_landed()
        extra = {"ack": system.name != "smsdesk", "resume": resume}
        driver = await Driver.start(self.driver_config(system, server, agents, 1, **extra), self.workdir)
        marks: dict[str, float] = {}
        try:
            await driver.ready(within=60)
            await asyncio.sleep(self.args.settle)

            async def chaos() -> None:
                await asyncio.sleep(self.args.kill_at)
                server.process.send_signal(signal.SIGKILL)
                server.stop()  # reaps it and closes its log
                marks["killed"] = time.perf_counter() - marks["t0"]
                await asyncio.sleep(0.5)
                database = f"sqlite:///{self.workdir / (key + '.db')}"
                restarted = await self.start(key, system.name, database, ack=True, port=server.port)
                marks["up"] = time.perf_counter() - marks["t0"]
                marks["pid"] = restarted.process.pid

            tasks: list[asyncio.Task[None]] = []

            def started() -> None:
                marks["t0"] = time.perf_counter()
                tasks.append(asyncio.create_task(chaos()))

            result = await driver.load(rate, duration, drain=self.args.restart_drain, on_started=started)
            await asyncio.gather(*tasks)
        finally:
            await driver.quit()
            self.servers[key].stop()
        last = result["resubscribedLast"]
        return {
            "result": result,
            "resume": resume,
            "killed": marks.get("killed", math.nan),
            "up": marks.get("up", math.nan),
            "resubscribed_after_kill": (last / 1000 - marks["killed"]) if last is not None else math.nan,
        }

    def close(self) -> None:
        for server in self.servers.values():
            server.stop()


def resume_landed() -> bool:
    """Whether smsdesk's realtime layer handles the handshake ``ext.smsdesk.resume`` (replay) yet."""
    root = Path(__file__).resolve().parents[1] / "src" / "smsdesk" / "realtime"
    return any('"resume"' in p.read_text() for p in root.glob("*.py"))


# --------------------------------------------------------------------------------------------------
# The Node driver, one process per round (fresh sessions every round).


class Driver:
    def __init__(self, process: asyncio.subprocess.Process, log: Path) -> None:
        self.process = process
        self.log = log
        self.errors: list[str] = []

    @classmethod
    async def start(cls, config: dict[str, Any], workdir: Path) -> Driver:
        stem = workdir / f"driver-{time.monotonic_ns()}"
        log = stem.with_suffix(".log")
        # A file, not argv: 1,000 agents' specs exceed the kernel's 128 KiB limit on one argument.
        stem.with_suffix(".json").write_text(json.dumps(config))
        process = await asyncio.create_subprocess_exec(
            shutil.which("node") or "node",
            str(PEERS / "driver.mjs"),
            str(stem.with_suffix(".json")),
            cwd=PEERS,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log.open("wb"),
            limit=1 << 24,  # a result line is small, but an error line can carry a stack
        )
        return cls(process, log)

    async def event(self, within: float) -> dict[str, Any]:
        assert self.process.stdout is not None
        while True:
            line = await asyncio.wait_for(self.process.stdout.readline(), within)
            if not line:
                tail = self.log.read_text(errors="replace")[-2000:]
                raise RuntimeError(f"driver exited with {await self.process.wait()}: {tail}")
            event: dict[str, Any] = json.loads(line)
            if event["event"] == "fatal":
                raise RuntimeError(f"driver gave up: {event['text']}")
            if event["event"] == "error":
                self.errors.append(event["text"])
                progress("driver: " + event["text"][:300])
            elif event["event"] == "progress":
                progress(f"  driver: {event['connected']} clients connected")
            else:
                return event

    async def ready(self, within: float) -> dict[str, Any]:
        event = await self.event(within)
        if event["event"] != "ready":
            raise RuntimeError(f"driver: expected ready, got {event}")
        return event

    def send(self, command: dict[str, Any]) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write((json.dumps(command) + "\n").encode())

    async def load(
        self, rate: float, duration: float, drain: float, on_started: Callable[[], None] | None = None
    ) -> dict[str, Any]:
        self.send({"cmd": "load", "rate": rate, "duration": duration, "drain": drain})
        event = await self.event(60)
        if event["event"] != "started":
            raise RuntimeError(f"driver: expected started, got {event}")
        if on_started is not None:
            on_started()
        result = await self.event(duration + drain + 60)
        result["driverErrors"] = list(self.errors)
        return result

    async def quit(self) -> None:
        if self.process.returncode is None:
            self.send({"cmd": "quit"})
            try:
                await asyncio.wait_for(self.process.wait(), 15)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()


# --------------------------------------------------------------------------------------------------
# smsdesk setup: tenant, agents and one Chatting session per agent.


def provision(database_url: str, names: list[str]) -> None:
    """Create the tenant, agents and service number in the database before the server starts.

    Every agent gets the same argon2 hash, made once with minimal cost parameters: the server's verify
    reads the parameters from the hash, so the first login of 1,000 agents costs ~1 ms each instead of
    ~50-100 ms (the credential cache then spares later requests either way). Logins are setup, not
    what this benchmark measures.
    """
    from argon2 import PasswordHasher

    from smsdesk.config import Settings
    from smsdesk.gws.representation import Urls
    from smsdesk.node import open_store, operation_settings
    from smsdesk.operations import admin
    from smsdesk.operations.services import Services

    settings = Settings(database_url=database_url)
    store = open_store(settings)
    store.migrate()
    services = Services(store, Urls(f"http://{HOST}"), operation_settings(settings))
    cheap = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1).hash(PASSWORD)
    namespace = vars(admin)  # add_user looks hash_password up in its module's namespace
    original = namespace["hash_password"]
    namespace["hash_password"] = lambda password: cheap if password == PASSWORD else original(password)

    async def run() -> None:
        async with services.work() as work:
            await work.tx.tenants.ensure("bench", "bench")
        for name in names:
            await admin.add_user(services, name, PASSWORD, tenant="bench", queues=("bench-queue",))
        await admin.add_service_number(services, SERVICE_NUMBER, queue="bench-queue", tenant="bench")

    try:
        asyncio.run(run())
    finally:
        namespace["hash_password"] = original
        store.close()


async def prepare_agents(port: int, names: list[str]) -> list[dict[str, Any]]:
    """Log every agent in and Ready, send one customer SMS per agent, accept the offers."""
    pool: asyncio.Queue[Connection] = asyncio.Queue()
    for _ in range(16):
        pool.put_nowait(await Connection.open(port))

    async def call(method: str, path: str, auth: str | None, body: Any = None) -> dict[str, Any]:
        connection = await pool.get()
        try:
            raw = request_bytes(
                method, path, port, [auth] if auth else [], None if body is None else encode(body)
            )
            status, reply = await connection.call(raw)
        finally:
            pool.put_nowait(connection)
        decoded: dict[str, Any] = decode_any(reply) if reply else {}
        if status != 200 or decoded.get("statusCode", 0) != 0:
            raise RuntimeError(f"{method} {path} {body}: HTTP {status} {reply[:300]!r}")
        return decoded

    auths = {name: basic_auth(name, PASSWORD) for name in names}

    async def log_in(name: str) -> None:
        body = {"operationName": "StartContactCenterSession", "channels": ["smssession"]}
        await call("POST", "/api/v2/me", auths[name], body)
        await call("POST", "/api/v2/me/channels/smssession", auths[name], {"operationName": "Ready"})

    await asyncio.gather(*(log_in(n) for n in names))
    sessions: dict[str, str] = {}
    seen: set[str] = set()  # every session that reached an agent (offered or accepted)
    sms = 0
    deadline = time.monotonic() + 60 + len(names) / 10
    while len(sessions) < len(names):
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {len(sessions)} of {len(names)} agents got a session")
        missing = [n for n in names if n not in sessions]
        # Routing offers each SMS to the least-loaded Ready agent, so one SMS per missing agent, less
        # those still on their way to one: extra sessions would stay offered, expire and bounce from
        # agent to agent for the whole run, which is load this benchmark does not mean to measure.
        texts = []
        for _ in range(len(missing) - (sms - len(seen))):
            sms += 1
            texts.append({"from": f"+1555{sms:07d}", "to": SERVICE_NUMBER, "text": "hi"})
        await asyncio.gather(*(call("POST", "/simulator/sms", None, t) for t in texts))
        await asyncio.sleep(1.0)

        async def accept(name: str) -> None:
            listing = await call("GET", "/api/v2/me/smssessions?fields=*", auths[name])
            for session in listing.get("smssessions", []):
                seen.add(session["id"])
                if session.get("state") == "Invited":
                    path = f"/api/v2/me/smssessions/{session['id']}"
                    await call("POST", path, auths[name], {"operationName": "Accept"})
                    sessions.setdefault(name, session["id"])
                elif session.get("state") == "Chatting":
                    sessions.setdefault(name, session["id"])

        await asyncio.gather(*(accept(n) for n in missing))
    while not pool.empty():
        pool.get_nowait().close()
    return [
        {
            "index": i,
            "user": name,
            "password": PASSWORD,
            "auth": auths[name].split(": ", 1)[1],
            "opPath": f"/api/v2/me/smssessions/{sessions[name]}",
            "channel": "/v2/me/**",
        }
        for i, name in enumerate(names)
    ]


# --------------------------------------------------------------------------------------------------
# "Does an empty /meta/connect touch the database?" by counting syscalls.


class StraceProbe:
    """``strace -c`` on the server for a window: SQLite's file I/O and its fcntl locks (every WAL read
    transaction takes one on the -shm file) show whether idle long-polls reach the database."""

    def __init__(self, process: subprocess.Popen[bytes] | None, out: Path) -> None:
        self.process = process
        self.out = out

    @classmethod
    def start(cls, pid: int) -> StraceProbe:
        strace = shutil.which("strace")
        out = Path(tempfile.mkstemp(prefix="strace-")[1])
        if strace is None:
            return cls(None, out)
        command = [strace, "-f", "-c", "-e", "trace=pread64,pwrite64,fcntl,fsync,fdatasync", "-o", str(out)]
        process = subprocess.Popen([*command, "-p", str(pid)], stderr=subprocess.DEVNULL)
        time.sleep(0.3)  # attached
        return cls(process, out)

    def stop(self) -> dict[str, int] | None:
        if self.process is None:
            return None
        self.process.send_signal(signal.SIGINT)
        self.process.wait(10)
        counts: dict[str, int] = {}
        for line in self.out.read_text().splitlines():
            parts = line.split()
            if len(parts) >= 5 and parts[-1] in {"pread64", "pwrite64", "fcntl", "fsync", "fdatasync"}:
                counts[parts[-1]] = int(parts[3])
        self.out.unlink(missing_ok=True)
        return counts if self.process.returncode in (0, -2, 130) or counts else None


# --------------------------------------------------------------------------------------------------
# Figures.


@dataclass
class Round:
    label: str
    result: dict[str, Any]
    server_cpu: float  # s over the load window (incl. drain)
    idle_rate: float  # server CPU s/s with the same sessions and no load
    rss: float
    other_cpu: float  # others on the server's core

    @property
    def cpu_per_delivery_ms(self) -> float:
        x = self.result
        net = self.server_cpu - self.idle_rate * x["elapsed"]
        return 1000 * net / x["delivered"] if x["delivered"] else math.nan

    @property
    def gross_per_delivery_ms(self) -> float:
        return 1000 * self.server_cpu / self.result["delivered"] if self.result["delivered"] else math.nan

    @property
    def server_util(self) -> float:
        return self.server_cpu / self.result["elapsed"]

    @property
    def driver_util(self) -> float:
        return float(self.result["driverCpu"]) / self.result["elapsed"]

    def brief(self) -> str:
        x = self.result
        return (
            f"{x['ok']}/{x['sent']} ops ok, {x['delivered']} delivered, lost {x['lost']}, dup {x['duplicates']},"
            f" ooo {x['outOfOrder']}; notify p50/p99 {x['notifyP50'] or 0:.2f}/{x['notifyP99'] or 0:.2f} ms,"
            f" reply p99 {x['replyP99'] or 0:.2f} ms; server CPU {self.server_util:.0%}"
            f" ({self.cpu_per_delivery_ms:.3f} ms/delivery net, idle {self.idle_rate:.1%}),"
            f" driver CPU {self.driver_util:.0%}, loop lag p99 {x['lagP99']:.1f} ms, RSS {self.rss:.0f} MB,"
            f" msg {x['messageBytes']} B"
        )


@dataclass
class Summary:
    label: str
    cpu: float
    p50: float
    p99: float
    reply_p99: float
    rss: float
    lost: int
    dup: int
    ooo: int
    errors: int
    server_util: float
    driver_util: float
    other: float
    msg: float
    runs: int = 0
    extra: dict[str, float] = field(default_factory=dict)

    @classmethod
    def of(cls, label: str, rounds: list[Round]) -> Summary:
        def med(values: Sequence[float | None]) -> float:
            clean = [float(v) for v in values if v is not None and not math.isnan(float(v))]
            return statistics.median(clean) if clean else math.nan

        return cls(
            label,
            cpu=med([r.cpu_per_delivery_ms for r in rounds]),
            p50=med([r.result["notifyP50"] for r in rounds]),
            p99=med([r.result["notifyP99"] for r in rounds]),
            reply_p99=med([r.result["replyP99"] for r in rounds]),
            rss=med([r.rss for r in rounds]),
            lost=sum(r.result["lost"] for r in rounds),
            dup=sum(r.result["duplicates"] for r in rounds),
            ooo=sum(r.result["outOfOrder"] for r in rounds),
            errors=sum(r.result["errors"] for r in rounds),
            server_util=med([r.server_util for r in rounds]),
            driver_util=med([r.driver_util for r in rounds]),
            other=med([r.other_cpu / r.result["elapsed"] for r in rounds]),
            msg=med([r.result["messageBytes"] for r in rounds]),
            runs=len(rounds),
        )

    def row(self) -> str:
        return (
            f"  {self.label:<24} {self.cpu:8.3f} {self.p50:7.2f} {self.p99:7.2f} {self.reply_p99:7.2f}"
            f" {self.rss:6.0f} {self.lost:5d} {self.dup:4d} {self.ooo:4d} {self.errors:4d}"
            f" {self.server_util:6.0%} {self.driver_util:6.0%} {self.other:6.0%} {self.msg:6.0f}"
        )


HEADER = (
    "  system                   cpu/del   p50ms   p99ms  rep99   RSSMB  lost  dup  ooo  err"
    "  srvCPU  drvCPU  other  msgB"
)


def verdict(value: float, target: float) -> str:
    if math.isnan(value):
        return "n/a"
    return "meets" if value <= target else "MISSES"


Target = Callable[[Summary, dict[str, float]], str]


def print_pair(
    title: str, rounds: dict[str, list[Round]], peer: str | None, targets: list[Target]
) -> dict[str, Any]:
    print(f"\n{title}  (medians of {max(len(v) for v in rounds.values())} runs; cpu/del = server CPU-ms per")
    print("  delivered notification, idle subtracted; p50/p99 = op sent -> received by every subscriber)")
    print(HEADER)
    summaries = {label: Summary.of(label, rs) for label, rs in rounds.items()}
    for s in summaries.values():
        print(s.row())
    out: dict[str, Any] = {k: vars(v) for k, v in summaries.items()}
    smsdesk = next(s for label, s in summaries.items() if label.startswith("smsdesk"))
    if peer is not None:
        p = summaries[peer]
        ratios = {"cpu": smsdesk.cpu / p.cpu, "p99": smsdesk.p99 / p.p99, "rss": smsdesk.rss / p.rss}
        out["ratios"] = ratios
        print(
            f"  ratio smsdesk ÷ {peer}: CPU/delivery {ratios['cpu']:.2f}x, p99 {ratios['p99']:.2f}x,"
            f" RSS {ratios['rss']:.2f}x"
        )
    for target in targets:
        print("  target " + target(smsdesk, out.get("ratios", {})))
    return out


# --------------------------------------------------------------------------------------------------
# Main.


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="smsdesk notifications (operation -> Bayeux delivery) against cometd-nodejs-server and "
        "faye, interleaved in one run (performance spec §6-§7).",
    )
    parser.add_argument("--quick", action="store_true", help="smoke run: scaled down, 1 round, < 60 s")
    parser.add_argument("--runs", type=int, default=3, help="measured rounds per system (default 3)")
    parser.add_argument("--duration", type=float, default=8.0, help="seconds of load per round (default 8)")
    parser.add_argument("--warmup", type=float, default=2.0, help="warm-up seconds per round (default 2)")
    parser.add_argument("--idle", type=float, default=2.0, help="idle-baseline seconds per round (default 2)")
    parser.add_argument(
        "--scenarios",
        default="s2,s4,s1,s3,ws",
        help="comma list of s1 (100x1 LP, 500 ops/s), s2 (1,000x10 LP, 200 ops/s), ws (S2 over websocket "
        "vs faye), s3 (1,000 idle sessions), s4 (restart); default all",
    )
    parser.add_argument("--agents", type=int, default=1000, help="agents for S2/S3 (default 1,000)")
    parser.add_argument("--server-log-level", default="warning", help="smsdesk --log-level (default warning)")
    parser.add_argument(
        "--src",
        metavar="DIR",
        help="run smsdesk from this source tree instead of the installed one (e.g. a `git archive HEAD src`"
        " export while the working tree is mid-edit)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (databases, logs)")
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    args = parser.parse_args(argv)
    args.idle_window, args.kill_at, args.restart_drain, args.settle = 10.0, 2.0, 10.0, 0.5
    args.s1_agents, args.s1_rate, args.s2_rate, args.s4_duration = 100, 500.0, 200.0, 6.0
    if args.quick:
        args.runs, args.duration, args.warmup, args.idle, args.idle_window = 1, 1.5, 0.3, 0.5, 1.5
        args.agents, args.s1_agents, args.s1_rate, args.s2_rate = 50, 20, 200.0, 100.0
        args.s4_duration, args.kill_at, args.restart_drain, args.settle = 2.5, 0.8, 4.0, 0.2
    args.scenarios = {s.strip().lower() for s in args.scenarios.split(",") if s.strip()}
    return args


def ensure_node_modules() -> None:
    if (PEERS / "node_modules" / "cometd-nodejs-server").exists():
        return
    npm = shutil.which("npm")
    if npm is None:
        raise SystemExit("npm is needed to install the peers (bench/peers)")
    progress("installing bench/peers (npm ci)")
    subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=PEERS, check=True, timeout=300)


async def run(args: argparse.Namespace, workdir: Path) -> int:
    pinning = cpu_pinning()
    progress(pinning.description)
    bench = Bench(args, workdir, pinning)
    figures: dict[str, Any] = {"pinning": pinning.description, "quick": args.quick}
    scenarios = args.scenarios
    fanout = 10
    try:
        need_main = scenarios & {"s1", "s2", "s3"}
        smsdesk = await bench.smsdesk("main", args.agents) if need_main else None
        cometd = await bench.start("cometd", "cometd") if need_main else None
        faye = await bench.start("faye", "faye") if "ws" in scenarios else None
        if "s3" in scenarios and smsdesk and cometd:
            # Before S1/S2, so neither server's RSS carries the high-water mark of 10,000 sessions.
            s3 = await bench.idle_sessions(smsdesk, cometd, args.agents)
            figures["s3"] = s3
        if "s2" in scenarios and smsdesk and cometd:
            rounds = await bench.interleaved(
                "S2 LP", [(COMETD_LP, cometd), (SMSDESK_LP, smsdesk)], args.agents, fanout, args.s2_rate
            )
            figures["s2"] = rounds
        if "s4" in scenarios:
            s4: dict[str, list[dict[str, Any]]] = {}
            for index in range(args.runs):
                for system in (COMETD_LP, SMSDESK_LP):
                    progress(f"S4 restart: {system.label}, round {index + 1}/{args.runs}")
                    outcome = await bench.restart(system, 10, 200.0, args.s4_duration)
                    x = outcome["result"]
                    progress(
                        f"  ok ops {x['ok']}/{x['sent']}, lost after a 200: {x['lost']}, dup {x['duplicates']},"
                        f" ooo {x['outOfOrder']}, handshakes {x['handshakes']}, all resubscribed"
                        f" {outcome['resubscribed_after_kill']:.2f} s after the kill (server back at"
                        f" {outcome['up'] - outcome['killed']:.2f} s)"
                    )
                    s4.setdefault(system.label, []).append(outcome)
            figures["s4"] = s4
        if "s1" in scenarios and smsdesk and cometd:
            figures["s1"] = await bench.interleaved(
                "S1 LP", [(COMETD_LP, cometd), (SMSDESK_LP, smsdesk)], args.s1_agents, 1, args.s1_rate
            )
        if "ws" in scenarios and faye:
            # A server of its own, as faye has one: otherwise smsdesk's RSS here would be the
            # high-water mark the long-polling scenarios left (Python keeps freed memory mapped).
            if smsdesk:
                smsdesk.stop()
            smsdesk_ws = await bench.smsdesk("ws", args.agents)
            figures["ws"] = await bench.interleaved(
                "S2 WS", [(FAYE_WS, faye), (SMSDESK_WS, smsdesk_ws)], args.agents, fanout, args.s2_rate
            )
    finally:
        bench.close()
    report(args, figures, bench)
    return 1 if bench.failures else 0


def report(args: argparse.Namespace, figures: dict[str, Any], bench: Bench) -> None:
    print("\n" + "=" * 100)
    print(
        f"smsdesk notifications benchmark ({'quick smoke run' if args.quick else 'default run'});"
        f" {figures['pinning']}"
    )
    out: dict[str, Any] = {}
    if "s1" in figures:
        out["s1"] = print_pair(
            f"S1: {args.s1_agents} agents x 1, {args.s1_rate:.0f} ops/s, long-polling",
            figures["s1"],
            COMETD_LP.label,
            [
                lambda s, r: f"p99 <= 25 ms: {s.p99:.2f} ms {verdict(s.p99, 25)}",
                lambda s, r: f"p99 <= 2x peer: {r['p99']:.2f}x {verdict(r['p99'], 2)}",
            ],
        )
    if "s2" in figures:
        out["s2"] = print_pair(
            f"S2: {args.agents} agents x 10, {args.s2_rate:.0f} ops/s, long-polling",
            figures["s2"],
            COMETD_LP.label,
            [
                lambda s, r: (
                    f"CPU/delivery <= 1.0x peer (P1 stretch; P1 is 1.5x): {r['cpu']:.2f}x"
                    f" {verdict(r['cpu'], 1.0)}"
                ),
                lambda s, r: (
                    f"p99 <= 50 ms: {s.p99:.2f} ms {verdict(s.p99, 50)};"
                    f" p50 <= 5 ms: {s.p50:.2f} ms {verdict(s.p50, 5)}"
                ),
            ],
        )
    if "ws" in figures:
        out["ws"] = print_pair(
            f"S2 WS: {args.agents} agents x 10, {args.s2_rate:.0f} ops/s, websocket",
            figures["ws"],
            FAYE_WS.label,
            [lambda s, r: f"CPU/delivery <= 1.5x faye WS: {r['cpu']:.2f}x {verdict(r['cpu'], 1.5)}"],
        )
    if "s3" in figures:
        s3 = figures["s3"]
        print(
            f"\nS3: {args.agents} idle long-poll sessions (RSS before -> with sessions; idle CPU over"
            f" {args.idle_window:.0f} s)"
        )
        for label in (COMETD_LP.label, SMSDESK_LP.label):
            x = s3[label]
            print(f"  {label:<24} RSS {x['before']:.0f} -> {x['after']:.0f} MB, idle CPU {x['cpu']:.1%}")
        ratio = s3[SMSDESK_LP.label]["after"] / s3[COMETD_LP.label]["after"]
        print(f"  target RSS <= 1.5x cometd-nodejs-server: {ratio:.2f}x {verdict(ratio, 1.5)}")
        calls = s3.get("strace")
        if calls is None:
            print(
                "  DB probe: strace unavailable; empty /meta/connect is answered from in-memory session state"
            )
        else:
            print(
                f"  DB probe, strace -c on smsdesk over {args.idle_window:.0f} s (pread64/pwrite64/fcntl/fsync;"
                f" SQLite takes an fcntl lock per WAL transaction): with {args.agents} idle sessions"
                f" (~{args.agents * args.idle_window * 1000 / BAYEUX_TIMEOUT_MS:.0f} empty /meta/connect):"
                f" {calls or 'none'}; same window without sessions: {s3.get('strace_baseline') or 'none'}"
            )
        out["s3"] = s3
    if "s4" in figures:
        print(
            f"\nS4: restart (10 agents x 1, 200 ops/s; SIGKILL at t={args.kill_at:.0f} s, back 0.5 s later)"
        )
        out["s4"] = {}
        for label, outcomes in figures["s4"].items():
            lost = [o["result"]["lost"] for o in outcomes]
            oks = [o["result"]["ok"] for o in outcomes]
            resub = statistics.median([o["resubscribed_after_kill"] for o in outcomes])
            extra = " (resume ext sent)" if any(o["resume"] for o in outcomes) else ""
            ack = " + ack extension" if label == COMETD_LP.label else ""
            print(
                f"  {label + ack + extra:<44} lost after a 200: {lost} of {oks};"
                f" all resubscribed {resub:.2f} s after the kill (median)"
            )
            out["s4"][label] = {"lost": lost, "ok": oks, "resubscribed_after_kill": resub}
        print("  target (R2): 0 lost for operations that got statusCode 0")
    if bench.failures:
        print("\nFUNCTIONAL FAILURES:")
        for failure in bench.failures:
            print("  " + failure)
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2, default=str))


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.src:
        args.src = str(Path(args.src).resolve())
        sys.path.insert(0, args.src)  # provisioning imports smsdesk in this process too
    if shutil.which("node") is None:
        print("node is not installed", file=sys.stderr)
        return 2
    raise_open_file_limit()
    ensure_node_modules()
    workdir = Path(tempfile.mkdtemp(prefix="smsdesk-notify-"))
    started = time.perf_counter()
    try:
        code = asyncio.run(run(args, workdir))
    finally:
        if args.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    progress(f"done in {time.perf_counter() - started:.0f} s")
    return code


if __name__ == "__main__":
    sys.exit(main())
