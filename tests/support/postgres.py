"""A throwaway PostgreSQL cluster for the tests: Debian's server binaries, a temporary directory,
a free loopback port, started on first use and stopped when the test session ends.

PostgreSQL refuses to run as root, so under root (CI, the development machines) it runs as the
``postgres`` account that Debian's package creates. Durability settings are relaxed (no fsync):
the tests kill smsdesk, never PostgreSQL, so nothing they check depends on PostgreSQL's own
crash safety, and it keeps database creation and commits quick.
"""

from __future__ import annotations

import atexit
import glob
import hashlib
import os
import pwd
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path

from support.server import free_port


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
    def __init__(self) -> None:
        self.bin = _binaries()
        self.port = free_port()
        self.directory = Path(tempfile.mkdtemp(prefix="smsdesk-pg-"))
        self.data = self.directory / "data"
        self.user = "smsdesk"
        self.password = "smsdesk"
        self._created: set[str] = set()
        self._lock = threading.Lock()

    def start(self) -> ThrowawayPostgres:
        if os.geteuid() == 0:
            owner = pwd.getpwnam("postgres")
            os.chown(self.directory, owner.pw_uid, owner.pw_gid)
        password_file = self.directory / "pw"
        password_file.write_text(self.password)
        if os.geteuid() == 0:
            os.chown(password_file, pwd.getpwnam("postgres").pw_uid, -1)
        subprocess.run(
            _as_owner(
                [
                    str(self.bin / "initdb"),
                    "-D",
                    str(self.data),
                    "-U",
                    self.user,
                    "--pwfile",
                    str(password_file),
                    "-A",
                    "scram-sha-256",
                    "-E",
                    "UTF8",
                    "--no-sync",
                ]
            ),
            check=True,
            capture_output=True,
        )
        options = (
            f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=400"
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
        )
        atexit.register(self.stop)
        return self

    def url(self, database: str) -> str:
        return f"postgresql://{self.user}:{self.password}@127.0.0.1:{self.port}/{database}"

    def database_for(self, key: str) -> str:
        """A database of its own per key (a test server's path), created on first use."""
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

    def stop(self) -> None:
        if self.data.exists():
            subprocess.run(
                _as_owner([str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"]),
                capture_output=True,
            )
        shutil.rmtree(self.directory, ignore_errors=True)


_cluster: ThrowawayPostgres | None = None
_cluster_lock = threading.Lock()


def cluster() -> ThrowawayPostgres:
    """The session's cluster, started on first use."""
    global _cluster
    with _cluster_lock:
        if _cluster is None:
            _cluster = ThrowawayPostgres().start()
        return _cluster
