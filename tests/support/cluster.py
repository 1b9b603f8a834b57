"""A cluster for tests: N smsdesk nodes on one PostgreSQL database, behind nginx round-robin with
no stickiness (Debian's nginx, started by the test on a free loopback port; ``scripts/local_services.py``)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg

from local_services import Nginx
from support import server as server_support
from support.server import RunningServer


class Cluster:
    """``nodes`` servers sharing one PostgreSQL database, and nginx in front of them."""

    def __init__(
        self, directory: Path, nodes: int = 2, env: dict[str, str] | None = None, config: Path | None = None
    ) -> None:
        assert server_support.backend == "postgres", "a cluster needs the postgres backend"
        database = directory / "cluster.db"  # names the shared PostgreSQL database
        # Every node plays the handsets, so an SMS posted through nginx is accepted wherever it lands.
        node_env = {"SMSDESK_SIMULATOR": "true", **(env or {})}
        self.nodes = [
            RunningServer(database, node_env, demo=(index == 0), config=config) for index in range(nodes)
        ]
        for index, node in enumerate(self.nodes):
            node.log_path = directory / f"node{index}.log"
        self.nginx = Nginx(directory / "nginx", [node.port for node in self.nodes])

    @property
    def base_url(self) -> str:
        return self.nginx.base_url

    @property
    def database_url(self) -> str:
        return self.nodes[0].database_url

    @property
    def port(self) -> int:
        return self.nginx.port

    def leader(self) -> RunningServer:
        """The node that runs the background work now (the last to log that it took it over)."""
        marker = "now runs the cluster's background work"
        latest = max(
            (node for node in self.nodes if node.process is not None and marker in node.logs()),
            key=lambda node: node.logs().rsplit(marker, 1)[0].rsplit("\n", 1)[-1][:23],
        )
        return latest

    def start(self) -> Cluster:
        self.nodes[0].start()  # migrates and seeds first, alone
        for node in self.nodes[1:]:
            node.start()
        self.nginx.start()
        return self

    def stop(self) -> None:
        self.nginx.stop()
        for node in self.nodes:
            node.stop()


def outbox_positions(database_url: str, user_id: str, after: int, channel: str) -> list[int]:
    """The positions of ``user_id``'s notifications on ``channel`` after ``after``, as stored: what a
    client subscribed to that channel since ``after`` must receive, exactly once and in this order."""

    async def read() -> list[int]:
        conn = await asyncpg.connect(database_url)
        try:
            rows = await conn.fetch(
                "SELECT position FROM outbox WHERE user_id = $1 AND position > $2 AND channel = $3 "
                "ORDER BY position",
                user_id,
                after,
                channel,
            )
        finally:
            await conn.close()
        return [int(row[0]) for row in rows]

    return asyncio.run(read())
