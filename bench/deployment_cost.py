"""What a deployment costs while the cluster benchmark loads it: CPU by part, and PostgreSQL's work.

CPU comes from ``/proc``: utime + stime of every live process of a part, plus what its processes
collected from children they have reaped (cutime + cstime), so a process that exits during a round
(a PostgreSQL backend, an nginx worker) still counts. Parts:

- ``smsdesk``: each node's process and its descendants (``serve --workers`` forks workers);
- ``postgres``: the postmaster and every process below it, except the backends connected to other
  databases than the deployment's (the other deployments' idle nodes, the benchmark's own
  statistics connection). Background processes (checkpointer, WAL writer, ...) serve every
  database; they are counted whole, as is the CPU of backends that exited;
- ``nginx``: the master and its workers.

PostgreSQL's statements come from ``pg_stat_statements`` (loaded by ``ThrowawayPostgres(
statements=True)``), per database, read right after the round; its committed transactions from
``pg_stat_database.xact_commit``, which a backend reports only when it has been idle a while
(PostgreSQL 15 flushes an idle backend's counters 10 s after its last transaction when it flushed
less than a second before), so both readings of a round wait until the database's backends have
been idle long enough.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

TICK = os.sysconf("SC_CLK_TCK")
# PGSTAT_IDLE_INTERVAL (10 s) in PostgreSQL's pgstat.c, plus a margin.
COMMIT_COUNTERS_SETTLE_S = 10.5
QUERY_CHARS = 60


def _stat(pid: int) -> list[str] | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def _children(pid: int) -> list[int]:
    found: list[int] = []
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            found += [int(child) for child in (task / "children").read_text().split()]
    except OSError:
        pass
    return found


def process_tree(pid: int) -> Iterator[int]:
    """``pid`` and every live descendant."""
    pending = [pid]
    while pending:
        current = pending.pop()
        yield current
        pending += _children(current)


def cpu_of(pid: int) -> float:
    """utime + stime + cutime + cstime of one process, in seconds (0 when it is gone)."""
    fields = _stat(pid)
    if fields is None:
        return 0.0
    # Fields 14-17 of /proc/<pid>/stat, counted from the state (field 3) here.
    return sum(int(v) for v in fields[11:15]) / TICK


def tree_cpu(pid: int) -> float:
    return sum(cpu_of(p) for p in process_tree(pid))


def _postgres_database(pid: int) -> str | None:
    """The database a backend serves, from its process title
    (``postgres: USER DATABASE HOST(PORT) STATE``); None for background processes."""
    try:
        title = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return None
    parts = title.split()
    if len(parts) >= 4 and parts[0] == "postgres:" and ("(" in parts[3] or parts[3] == "[local]"):
        return parts[2]
    return None


def postgres_cpu(postmaster: int, database: str) -> tuple[float, float]:
    """(CPU counted for ``database``'s deployment, CPU of other databases' backends left out)."""
    ours = others = 0.0
    for pid in process_tree(postmaster):
        served = _postgres_database(pid) if pid != postmaster else None
        if served is None or served == database:
            ours += cpu_of(pid)
        else:
            others += cpu_of(pid)
    return ours, others


@dataclass
class CpuParts:
    """CPU seconds by part of a deployment at one moment, or between two moments."""

    smsdesk: float = 0.0
    postgres: float = 0.0
    nginx: float = 0.0
    # Backends of the other databases meanwhile: not this deployment's, shown so nothing is hidden.
    other_databases: float = 0.0

    @property
    def total(self) -> float:
        return self.smsdesk + self.postgres + self.nginx

    def __sub__(self, other: CpuParts) -> CpuParts:
        return CpuParts(
            self.smsdesk - other.smsdesk,
            self.postgres - other.postgres,
            self.nginx - other.nginx,
            self.other_databases - other.other_databases,
        )


@dataclass
class Statement:
    query: str  # the first QUERY_CHARS characters, on one line
    calls: int


@dataclass
class PostgresWork:
    """What one database did during a window: statements (by query) and committed transactions."""

    statements: list[Statement] = field(default_factory=list)
    commits: int | None = None  # None until the commit counters settled

    @property
    def calls(self) -> int:
        return sum(s.calls for s in self.statements)

    def top(self, count: int) -> list[Statement]:
        return sorted(self.statements, key=lambda s: -s.calls)[:count]


def _one_line(query: str) -> str:
    return " ".join(query.split())[:QUERY_CHARS]


class PostgresCounters:
    """The benchmark's own connection to PostgreSQL's statistics (to the ``postgres`` database, so
    it is never counted as a deployment's work)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.connection: Any = None
        self.lock = asyncio.Lock()  # one asyncpg connection: one query at a time
        self.last_active: dict[str, float] = {}  # database -> monotonic time its load last ended

    async def open(self) -> None:
        import asyncpg

        self.connection = await asyncio.wait_for(asyncpg.connect(self.url), 30)

    async def close(self) -> None:
        if self.connection is not None:
            await self.connection.close()
            self.connection = None

    async def _fetch(self, query: str, *args: Any) -> list[Any]:
        async with self.lock:
            return list(await asyncio.wait_for(self.connection.fetch(query, *args), 30))

    async def reset_statements(self) -> None:
        await self._fetch("SELECT pg_stat_statements_reset()")

    async def statements(self, database: str) -> list[Statement]:
        rows = await self._fetch(
            "SELECT query, calls FROM pg_stat_statements"
            " WHERE dbid = (SELECT oid FROM pg_database WHERE datname = $1)",
            database,
        )
        merged: dict[str, int] = {}
        for row in rows:
            key = _one_line(row["query"])
            merged[key] = merged.get(key, 0) + int(row["calls"])
        return [Statement(query, calls) for query, calls in merged.items()]

    def active_until_now(self, database: str) -> None:
        self.last_active[database] = time.monotonic()

    async def settled_commits(self, database: str) -> int:
        """``xact_commit`` of ``database`` once its backends have reported all they did before now."""
        last = self.last_active.get(database)
        if last is None:
            last = self.last_active[database] = time.monotonic()
        await asyncio.sleep(max(0.0, last + COMMIT_COUNTERS_SETTLE_S - time.monotonic()))
        rows = await self._fetch("SELECT xact_commit FROM pg_stat_database WHERE datname = $1", database)
        return int(rows[0]["xact_commit"]) if rows else 0
