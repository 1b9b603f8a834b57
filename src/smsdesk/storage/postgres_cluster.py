"""What nodes on one PostgreSQL database tell each other, and which of them runs the background work.

- :class:`PostgresListener` keeps a connection of its own that LISTENs on ``smsdesk_outbox`` (every
  commit that notified someone announces its positions, and its rows when they fit, see
  ``storage/postgres.py``) and on ``smsdesk_work`` (routing or SMS sending is wanted). The outbox
  stays the truth: the fan-out reads it when an announcement leaves a gap, on a timer, and after the
  listener reconnects, so a lost announcement or a dropped connection delays a notification, never
  loses it.
- :class:`PostgresLeadership`: one node at a time holds a session-level advisory lock on a
  connection of its own, and only that node routes sessions, expires offers, sends outbound SMS
  and prunes. The others wait for the lock without polling it: when the leader dies its connection
  closes, PostgreSQL releases the lock, and a waiting node gets it at once; a node that loses its
  connection stops the work once it notices (``WATCH_S``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

import asyncpg

from smsdesk.storage.postgres import CLIENTS_CHANNEL, NODE_APPLICATION, OUTBOX_CHANNEL, PostgresStore
from smsdesk.tasks import stop_task

log = logging.getLogger("smsdesk.cluster")

WORK_CHANNEL = "smsdesk_work"
_LEADER_LOCK = 0x5D5D_0002
WATCH_S = 5.0
"""How often a node's own connections are checked (a dead peer is only noticed by talking to it): a
node that lost its LISTEN connection or its leadership knows it within this, plus ``_ANSWER_S``."""
_ANSWER_S = 2.0
_LIVE_NODES = f"SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name LIKE '{NODE_APPLICATION} %'"


async def _watch(
    conn: asyncpg.Connection[Any],
    check: str,
    on_answer: Callable[[Any], None] | None = None,
    lock: asyncio.Lock | None = None,
) -> None:
    """Return once the connection stops answering ``check`` (asked every ``WATCH_S``; ``lock``: the
    connection is shared, one query at a time)."""
    lock = lock or asyncio.Lock()
    while True:
        await asyncio.sleep(WATCH_S)
        try:
            async with lock:
                answer = await asyncio.wait_for(conn.fetchval(check), _ANSWER_S)
        except (Exception, TimeoutError):
            return
        if on_answer is not None:
            on_answer(answer)


def _drop(conn: asyncpg.Connection[Any] | None) -> None:
    if conn is not None and not conn.is_closed():
        conn.terminate()


class _OwnTask:
    """A connection-keeping loop in a task of its own, started and cancelled whole."""

    def __init__(self, name: str, loop: Callable[[], Coroutine[Any, Any, None]]) -> None:
        self._name = name
        self._loop = loop
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name=self._name)

    async def stop(self) -> None:
        await stop_task(self._task)
        self._task = None


class PostgresListener(_OwnTask):
    def __init__(
        self,
        store: PostgresStore,
        on_work: Callable[[str], None],
        on_reconnect: Callable[[], None],
        on_clients: Callable[[str], None] | None = None,
        on_listening: Callable[[bool], None] | None = None,
        on_nodes: Callable[[int], None] | None = None,
    ) -> None:
        self.store = store
        self.on_nodes = on_nodes
        """Told how many nodes serve the database (the check of the connection counts them)."""
        self.on_work = on_work
        self.on_clients = on_clients
        self.on_listening = on_listening
        self._conn: asyncpg.Connection[Any] | None = None
        self._conn_lock = asyncio.Lock()
        self.on_reconnect = on_reconnect
        super().__init__("smsdesk-pg-listen", self._run)

    async def notify_work(self, kind: str) -> None:
        await self._notify(WORK_CHANNEL, kind)

    async def _notify(self, channel: str, payload: str) -> None:
        """Tell the other nodes, on this node's own connection when it is up: the pool's may all be
        busy with operations, and a hand-over must not wait behind them."""
        conn = self._conn
        if conn is not None and not conn.is_closed():
            async with self._conn_lock:
                await conn.execute("SELECT pg_notify($1, $2)", channel, payload)
            return
        pool = await self.store.pool()
        await pool.execute("SELECT pg_notify($1, $2)", channel, payload)

    def _outbox(self, conn: object, pid: int, channel: str, payload: object) -> None:
        self.store.announced(str(payload))

    def _work(self, conn: object, pid: int, channel: str, payload: object) -> None:
        self.on_work(str(payload))

    def _clients(self, conn: object, pid: int, channel: str, payload: object) -> None:
        if self.on_clients is not None:
            self.on_clients(str(payload))

    async def notify_clients(self, text: str) -> None:
        await self._notify(CLIENTS_CHANNEL, text)

    def _nodes(self, count: object) -> None:
        if self.on_nodes is not None and isinstance(count, int):
            self.on_nodes(count)

    def _listening(self, up: bool) -> None:
        if self.on_listening is not None:
            self.on_listening(up)

    async def _run(self) -> None:
        backoff = 0.2
        while True:
            conn: asyncpg.Connection[Any] | None = None
            try:
                conn = await self.store.connect(f"{NODE_APPLICATION} {self.store.node}")
                await conn.add_listener(OUTBOX_CHANNEL, self._outbox)
                await conn.add_listener(WORK_CHANNEL, self._work)
                await conn.add_listener(CLIENTS_CHANNEL, self._clients)
                backoff = 0.2
                # Announcements made while nobody listened are lost: read the outbox now.
                self.store.forget_appending()
                self._listening(True)
                self.on_reconnect()
                if self.on_nodes is not None:
                    self.on_nodes(int(await conn.fetchval(_LIVE_NODES)))
                # Nodes that thought they were alone announce their commits from now on.
                async with self._conn_lock:
                    await conn.execute("SELECT pg_notify($1, $2)", WORK_CHANNEL, f"hello {self.store.node}")
                self._conn = conn
                await _watch(conn, _LIVE_NODES, lambda count: self._nodes(count), self._conn_lock)
                self._conn = None
                log.warning("lost the LISTEN connection to PostgreSQL; reconnecting")
            except asyncio.CancelledError:
                self._conn = None
                self._listening(False)
                _drop(conn)
                raise
            except Exception as exc:
                log.warning("cannot LISTEN on PostgreSQL (%s); retrying in %.1f s", exc, backoff)
            self._conn = None
            self._listening(False)
            _drop(conn)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 5.0)


class PostgresLeadership(_OwnTask):
    def __init__(
        self,
        store: PostgresStore,
        on_elected: Callable[[], Awaitable[None]],
        on_deposed: Callable[[], Awaitable[None]],
        retry_s: float = 1.0,
    ) -> None:
        self.store = store
        self.on_elected = on_elected
        self.on_deposed = on_deposed
        self.retry_s = retry_s
        self.leader = False
        super().__init__("smsdesk-pg-leadership", self._run)

    async def stop(self) -> None:
        await super().stop()
        if self.leader:
            await self._depose()

    async def _depose(self) -> None:
        self.leader = False
        try:
            await self.on_deposed()
        except Exception:
            log.exception("stopping the background work failed")

    async def _run(self) -> None:
        while True:
            conn: asyncpg.Connection[Any] | None = None
            try:
                conn = await self.store.connect()
                # Waits, without polling, until no other node holds the lock (it ends with their
                # connection: a leader that dies hands over at once).
                await conn.execute("SELECT pg_advisory_lock($1)", _LEADER_LOCK)
                self.leader = True
                log.info("this node now runs the cluster's background work (routing, expiry, SMS sending)")
                await self.on_elected()
                await _watch(conn, "SELECT 1")
                log.warning("lost the leadership connection to PostgreSQL; stopping background work")
            except asyncio.CancelledError:
                _drop(conn)
                raise
            except Exception as exc:
                log.warning("leadership: %s; retrying in %.1f s", exc, self.retry_s)
            if self.leader:
                await self._depose()
            _drop(conn)
            await asyncio.sleep(self.retry_s)
