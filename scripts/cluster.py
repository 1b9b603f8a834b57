"""``make cluster``: a whole smsdesk cluster on loopback for a newcomer, stopped with Ctrl-C.

A throwaway PostgreSQL, three smsdesk nodes on it (the first seeds the demo contact center; every
node runs the SMS simulator, so a customer's SMS is accepted whichever node receives it, and the
handsets live in the database, so every node shows the same ones) and nginx in front with soft
affinity, as deploy/nginx.conf (each desktop's requests to one node while it lives). Everything lives in one temporary directory; Ctrl-C (or
SIGTERM) stops nginx, the nodes and PostgreSQL, and deletes the directory.

``--ha`` (``make cluster-ha``) puts the nodes on a pg_auto_failover pair instead: a monitor and two
PostgreSQL nodes with synchronous replication, the nodes given the multi-host URL with
``target_session_attrs=read-write`` (deploy/postgresql-failover.md); the banner says how to
kill the primary and watch the cluster carry on. ``--default-timeouts`` keeps pg_auto_failover's own
timeouts (a dead primary is replaced after about 50 s) instead of the tuned ones (a few seconds).

The children run in sessions of their own, so the terminal's Ctrl-C reaches only this script, which
then stops them in order (nginx first, so no request reaches a stopping node; PostgreSQL last).
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import FrameType

import httpx

from local_services import FailoverPair, Nginx, ThrowawayPostgres, free_port

DEMO_PASSWORD = "password"


class Stop(Exception):
    """Ctrl-C or SIGTERM: leave the wait and tear everything down."""


def _stop(signum: int, frame: FrameType | None) -> None:
    raise Stop(signal.Signals(signum).name)


class Node:
    def __init__(self, index: int, directory: Path, database_url: str, public_url: str, demo: bool) -> None:
        self.index = index
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log_path = directory / f"node{index + 1}.log"
        command = [sys.executable, "-m", "smsdesk", "serve", "--port", str(self.port)]
        command += ["--database", database_url, "--public-url", public_url]
        if demo:
            command.append("--demo")
        environment = {"SMSDESK_SIMULATOR": "true"}
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                command,
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, **environment},
                start_new_session=True,
            )

    def wait_ready(self, within_s: float = 60.0) -> None:
        deadline = time.monotonic() + within_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"node {self.index + 1} exited:\n{self.log_tail()}")
            try:
                if httpx.get(self.base_url + "/readyz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"node {self.index + 1} not ready within {within_s:g} s:\n{self.log_tail()}")

    def log_tail(self) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-20:])

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


def ha_banner(pair: FailoverPair) -> str:
    timeouts = "tuned: a dead primary is replaced in seconds" if pair.tuned else "pg_auto_failover's defaults"
    return f"""
PostgreSQL failover ({timeouts}):
  monitor     {pair.monitor_url()}
  state       psql '{pair.monitor_url()}' -c 'SELECT nodename, reportedstate FROM pgautofailover.node'
  kill the primary as a dead machine would: kill -9 the pg_autoctl and postgres processes of the node
  the state names primary (`ps -ef | grep pg_autoctl`), and watch the nodes' logs say the database
  went away and came back.
"""


def banner(url: str, nodes: list[Node], directory: Path, database_url: str) -> str:
    node_list = ", ".join(node.base_url for node in nodes)
    return f"""
smsdesk cluster ready: {url}   (nginx with soft affinity: each desktop on one node while it lives)
  nodes       {node_list}
  PostgreSQL  {database_url}
  logs        {directory}  (deleted on exit)

Try it (the demo agents are agent1..agent3, password {DEMO_PASSWORD!r}):
  curl -s {url}/readyz
  curl -s -u agent1:{DEMO_PASSWORD} {url}/api/v2/me
  .venv/bin/smsdesk sms send "Hello from a customer" --from +15551230000 --server {url}
  The README's "A first conversation" works unchanged against {url};
  every request may land on another node.
Kill a node (kill -9 <its pid>, `ps -ef | grep 'smsdesk serve'`) and watch nothing break.
Ctrl-C stops everything and deletes {directory}.
"""


def run(port: int, node_count: int, directory: Path, ha: bool = False, tuned: bool = True) -> None:
    postgres: ThrowawayPostgres | FailoverPair
    postgres = (
        FailoverPair(directory / "pair", tuned=tuned, durable=True)
        if ha
        else ThrowawayPostgres(directory / "postgres")
    )
    nodes: list[Node] = []
    nginx: Nginx | None = None
    try:
        if isinstance(postgres, FailoverPair):
            print(
                f"starting a pg_auto_failover monitor and two PostgreSQL nodes in {postgres.directory} ...",
                flush=True,
            )
            postgres.start()
            database_url = postgres.url()
        else:
            print(f"starting PostgreSQL in {postgres.directory} ...", flush=True)
            postgres.start()
            subprocess.run(
                [
                    "psql",
                    postgres.url("postgres"),
                    "-q",
                    "-v",
                    "ON_ERROR_STOP=1",
                    "-c",
                    "CREATE DATABASE smsdesk",
                ],
                check=True,
                capture_output=True,
            )
            database_url = postgres.url("smsdesk")
        front_port = port or free_port()
        public_url = f"http://127.0.0.1:{front_port}"
        for index in range(node_count):
            print(f"starting smsdesk node {index + 1} ...", flush=True)
            node = Node(index, directory, database_url, public_url, demo=(index == 0))
            nodes.append(node)
            if index == 0:
                node.wait_ready()  # the first node migrates and seeds the demo, alone
        for node in nodes[1:]:
            node.wait_ready()
        # Soft affinity, as deploy/nginx.conf: each desktop's requests to one node while it lives.
        nginx = Nginx(directory / "nginx", [node.port for node in nodes], port=front_port, affinity=True)
        nginx.start(new_session=True)
        print(banner(nginx.base_url, nodes, directory, database_url), flush=True)
        if isinstance(postgres, FailoverPair):
            print(ha_banner(postgres), flush=True)
        reported: set[int] = set()
        while True:
            for node in nodes:
                if node.index not in reported and node.process.poll() is not None:
                    reported.add(node.index)
                    print(
                        f"node {node.index + 1} exited ({node.process.returncode}); the others go on",
                        flush=True,
                    )
            time.sleep(0.5)
    finally:
        # A second Ctrl-C during the teardown must not leave half of it behind.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        print("\nstopping nginx, the nodes and PostgreSQL ...", flush=True)
        if nginx is not None:
            nginx.stop()
        for node in nodes:
            node.stop()
        postgres.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--port", type=int, default=8080, help="nginx's port on 127.0.0.1 (0: any free one)")
    parser.add_argument("--nodes", type=int, default=3, help="smsdesk nodes behind nginx (default 3)")
    parser.add_argument(
        "--ha",
        action="store_true",
        help="PostgreSQL as a pg_auto_failover pair (monitor, primary, synchronous standby) instead of one server",
    )
    parser.add_argument(
        "--default-timeouts",
        action="store_true",
        help="with --ha: pg_auto_failover's own failover timeouts (about 50 s) instead of tuned ones (seconds)",
    )
    args = parser.parse_args(argv)
    for name in ("nginx", "psql"):
        if shutil.which(name) is None and not Path(f"/usr/sbin/{name}").exists():
            print(f"error: {name} not found: install Debian's nginx and postgresql packages", file=sys.stderr)
            return 2
    directory = Path(tempfile.mkdtemp(prefix="smsdesk-cluster-"))
    directory.chmod(0o711)  # the postgres account must reach its data directory inside
    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    try:
        run(args.port, args.nodes, directory, ha=args.ha, tuned=not args.default_timeouts)
    except Stop:
        pass
    except (RuntimeError, subprocess.CalledProcessError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    print("stopped; nothing left running", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
