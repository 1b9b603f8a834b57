from __future__ import annotations

from collections.abc import Iterator

import pytest

import support.server
from support.cluster import Cluster
from support.server import QUICK_TIMEOUTS


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """Three nodes on one PostgreSQL database behind nginx round-robin (no stickiness)."""
    previous, support.server.backend = support.server.backend, "postgres"
    running = Cluster(tmp_path_factory.mktemp("cluster"), nodes=3, env=QUICK_TIMEOUTS).start()
    yield running
    running.stop()
    support.server.backend = previous
