"""The deployments the cluster benchmark measures, and starting them: smsdesk nodes on SQLite or on
one PostgreSQL, ``serve --workers``, nginx before several nodes; what each costs (CPU by part,
``bench/deployment_cost.py``) and the last lines of its logs when it stops answering."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
for _path in (str(HERE), str(HERE.parent / "scripts")):
    if _path not in sys.path:
        sys.path.insert(0, _path)

import operations  # noqa: E402
from deployment_cost import CpuParts, postgres_cpu, tree_cpu  # noqa: E402
from operations import Server, free_port  # noqa: E402

from local_services import Nginx, ThrowawayPostgres  # noqa: E402

NGINX_UPSTREAM_KEEPALIVE = 64  # as deploy/nginx.conf


@dataclass(frozen=True)
class Deployment:
    key: str
    label: str
    postgres: bool
    workers: int = 1
    nodes: int = 1  # > 1: that many nodes behind nginx
    affinity: bool = False  # nginx: each JSESSIONID to one node (consistent hash), not round-robin
    # PostgreSQL's synchronous_commit for smsdesk's database. "off" is the durability of SQLite's
    # default (WAL, synchronous=NORMAL): a crash of the machine may lose the last commits, nothing
    # is ever corrupted. "on" waits for the WAL flush at every commit (docs/scaling.md).
    synchronous_commit: bool = False


SQLITE = Deployment("sqlite", "SQLite, 1 node", postgres=False)
PG_DURABLE = Deployment("pg1s", "PG 1 node, sync commit", postgres=True, synchronous_commit=True)
PG_ONE = Deployment("pg1", "PG 1 node", postgres=True)
PG_WORKERS = Deployment("pg2w", "PG serve --workers 2", postgres=True, workers=2)
PG_NGINX = Deployment("pg2n", "PG 2 nodes, nginx RR", postgres=True, nodes=2)
PG_AFFINITY = Deployment("pg2a", "PG 2 nodes, nginx affinity", postgres=True, nodes=2, affinity=True)
DEPLOYMENTS = (SQLITE, PG_DURABLE, PG_ONE, PG_WORKERS, PG_NGINX, PG_AFFINITY)
DEFAULT_KEYS = ("sqlite", "pg1", "pg2w", "pg2n", "pg2a")
FANOUT_KEYS = ("sqlite", "pg1", "pg2n", "pg2a")
IDLE_KEYS = ("pg1", "pg2n")


@dataclass
class Front:
    """A running deployment: what the load drivers talk to (one node, a ``--workers`` parent, or
    nginx before nodes) and what it costs. It stands in for ``operations.Server`` (``name``,
    ``port``, ``process``, ``cpu_seconds``, ``stop``)."""

    deployment: Deployment
    name: str
    port: int
    servers: list[Server]
    postgres: ThrowawayPostgres | None = None
    database: str | None = None  # smsdesk's PostgreSQL database
    nginx: Nginx | None = None

    @property
    def process(self) -> subprocess.Popen[bytes]:
        return self.servers[0].process

    def cpu_parts(self) -> CpuParts:
        parts = CpuParts(smsdesk=sum(tree_cpu(s.process.pid) for s in self.servers))
        postmaster = self.postgres.postmaster_pid() if self.postgres is not None else None
        if postmaster is not None and self.database is not None:
            parts.postgres, parts.other_databases = postgres_cpu(postmaster, self.database)
        if self.nginx is not None and self.nginx.process is not None:
            parts.nginx = tree_cpu(self.nginx.process.pid)
        return parts

    def cpu_seconds(self) -> float:
        """The whole deployment's CPU (what the fan-out divides by its deliveries)."""
        return self.cpu_parts().total

    def log_tails(self, lines: int = 12) -> str:
        """The last lines of every log of the deployment: what to read when it stopped answering."""
        parts = []
        for server in self.servers:
            parts.append(f"--- {server.name} ({server.log_path}):\n{server.log_tail(lines)}")
        if self.nginx is not None:
            parts.append(f"--- nginx error log:\n{self.nginx.log_tail(lines)}")
        if self.postgres is not None:
            parts.append(f"--- PostgreSQL log:\n{self.postgres.log_tail(lines)}")
        return "\n".join(parts)

    def stop(self) -> None:
        if self.nginx is not None:
            self.nginx.stop()
        for server in self.servers:
            server.stop()


class Deployer:
    """Starts deployments on fresh databases: SQLite files, or databases of one PostgreSQL."""

    def __init__(self, workdir: Path, postgres: ThrowawayPostgres | None, log_level: str) -> None:
        self.workdir = workdir
        self.postgres = postgres
        self.log_level = log_level
        self.count = 0
        self.fronts: list[Front] = []

    def database_url(self, deployment: Deployment, scenario: str) -> str:
        if deployment.postgres:
            assert self.postgres is not None
            url = self.postgres.database_for(f"{scenario}-{deployment.key}")
            name = url.rsplit("/", 1)[1]
            setting = "on" if deployment.synchronous_commit else "off"
            statement = f"ALTER DATABASE {name} SET synchronous_commit = {setting}"
            subprocess.run(["psql", url, "-q", "-c", statement], check=True, capture_output=True, timeout=60)
            return url
        return f"sqlite:///{self.workdir / f'{scenario}-{deployment.key}.db'}"

    async def start(
        self, deployment: Deployment, database_url: str, env: dict[str, str], clients: int = 1_000
    ) -> Front:
        """``clients``: connections the deployment must hold at once (sizes nginx's workers)."""
        servers: list[Server] = []
        database = database_url.rsplit("/", 1)[1] if deployment.postgres else None
        front = Front(deployment, deployment.key, 0, servers, self.postgres, database)
        try:
            for index in range(deployment.nodes):
                self.count += 1
                port = free_port()
                command = operations.smsdesk_command("serve", "--port", str(port), "--database", database_url)
                command += ["--log-level", self.log_level]
                if deployment.workers > 1:
                    command += ["--workers", str(deployment.workers)]
                log = self.workdir / f"{deployment.key}-{self.count}.log"
                server = Server(f"{deployment.key} node {index + 1}", command, port, log, env)
                servers.append(server)
                if index == 0:
                    self.fronts.append(front)
                await server.wait_ready("/readyz", within=120)
            if deployment.workers > 1:
                await wait_for_workers(servers[0].port, deployment.workers)
            if deployment.nodes == 1:
                front.port = servers[0].port
                return front
            nginx = Nginx(
                self.workdir / f"nginx-{self.count}",
                [s.port for s in servers],
                affinity=deployment.affinity,
                upstream_keepalive=NGINX_UPSTREAM_KEEPALIVE,
                clients=clients,
            )
            front.nginx = nginx
            await asyncio.to_thread(nginx.start)
            front.port = nginx.port
            return front
        except BaseException:
            front.stop()
            raise


async def wait_for_workers(port: int, workers: int, within_s: float = 60.0) -> None:
    """Until every worker answers: the first ready one would otherwise take all the connections."""
    seen: set[int] = set()
    deadline = time.monotonic() + within_s
    raw = operations.request_bytes("GET", "/readyz", port, [], None)
    while len(seen) < workers and time.monotonic() < deadline:
        connection = await operations.Connection.open(port)
        try:
            status, body = await connection.call(raw, 10)
            if status == 200:
                seen.add(operations.decode_any(body)["pid"])
        finally:
            connection.close()
        await asyncio.sleep(0.05)
    if len(seen) < workers:
        raise RuntimeError(f"only {len(seen)} of {workers} workers became ready")
