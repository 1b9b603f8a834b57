"""A cluster for tests: N smsdesk nodes on one PostgreSQL database, behind nginx round-robin with
no stickiness (Debian's nginx, started by the test on a free loopback port)."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import httpx

from support import server as server_support
from support.server import RunningServer, free_port

NGINX_CONFIG = """
worker_processes 1;
daemon off;
pid {directory}/nginx.pid;
error_log {directory}/error.log warn;
events {{ worker_connections 4096; }}
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


class Nginx:
    def __init__(self, directory: Path, upstreams: list[int]) -> None:
        self.directory = directory
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.upstreams = upstreams
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> Nginx:
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
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
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
