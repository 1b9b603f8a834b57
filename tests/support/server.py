"""Starting a real smsdesk server (a subprocess on a free loopback port) for tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from support import server_logs

BACKENDS = ("sqlite", "postgres")
backend = os.environ.get("SMSDESK_TEST_BACKEND", "sqlite")
"""The database every server started from now on uses; the root conftest sets it per test, from
the ``backend`` parameter (``sqlite`` and ``postgres`` for the end-to-end tiers)."""


def database_url_for(database: Path) -> str:
    """The URL of the test database named by ``database`` on the current backend: the SQLite file
    itself, or a PostgreSQL database of its own in the throwaway cluster, derived from the path so a
    restarted server finds the same data."""
    if backend == "postgres":
        from support.postgres import cluster

        return cluster().database_for(str(database))
    return f"sqlite:///{database}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RunningServer:
    def __init__(
        self,
        database: Path,
        env: dict[str, str] | None = None,
        demo: bool = True,
        config: Path | None = None,
        extra_args: tuple[str, ...] = (),
        preexec: Callable[[], None] | None = None,
    ) -> None:
        self.database = database
        self.extra_args = extra_args  # more ``smsdesk serve`` options, e.g. ("--workers", "2")
        self.preexec = preexec  # run in the server's process before it starts (resource limits, say)
        # A TOML settings file (``--config``); may be written after construction, once ``port`` is known.
        self.config = config
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, **(env or {})}
        self.demo = demo
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = database.with_suffix(".log")
        self.database_url = database_url_for(database)

    def start(self) -> RunningServer:
        command = [
            sys.executable,
            "-m",
            "smsdesk",
            "serve",
            "--port",
            str(self.port),
            "--database",
            self.database_url,
        ]
        if self.demo:
            command.append("--demo")
        if self.config is not None:
            command += ["--config", str(self.config)]
        command += self.extra_args
        self.log = self.log_path.open("ab")
        server_logs.started.add(self.log_path)  # read at the end of the session (tests/conftest.py)
        self.process = subprocess.Popen(
            command, env=self.env, stdout=self.log, stderr=subprocess.STDOUT, preexec_fn=self.preexec
        )
        deadline = time.monotonic() + 60  # generous: shared 2-core machines under a parallel suite
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited: {self.log_path.read_text()[-3000:]}")
            try:
                if httpx.get(self.base_url + "/api/v2/diagnostics/version", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"server did not start: {self.log_path.read_text()[-3000:]}")

    def stop(self, kill: bool = False) -> None:
        if self.process is not None and self.process.poll() is None:
            if kill:
                self.process.kill()
            else:
                self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self.process = None
        self.log.close()

    def restart(self, kill: bool = True, pause_s: float = 0.0) -> RunningServer:
        """Stop (``kill``: SIGKILL, no shutdown at all) and start again on the same port and database,
        so clients reconnect to the same URL as they would to a restarted node."""
        self.stop(kill=kill)
        if pause_s:
            time.sleep(pause_s)
        return self.start()

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace")


# Short timeouts keep end-to-end tests quick: offers time out after 2 s, long-polls are held 1 s,
# failed SMS sends are retried after 100 ms and given up after 4 attempts; queues' opening hours and
# waiting replies are looked at every 200 ms.
QUICK_TIMEOUTS = {
    "SMSDESK_OFFER_TIMEOUT_MS": "2000",
    "SMSDESK_BAYEUX_TIMEOUT_MS": "1000",
    "SMSDESK_ROUTING_SWEEP_MS": "200",
    "SMSDESK_SMS_RETRY_INITIAL_MS": "100",
    "SMSDESK_SMS_MAX_ATTEMPTS": "4",
    "SMSDESK_OPENING_HOURS_CHECK_MS": "200",
}
