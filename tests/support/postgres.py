"""The tests' throwaway PostgreSQL cluster (``scripts/local_services.py``, shared with ``make
cluster`` and the benchmarks), started on first use and stopped when the test session ends."""

from __future__ import annotations

import threading

from local_services import ThrowawayPostgres

__all__ = ["ThrowawayPostgres", "cluster"]

_cluster: ThrowawayPostgres | None = None
_cluster_lock = threading.Lock()


def cluster() -> ThrowawayPostgres:
    """The session's cluster, started on first use."""
    global _cluster
    with _cluster_lock:
        if _cluster is None:
            _cluster = ThrowawayPostgres().start()
        return _cluster
