"""``/healthz`` and ``/readyz``: unauthenticated, in the GWS envelope, and honest about the database."""

from __future__ import annotations

import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from support.server import RunningServer

pytestmark = pytest.mark.slow


def test_healthz_answers_without_credentials(server: RunningServer) -> None:
    response = httpx.get(server.base_url + "/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["statusCode"] == 0 and body["status"] == "alive"
    assert server.process is not None and body["pid"] == server.process.pid


def test_readyz_answers_ready_on_a_migrated_database(server: RunningServer) -> None:
    response = httpx.get(server.base_url + "/readyz")
    assert response.status_code == 200
    assert response.json()["statusCode"] == 0 and response.json()["status"] == "ready"
    assert httpx.head(server.base_url + "/readyz").status_code == 200


@pytest.fixture
def own_server(tmp_path: Path, backend: str) -> Iterator[RunningServer]:
    running = RunningServer(tmp_path / "readiness.db", demo=False).start()
    yield running
    running.stop()


def _sql(server: RunningServer, statement: str) -> None:
    if server.database_url.startswith("sqlite"):
        with sqlite3.connect(server.database) as db:
            db.execute(statement)
    else:
        subprocess.run(
            ["psql", server.database_url, "-q", "-v", "ON_ERROR_STOP=1", "-c", statement],
            check=True,
            capture_output=True,
        )


def test_readyz_refuses_while_a_migration_is_missing(own_server: RunningServer) -> None:
    """A database behind this version (an operator restored an old dump) is not ready: 503 with a
    statusCode and the remedy, until it is migrated again."""
    # Hide the newest migration from the server (a negative version is no known migration).
    _sql(
        own_server,
        "UPDATE schema_migrations SET version = -version WHERE version = (SELECT MAX(version) FROM schema_migrations)",
    )
    response = httpx.get(own_server.base_url + "/readyz")
    assert response.status_code == 503, response.text
    body = response.json()
    assert body["statusCode"] == 4
    assert "lacks 1 migration" in body["statusMessage"] and "smsdesk migrate" in body["statusMessage"]
    assert httpx.get(own_server.base_url + "/healthz").status_code == 200  # alive all the same
    _sql(own_server, "UPDATE schema_migrations SET version = -version WHERE version < 0")
    assert httpx.get(own_server.base_url + "/readyz").status_code == 200
