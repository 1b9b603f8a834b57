"""A fresh Bayeux client of a cluster starts after the database's last position, which may be ahead
of what the handshaking node's fan-out has read (realtime/shared_clients.py, ``_created``). The
ack extension's batch id must start there too: an empty first connect answers it, the client's next
connect acknowledges it, and a node that takes the client over replays from that acknowledgement.
A batch id left at the node's fan-out cursor made that node replay notifications committed before
the handshake (seen as two extra notifications in the 200-customer cluster test under load).

The real BayeuxServer, Fanout and SharedBayeuxClients; the directory (the database's row and its
last position) and the outbox are stand-ins, so that the fan-out's lag is chosen, not raced for.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any, cast

from smsdesk.bayeux import BayeuxServer, BayeuxSettings
from smsdesk.bayeux.server import Connect
from smsdesk.operations.ports import Inserted, StoredBayeuxClient, StoredNotification, User
from smsdesk.realtime.fanout import Fanout
from smsdesk.realtime.policy import GwsSecurityPolicy
from smsdesk.realtime.shared_clients import SharedBayeuxClients

AGENT = User("u1", "t1", "agent1", "A", "One", ("agent",), True, "hash")
READ_BY_THIS_NODE = 45
COMMITTED = 90


class Outbox:
    """The database's outbox: this node's fan-out started at READ_BY_THIS_NODE; what was committed
    since has not reached it yet (its reads come back empty)."""

    head = READ_BY_THIS_NODE

    async def last_position(self) -> int:
        return self.head

    async def after(self, position: int, limit: int) -> list[StoredNotification]:
        return []

    async def of_user_after(
        self, user_id: str, position: int, upto: int | None, limit: int
    ) -> list[StoredNotification]:
        return []

    async def oldest_position(self) -> int:
        return 1


class Store:
    def __init__(self) -> None:
        self.outbox = Outbox()


class Directory:
    """The database: it has committed up to COMMITTED when the client's row is written."""

    node = "this-node"

    async def insert(
        self, client: StoredBayeuxClient, now_ms: int, max_per_user: int, catch_up: bool = True
    ) -> Inserted:
        return Inserted(max(client.delivered, COMMITTED) if catch_up else client.delivered, [])

    async def set_subscriptions(self, client_id: str, subscriptions: Any, user_cap: int = 0) -> int:
        return 1


def test_a_fresh_clients_first_acknowledgement_names_where_it_starts() -> None:
    async def scenario() -> tuple[int, int]:
        store = Store()
        fanout = Fanout(cast(Any, store), replay_from_handshake=True)
        server = BayeuxServer(BayeuxSettings(), GwsSecurityPolicy(), listener=fanout)
        shared = SharedBayeuxClients(cast(Any, Directory()), fanout, expire_after_s=60)
        server.shared = shared
        shared.heard(connected=True)  # listening: the copies this node makes are the truth
        await fanout.start(server)
        store.outbox.head = COMMITTED
        try:

            async def request(message: dict[str, Any]) -> list[dict[str, Any]]:
                messages = [message]
                await shared.before(server, messages, AGENT)
                replies: list[Any] = server.handle(messages, AGENT, "long-polling", None)
                await shared.after(server, messages, replies, AGENT)
                answered: list[dict[str, Any]] = []
                for reply in replies:
                    if isinstance(reply, Connect):
                        answered += [json.loads(m) for m in server.finish_connect(reply)]
                    else:
                        answered.append(reply)
                return answered

            (handshake,) = await request(
                {
                    "channel": "/meta/handshake",
                    "version": "1.0",
                    "supportedConnectionTypes": ["long-polling"],
                    "ext": {"ack": True},
                }
            )
            client_id = handshake["clientId"]
            await request({"channel": "/meta/subscribe", "clientId": client_id, "subscription": "/v2/me/**"})
            await asyncio.sleep(0)  # the first replay (nothing to send) runs
            connect = {"channel": "/meta/connect", "clientId": client_id, "connectionType": "long-polling"}
            answered = await request(connect)  # the first connect is answered at once
            (reply,) = [m for m in answered if m.get("channel") == "/meta/connect"]
            assert [m for m in answered if m is not reply] == [], answered  # nothing before the start
            return int(handshake["ext"]["smsdesk"]["position"]), int(reply["ext"]["ack"])
        finally:
            await fanout.stop()
            await server.close()

    start, acknowledged = asyncio.run(scenario())
    assert start == COMMITTED
    assert acknowledged == COMMITTED  # was READ_BY_THIS_NODE: another node would replay 46..90
