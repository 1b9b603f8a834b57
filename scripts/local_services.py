"""Throwaway services on loopback for the tests, the benchmarks and ``make cluster``: a PostgreSQL
cluster in a temporary directory (Debian's server binaries) and nginx round-robin in front of
smsdesk nodes, with no stickiness (the cluster benchmark also asks for cookie affinity). Nothing
here is for production: see ``deploy/``.

PostgreSQL refuses to run as root, so under root (CI, the development machines) it runs as the
``postgres`` account that Debian's package creates.
"""

from __future__ import annotations

import atexit
import contextlib
import glob
import hashlib
import math
import os
import pwd
import resource
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _binaries() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        raise RuntimeError(
            "PostgreSQL server binaries not found (/usr/lib/postgresql/*/bin): `make test-deps` installs "
            "Debian's postgresql package"
        )
    return Path(found[-1]).parent


def _as_owner(command: list[str]) -> list[str]:
    """Run as ``postgres`` when we are root (PostgreSQL refuses root)."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *command]
    return command


class ThrowawayPostgres:
    """A PostgreSQL cluster of its own, started on a free loopback port, deleted by :meth:`stop`.

    ``durable=False`` (the tests) turns fsync off: the tests kill smsdesk, never PostgreSQL, so
    nothing they check depends on PostgreSQL's crash safety, and it keeps commits quick.
    ``durable=True`` (the benchmarks) keeps PostgreSQL's defaults, so commit figures are honest.
    ``statements=True`` (the cluster benchmark) loads ``pg_stat_statements``, tracking every
    statement (nested and utility ones too), and creates the extension in every database.
    """

    def __init__(
        self, directory: Path | None = None, *, durable: bool = False, statements: bool = False
    ) -> None:
        self.bin = _binaries()
        self.port = free_port()
        if directory is None:
            directory = Path(tempfile.mkdtemp(prefix="smsdesk-pg-"))
        else:
            directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self.data = self.directory / "data"
        self.durable = durable
        self.statements = statements
        self.user = "smsdesk"
        self.password = "smsdesk"
        self._created: set[str] = set()
        self._lock = threading.Lock()

    def start(self) -> ThrowawayPostgres:
        password_file = self.directory / "pw"
        password_file.write_text(self.password)
        if os.geteuid() == 0:
            owner = pwd.getpwnam("postgres")
            os.chown(self.directory, owner.pw_uid, owner.pw_gid)
            os.chown(password_file, owner.pw_uid, -1)
        initdb = [str(self.bin / "initdb"), "-D", str(self.data), "-U", self.user]
        initdb += ["--pwfile", str(password_file), "-A", "scram-sha-256", "-E", "UTF8"]
        if not self.durable:
            initdb.append("--no-sync")
        subprocess.run(_as_owner(initdb), check=True, capture_output=True, timeout=120)
        options = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 -c max_connections=400"
        if not self.durable:
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        if self.statements:
            options += (
                " -c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track=all"
                " -c pg_stat_statements.track_utility=on -c pg_stat_statements.max=10000"
            )
        subprocess.run(
            _as_owner(
                [
                    str(self.bin / "pg_ctl"),
                    "-D",
                    str(self.data),
                    "-l",
                    str(self.directory / "postgres.log"),
                    "-o",
                    options,
                    "-w",
                    "start",
                ]
            ),
            check=True,
            capture_output=True,
            # Its own session: a Ctrl-C meant for the program that started it must not also reach
            # the postmaster, which that program stops itself, last.
            start_new_session=True,
            timeout=120,
        )
        atexit.register(self.stop)
        if self.statements:
            self._psql("postgres", "CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        return self

    def _psql(self, database: str, statement: str) -> None:
        subprocess.run(
            ["psql", self.url(database), "-q", "-v", "ON_ERROR_STOP=1", "-c", statement],
            check=True,
            capture_output=True,
            timeout=60,
        )

    def url(self, database: str) -> str:
        return f"postgresql://{self.user}:{self.password}@127.0.0.1:{self.port}/{database}"

    def database_for(self, key: str) -> str:
        """A database of its own per key (e.g. a test server's path), created on first use."""
        name = "t_" + hashlib.sha1(key.encode()).hexdigest()[:20]
        with self._lock:
            if name not in self._created:
                self._psql("postgres", f"CREATE DATABASE {name}")
                if self.statements:
                    self._psql(name, "CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
                self._created.add(name)
        return self.url(name)

    def log_tail(self, lines: int = 20) -> str:
        try:
            text = (self.directory / "postgres.log").read_text(errors="replace")
        except OSError:
            return "(no PostgreSQL log)"
        return "\n".join(text.splitlines()[-lines:])

    def postmaster_pid(self) -> int | None:
        try:
            return int((self.data / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def stop(self) -> None:
        postmaster = self.postmaster_pid()
        if self.data.exists():
            subprocess.run(
                _as_owner([str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop"]),
                capture_output=True,
                timeout=120,
            )
        # pg_ctl returns once the pid file is gone, a moment before the postmaster has exited.
        deadline = time.monotonic() + 10
        while postmaster is not None and _running(postmaster) and time.monotonic() < deadline:
            time.sleep(0.05)
        shutil.rmtree(self.directory, ignore_errors=True)


def _running(pid: int) -> bool:
    """Whether ``pid`` is a live process (an exited one waiting to be reaped does not count)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "\nState:\tZ" not in status


NGINX_CONFIG = """
worker_processes {workers};
worker_rlimit_nofile {files};
daemon off;
pid {directory}/nginx.pid;
error_log {directory}/error.log warn;
events {{ worker_connections {files}; }}  # two per long-poll: the fan-out benchmark holds thousands
http {{
    access_log off;
    client_body_temp_path {directory}/body;
    proxy_temp_path {directory}/proxy;
    fastcgi_temp_path {directory}/fastcgi;
    uwsgi_temp_path {directory}/uwsgi;
    scgi_temp_path {directory}/scgi;
    upstream smsdesk {{
{balancing}{servers}
{keepalive}    }}
    map $http_upgrade $connection_upgrade {{ default upgrade; '' {no_upgrade}; }}
    server {{
        listen 127.0.0.1:{port}{reuseport};
        location / {{
            proxy_pass http://smsdesk;
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            proxy_set_header Host $host;
            proxy_read_timeout 120s;
            proxy_send_timeout 120s;
            proxy_buffering off;
            proxy_next_upstream error timeout http_502;
            proxy_next_upstream_tries 3;
        }}
    }}
}}
"""
"""Round-robin, no stickiness (the point: any node serves any request), unless asked for soft
affinity. deploy/nginx.conf is the production reference; this one is minimal and lives in a
temporary directory."""

# What one worker may open when nothing limits it below (a long-poll holds two: client and node).
WANTED_FILES_PER_WORKER = 70_000
# The share of a worker's descriptors ``clients`` may plan on: the kernel spreads connections over
# the workers (reuseport) by a hash, not evenly, and a worker also holds its listening sockets,
# logs and kept-alive upstream connections.
FILES_HEADROOM = 0.6


def _can_raise_hard_limits() -> bool:
    """Whether this process may raise a hard limit (CAP_SYS_RESOURCE): a container's root often may not."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("CapEff:"):
                return bool(int(line.split()[1], 16) >> 24 & 1)
    except (OSError, ValueError):
        pass
    return False


def files_per_worker() -> int:
    """The open-file limit an nginx worker started from here actually gets: ``worker_rlimit_nofile``
    above the hard limit fails (``setrlimit ... Operation not permitted``) unless we may raise it,
    and the worker then keeps the limit it inherited."""
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    if hard == resource.RLIM_INFINITY or hard >= WANTED_FILES_PER_WORKER or _can_raise_hard_limits():
        return WANTED_FILES_PER_WORKER
    return int(hard)


class Nginx:
    """nginx before smsdesk nodes on loopback.

    ``affinity``: soft affinity, each ``JSESSIONID`` cookie to one node by a consistent hash (a
    request is still passed to another node when its own is down). ``upstream_keepalive``: that
    many idle connections to the nodes kept per worker, as deploy/nginx.conf does (0: a new
    connection per request). ``clients``: how many client connections it must hold at once; nginx
    gets as many workers as the open-file limit then needs.
    """

    def __init__(
        self,
        directory: Path,
        upstreams: list[int],
        port: int = 0,
        *,
        affinity: bool = False,
        upstream_keepalive: int = 0,
        clients: int = 1_000,
    ) -> None:
        self.directory = directory
        self.port = port or free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.upstreams = upstreams
        self.affinity = affinity
        self.upstream_keepalive = upstream_keepalive
        self.files = files_per_worker()
        self.workers = max(1, math.ceil(2 * clients / (FILES_HEADROOM * self.files)))
        self.process: subprocess.Popen[bytes] | None = None

    def config(self) -> str:
        servers = "\n".join(f"        server 127.0.0.1:{port} max_fails=0;" for port in self.upstreams)
        keepalive = self.upstream_keepalive
        return NGINX_CONFIG.format(
            directory=self.directory,
            workers=self.workers,
            files=self.files,
            balancing="        hash $cookie_JSESSIONID consistent;\n" if self.affinity else "",
            servers=servers,
            keepalive=f"        keepalive {keepalive};\n" if keepalive else "",
            # Kept-alive upstream connections need an empty Connection header, not "close".
            no_upgrade="''" if keepalive else "close",
            port=self.port,
            # Several workers: the kernel spreads the connections over them, not the first to wake.
            reuseport=" reuseport" if self.workers > 1 else "",
        )

    def start(self, *, new_session: bool = False) -> Nginx:
        binary = shutil.which("nginx") or "/usr/sbin/nginx"
        self.directory.mkdir(parents=True, exist_ok=True)
        os.chmod(self.directory, 0o777)  # nginx workers run as an unprivileged user under root
        config = self.directory / "nginx.conf"
        config.write_text(self.config())
        self.process = subprocess.Popen(
            [binary, "-p", str(self.directory), "-c", str(config)],
            stdout=subprocess.DEVNULL,
            stderr=(self.directory / "stderr.log").open("ab"),
            start_new_session=new_session,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                httpx.get(self.base_url + "/api/v2/diagnostics/version", timeout=1)
                return self
            except httpx.HTTPError:
                time.sleep(0.05)
        raise RuntimeError(f"nginx did not start: {self.log_tail()}")

    def log_tail(self, lines: int = 20) -> str:
        """The last lines of nginx's error log (where it says it ran out of descriptors or nodes)."""
        try:
            text = (self.directory / "error.log").read_text(errors="replace")
        except OSError:
            return "(no nginx error log)"
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
            self.process = None


def _autoctl() -> Path:
    """Debian's pg_auto_failover: ``postgresql-NN-auto-failover`` (the monitor's extension) brings
    ``pg-auto-failover-cli`` (``/usr/bin/pg_autoctl``); ``make test-deps`` installs it when missing."""
    found = shutil.which("pg_autoctl") or next(iter(glob.glob("/usr/lib/postgresql/*/bin/pg_autoctl")), None)
    extension = Path(f"/usr/share/postgresql/{_binaries().parent.name}/extension/pgautofailover.control")
    if found is None or not extension.exists():
        raise RuntimeError(
            f"pg_auto_failover not found: `make test-deps` installs Debian's "
            f"postgresql-{_binaries().parent.name}-auto-failover"
        )
    return Path(found)


FAILOVER_TUNED = {
    # The monitor's health checks: every second, a node unhealthy after 3 s without an answer, and
    # a primary that does not demote itself replaced after 5 s (pg_auto_failover's defaults: 5 s,
    # 20 s and 30 s, about 50 s of outage for a primary that died).
    "pgautofailover.health_check_period": "1000",
    "pgautofailover.health_check_timeout": "1000",
    "pgautofailover.health_check_max_retries": "1",
    "pgautofailover.health_check_retry_delay": "500",
    "pgautofailover.node_considered_unhealthy_timeout": "3000",
    "pgautofailover.primary_demote_timeout": "5000",
    "pgautofailover.startup_grace_period": "5000",
}
"""The monitor's timeouts the suite and ``make cluster-ha`` use (deploy/postgresql-failover.md says why)."""

_SMALL = {
    # pg_autoctl sizes shared_buffers at 25 % of the machine's memory and keeps 8 GB of WAL per node:
    # three of them on a development machine want something smaller.
    "shared_buffers": "'32MB'",
    "wal_keep_size": "'256MB'",
    "max_connections": "300",
}


class FailoverPair:
    """pg_auto_failover on loopback: a monitor and two PostgreSQL nodes with synchronous
    replication, in a temporary directory, run as ``postgres``; :meth:`kill_primary` kills the
    primary's keeper and server outright (``kill -9``), as a dead machine would.

    ``tuned``: the monitor's timeouts of :data:`FAILOVER_TUNED` (a failover in seconds); otherwise
    pg_auto_failover's defaults. ``durable=False`` turns fsync off (the failover tests kill
    processes, never the machine, so the page cache survives them).
    """

    def __init__(self, directory: Path | None = None, *, tuned: bool = True, durable: bool = False) -> None:
        self.bin = _binaries()
        self.autoctl = _autoctl()
        self.directory = directory or Path(tempfile.mkdtemp(prefix="smsdesk-ha-"))
        self.directory.mkdir(parents=True, exist_ok=True)
        self.tuned = tuned
        self.durable = durable
        self.monitor_port = free_port()
        self.ports = [free_port(), free_port()]
        self.database = "smsdesk"
        self.user = "postgres"
        self._processes: dict[str, subprocess.Popen[bytes]] = {}
        self.killed: set[int] = set()

    # ----- where things are -----

    def _data(self, name: str) -> Path:
        return self.directory / name

    def url(self, database: str | None = None) -> str:
        """The multi-host URL smsdesk is given: both nodes, the writable one chosen at connect."""
        hosts = ",".join(f"127.0.0.1:{port}" for port in self.ports)
        return f"postgresql://{self.user}@{hosts}/{database or self.database}?target_session_attrs=read-write"

    def monitor_url(self) -> str:
        return f"postgresql://autoctl_node@127.0.0.1:{self.monitor_port}/pg_auto_failover?sslmode=disable"

    def _env(self) -> dict[str, str]:
        return {
            **os.environ,
            "PATH": f"{self.bin}:{os.environ.get('PATH', '/usr/bin:/bin')}",
            "PG_CONFIG": str(self.bin / "pg_config"),
            "XDG_CONFIG_HOME": str(self.directory / "config"),
            "XDG_DATA_HOME": str(self.directory / "share"),
            "XDG_RUNTIME_DIR": str(self.directory / "run"),
            "PGHOST": "127.0.0.1",
        }

    def _run(self, command: list[str], timeout: float = 180) -> str:
        done = subprocess.run(
            _as_owner(command), env=self._env(), capture_output=True, text=True, timeout=timeout, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(command[:3])} failed ({done.returncode}): {done.stderr[-2000:]}")
        return done.stdout

    def psql(self, port: int, database: str, statement: str, timeout: float = 30) -> str:
        """One statement on one server (ALTER SYSTEM cannot run in a transaction block: one each)."""
        url = f"postgresql://{self.user}@127.0.0.1:{port}/{database}?sslmode=disable"
        done = subprocess.run(
            ["psql", url, "-qAtX", "-v", "ON_ERROR_STOP=1", "-c", statement],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"psql on {port}: {statement[:60]}: {done.stderr.strip()[:500]}")
        return done.stdout.strip()

    # ----- life -----

    def start(self) -> FailoverPair:
        for sub in ("config", "share", "run"):
            (self.directory / sub).mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            owner = pwd.getpwnam("postgres")
            for path in [self.directory, *self.directory.iterdir()]:
                os.chown(path, owner.pw_uid, owner.pw_gid)
        atexit.register(self.stop)
        common = ["--auth", "trust", "--no-ssl", "--hostname", "127.0.0.1"]
        self._run(
            [
                str(self.autoctl),
                "create",
                "monitor",
                "--pgdata",
                str(self._data("monitor")),
                "--pgport",
                str(self.monitor_port),
                "--pgctl",
                str(self.bin / "pg_ctl"),
                *common,
            ]
        )
        self._configure("monitor", self.monitor_port, "pg_auto_failover", monitor=True)
        self._start_keeper("monitor")
        self._wait_ready(self.monitor_port, "pg_auto_failover")
        for index, port in enumerate(self.ports):
            name = f"node{index + 1}"
            self._run(
                [
                    str(self.autoctl),
                    "create",
                    "postgres",
                    "--pgdata",
                    str(self._data(name)),
                    "--pgport",
                    str(port),
                    "--pgctl",
                    str(self.bin / "pg_ctl"),
                    "--dbname",
                    self.database,
                    "--name",
                    name,
                    "--monitor",
                    self.monitor_url(),
                    *common,
                ],
                timeout=300,
            )
            if index == 0:
                self._configure(name, port, self.database)
            self._start_keeper(name)
            if index == 0:
                self.wait_state({"node1": "single"}, timeout=120)
        self.wait_state({"node1": "primary", "node2": "secondary"}, timeout=180)
        return self

    def _configure(self, name: str, port: int, database: str, monitor: bool = False) -> None:
        """Small settings (and the monitor's timeouts), written with ALTER SYSTEM while the server that
        ``pg_autoctl create`` left behind runs, then that server stopped: the keeper starts it again."""
        data = self._data(name)
        if not (data / "postmaster.pid").exists():
            log = self.directory / f"{name}-setup.log"
            self._run(
                [str(self.bin / "pg_ctl"), "-D", str(data), "-w", "-l", str(log), "-o", f"-p {port}", "start"]
            )
        self._wait_ready(port, database)
        settings = dict(_SMALL)
        if not self.durable:
            settings["fsync"] = "off"
        if monitor and self.tuned:
            settings.update({k: f"'{v}'" for k, v in FAILOVER_TUNED.items()})
        for setting, value in settings.items():
            self.psql(port, database, f"ALTER SYSTEM SET {setting} = {value}")
        self._run([str(self.bin / "pg_ctl"), "-D", str(data), "-w", "-m", "fast", "stop"])

    def _start_keeper(self, name: str) -> None:
        log = (self.directory / f"{name}.log").open("ab")
        self._processes[name] = subprocess.Popen(
            _as_owner([str(self.autoctl), "run", "--pgdata", str(self._data(name))]),
            env=self._env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: kill_primary kills the whole keeper
        )

    def _wait_ready(self, port: int, database: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.psql(port, database, "SELECT 1", timeout=5)
                return
            except (RuntimeError, subprocess.TimeoutExpired):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def states(self) -> dict[str, str]:
        """Each node's state as the monitor has it (``primary``, ``secondary``, ``wait_primary``...)."""
        out = self.psql(
            self.monitor_port,
            "pg_auto_failover",
            "SELECT nodename || ' ' || reportedstate || ' ' || goalstate FROM pgautofailover.node",
        )
        states = {}
        for line in out.splitlines():
            name, reported, goal = line.split()
            states[name] = reported if reported == goal else f"{reported}->{goal}"
        return states

    def wait_state(self, wanted: dict[str, str], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        states: dict[str, str] = {}
        while time.monotonic() < deadline:
            try:
                states = self.states()
            except (RuntimeError, subprocess.TimeoutExpired):
                states = {}
            if all(states.get(name) == state for name, state in wanted.items()):
                return
            time.sleep(0.3)
        raise RuntimeError(f"pg_auto_failover did not reach {wanted} within {timeout:.0f} s: {states}")

    def primary(self) -> str:
        for name, state in self.states().items():
            if state in ("primary", "single", "wait_primary"):
                return name
        raise RuntimeError(f"no primary: {self.states()}")

    def postmaster_pid(self, name: str) -> int | None:
        try:
            return int((self._data(name) / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def kill_primary(self) -> str:
        """``kill -9`` of the primary's keeper (its whole process group) and of its postmaster:
        the machine is gone as far as everyone else can tell. Returns the node's name."""
        name = self.primary()
        process = self._processes[name]
        postmaster = self.postmaster_pid(name)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, 9)
        if postmaster is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(postmaster, 9)
            self.killed.add(postmaster)
        process.wait(10)
        return name

    def log_tail(self, lines: int = 30) -> str:
        parts = []
        for name in ("monitor", "node1", "node2"):
            try:
                text = (self.directory / f"{name}.log").read_text(errors="replace")
            except OSError:
                continue
            parts.append(f"--- {name}\n" + "\n".join(text.splitlines()[-lines:]))
        return "\n".join(parts)

    def stop(self) -> None:
        for name, process in list(self._processes.items()):
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, 15)
                try:
                    process.wait(20)
                except subprocess.TimeoutExpired:
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(process.pid, 9)
                    process.wait(10)
            postmaster = self.postmaster_pid(name)
            if postmaster is not None and _running(postmaster):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(postmaster, 9)
        self._processes.clear()
        deadline = time.monotonic() + 10
        for name in ("monitor", "node1", "node2"):
            pid = self.postmaster_pid(name)
            while pid is not None and _running(pid) and time.monotonic() < deadline:
                time.sleep(0.05)
        shutil.rmtree(self.directory, ignore_errors=True)
