"""Throwaway services on loopback for the tests, the benchmarks and ``make cluster``: a PostgreSQL
cluster in a temporary directory (Debian's server binaries) and nginx round-robin in front of
smsdesk nodes, with no stickiness. Nothing here is for production: see ``deploy/``.

PostgreSQL refuses to run as root, so under root (CI, the development machines) it runs as the
``postgres`` account that Debian's package creates.
"""

from __future__ import annotations

import atexit
import glob
import hashlib
import os
import pwd
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
    """

    def __init__(self, directory: Path | None = None, *, durable: bool = False) -> None:
        self.bin = _binaries()
        self.port = free_port()
        if directory is None:
            directory = Path(tempfile.mkdtemp(prefix="smsdesk-pg-"))
        else:
            directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self.data = self.directory / "data"
        self.durable = durable
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
        subprocess.run(_as_owner(initdb), check=True, capture_output=True)
        options = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 -c max_connections=400"
        if not self.durable:
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
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
        )
        atexit.register(self.stop)
        return self

    def url(self, database: str) -> str:
        return f"postgresql://{self.user}:{self.password}@127.0.0.1:{self.port}/{database}"

    def database_for(self, key: str) -> str:
        """A database of its own per key (e.g. a test server's path), created on first use."""
        name = "t_" + hashlib.sha1(key.encode()).hexdigest()[:20]
        with self._lock:
            if name not in self._created:
                subprocess.run(
                    [
                        "psql",
                        self.url("postgres"),
                        "-q",
                        "-v",
                        "ON_ERROR_STOP=1",
                        "-c",
                        f"CREATE DATABASE {name}",
                    ],
                    check=True,
                    capture_output=True,
                )
                self._created.add(name)
        return self.url(name)

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
worker_processes 1;
worker_rlimit_nofile 70000;
daemon off;
pid {directory}/nginx.pid;
error_log {directory}/error.log warn;
events {{ worker_connections 65536; }}  # two per long-poll: the fan-out benchmark holds thousands
http {{
    access_log off;
    client_body_temp_path {directory}/body;
    proxy_temp_path {directory}/proxy;
    fastcgi_temp_path {directory}/fastcgi;
    uwsgi_temp_path {directory}/uwsgi;
    scgi_temp_path {directory}/scgi;
    upstream smsdesk {{
{servers}
    }}
    map $http_upgrade $connection_upgrade {{ default upgrade; '' close; }}
    server {{
        listen 127.0.0.1:{port};
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
"""Round-robin, no stickiness (the point: any node serves any request). deploy/nginx.conf is the
production reference; this one is minimal and lives in a temporary directory."""


class Nginx:
    def __init__(self, directory: Path, upstreams: list[int], port: int = 0) -> None:
        self.directory = directory
        self.port = port or free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.upstreams = upstreams
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, *, new_session: bool = False) -> Nginx:
        binary = shutil.which("nginx") or "/usr/sbin/nginx"
        self.directory.mkdir(parents=True, exist_ok=True)
        os.chmod(self.directory, 0o777)  # nginx workers run as an unprivileged user under root
        servers = "\n".join(f"        server 127.0.0.1:{port} max_fails=0;" for port in self.upstreams)
        config = self.directory / "nginx.conf"
        config.write_text(NGINX_CONFIG.format(directory=self.directory, servers=servers, port=self.port))
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
        raise RuntimeError(f"nginx did not start: {(self.directory / 'error.log').read_text()[-2000:]}")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)
            self.process = None
