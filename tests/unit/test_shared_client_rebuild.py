"""A cluster node rebuilding its copy of a Bayeux client (realtime/shared_clients.py) while the idle
sweep runs: the copy is in use again, so the sweep must leave it alone.

The race needs the sweep to fire during the rebuild's read of the outbox; here the rebuild waits on
a gate the test opens, so it is deterministic. Everything else is the real BayeuxServer and
SharedBayeuxClients; the directory and the outbox read are stand-ins.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, cast

from smsdesk.bayeux import BayeuxServer, BayeuxSettings, ServerSession
from smsdesk.operations.ports import Claim, StoredBayeuxClient, User
from smsdesk.realtime.fanout import Fanout
from smsdesk.realtime.policy import GwsSecurityPolicy
from smsdesk.realtime.shared_clients import SharedBayeuxClients

AGENT = User("u1", "t1", "agent1", "A", "One", ("agent",), True, "hash")


class Directory:
    """The one client's row, as another node left it (a newer version than this node's copy)."""

    node = "this-node"

    def __init__(self, row: StoredBayeuxClient) -> None:
        self.row = row

    async def get(self, client_id: str) -> StoredBayeuxClient | None:
        return self.row if client_id == self.row.id else None

    async def claim(self, client_id: str, now_ms: int, token: str) -> Claim | None:
        return Claim(self.row, "another-node", False) if client_id == self.row.id else None


class GatedOutbox:
    """Fanout.resync, held until the test lets it finish."""

    def __init__(self) -> None:
        self.gate = asyncio.Event()
        self.reading = asyncio.Event()

    async def resync(self, session: ServerSession, start: int) -> None:
        self.reading.set()
        await self.gate.wait()


def test_a_copy_being_rebuilt_is_not_swept_as_idle() -> None:
    async def scenario() -> bool:
        settings = BayeuxSettings(timeout_ms=50, max_interval_ms=50, sweep_interval_ms=10)
        server = BayeuxServer(settings, GwsSecurityPolicy())
        outbox = GatedOutbox()
        row = StoredBayeuxClient(
            "c1", AGENT.id, AGENT.tenant_id, False, ("/v2/me/smssessions",), 3, 7, True, 0
        )
        shared = SharedBayeuxClients(cast(Any, Directory(row)), cast(Fanout, outbox), expire_after_s=60)
        server.shared = shared
        # This node served the client long ago (another node has since): its copy is stale and old.
        copy = server.adopt("c1", AGENT, False, (), True)
        copy.last_active = time.monotonic() - 3_600
        await server.start()
        try:
            connect = {"channel": "/meta/connect", "clientId": "c1", "connectionType": "long-polling"}
            rebuild = asyncio.create_task(shared.before(server, [connect], AGENT))
            await outbox.reading.wait()
            await asyncio.sleep(0.1)  # ten sweeps while the rebuild reads
            outbox.gate.set()
            await rebuild
            return server.session("c1") is copy
        finally:
            await server.close()

    assert asyncio.run(scenario())
