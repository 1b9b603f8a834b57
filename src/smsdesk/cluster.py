"""Who runs a node's background work, and how the node hears of other nodes' commits.

On SQLite there is one node: it runs everything (:class:`BackgroundWork` as it is). On PostgreSQL
(:class:`PostgresCluster`) every node listens for the others' commits and their requests for
routing or SMS sending (LISTEN/NOTIFY), and the one holding the leadership lock runs routing, offer
expiry, SMS sending and the prunes (``storage/postgres_cluster.py``, docs/architecture.md §9).
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING

from smsdesk.node import Node, RunsBackgroundWork

if TYPE_CHECKING:
    from smsdesk.storage.postgres import PostgresStore
    from smsdesk.storage.postgres_cluster import PostgresLeadership, PostgresListener

log = logging.getLogger("smsdesk")


class BackgroundWork:
    """The node's background work as something started and stopped (the leadership's callbacks)."""

    def __init__(self, node: Node) -> None:
        self.node = node
        self._running: AbstractAsyncContextManager[None] | None = None

    async def start(self) -> None:
        running = self.node.background_work()
        await running.__aenter__()
        self._running = running

    async def stop(self) -> None:
        running, self._running = self._running, None
        if running is not None:
            await running.__aexit__(None, None, None)


class PostgresCluster:
    def __init__(self, node: Node, store: PostgresStore) -> None:
        self.node = node
        self.store = store
        self.work = BackgroundWork(node)
        self.listener: PostgresListener | None = None
        self.leadership: PostgresLeadership | None = None

    async def start(self) -> None:
        from smsdesk.storage.postgres_cluster import PostgresLeadership, PostgresListener

        node = self.node
        shared = node.shared_clients
        self.listener = PostgresListener(
            self.store,
            self._work_requested,
            node.fanout.catch_up,
            on_clients=shared.notice if shared is not None else None,
            on_listening=shared.heard if shared is not None else None,
            on_nodes=self._share,
        )
        if shared is not None:
            shared.tell = self._tell
        # Work asked for on this node must reach whichever node leads.
        node.services.on_routing_needed.append(lambda tenant: self._signal(f"route:{tenant}"))
        node.services.on_sms_enqueued.append(lambda: self._signal("sms"))
        await self.listener.start()
        self.leadership = PostgresLeadership(self.store, self.work.start, self.work.stop)
        await self.leadership.start()

    async def stop(self) -> None:
        if self.leadership is not None:
            await self.leadership.stop()
        if self.listener is not None:
            await self.listener.stop()

    def _share(self, nodes: int) -> None:
        """The live nodes, counted by the listener's every check: each enforces its share, and
        commits announce their rows only when another node would read them."""
        for buckets in self.node.rate_limits:
            buckets.share(max(1, nodes))
        self.store.other_nodes = nodes > 1

    def _work_requested(self, kind: str) -> None:
        if kind.startswith("hello ") and kind != f"hello {self.store.node}":
            self.store.other_nodes = True  # another node joined: it must hear of this node's commits
            return
        if self.leadership is None or not self.leadership.leader:
            return
        if kind == "sms":
            self.node.dispatcher.wake()
        elif kind.startswith("route:"):
            self.node.router.wake(kind.removeprefix("route:"))

    def _tell(self, node: str, text: str) -> None:
        """A message to another node about a Bayeux client (``realtime/shared_clients.py``)."""
        if self.listener is not None:
            task = asyncio.get_running_loop().create_task(self.listener.notify_clients(f"{node} {text}"))
            task.add_done_callback(_log_failure)

    def _signal(self, kind: str) -> None:
        listener = self.listener
        if listener is None or (self.leadership is not None and self.leadership.leader):
            return  # the leader's own hooks already woke its loops
        task = asyncio.get_running_loop().create_task(listener.notify_work(kind))
        task.add_done_callback(_log_failure)


def cluster_of(node: Node) -> RunsBackgroundWork:
    from smsdesk.storage.sqlite import SqliteStore

    if isinstance(node.store, SqliteStore):
        return BackgroundWork(node)
    return PostgresCluster(node, node.store)


def _log_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.warning("could not signal the cluster: %s", task.exception())
