"""Fan-out: read committed notifications from the outbox in order and hand each to the Bayeux
sessions of its agent. The bus only says "there is something after position N"; the outbox is the
truth, so a missed poke delays a notification until the next one, and never loses it."""

from __future__ import annotations

import logging
from typing import Any

import msgspec

from smsdesk.bayeux import BayeuxServer, ServerSession
from smsdesk.operations.background import BackgroundLoop
from smsdesk.operations.ports import Store, User

log = logging.getLogger("smsdesk.fanout")


class Fanout:
    """Also the Bayeux session listener: it keeps the index agent → that agent's Bayeux sessions."""

    def __init__(self, store: Store, batch_size: int = 1_000) -> None:
        self.store = store
        self.batch_size = batch_size
        self.server: BayeuxServer | None = None
        self.cursor = 0
        self._sessions_by_user: dict[str, set[ServerSession]] = {}
        self._loop = BackgroundLoop("smsdesk-fanout", self.drain, None, log)

    # ----- SessionListener -----

    def on_handshake(self, session: ServerSession, message: dict[str, Any]) -> None:
        principal = session.principal
        if isinstance(principal, User):
            self._sessions_by_user.setdefault(principal.id, set()).add(session)

    def on_subscribe(self, session: ServerSession, channel: str) -> None:
        """Nothing to do: subscriptions are matched by the Bayeux server at delivery."""

    def on_removed(self, session: ServerSession, expired: bool) -> None:
        principal = session.principal
        if isinstance(principal, User):
            sessions = self._sessions_by_user.get(principal.id)
            if sessions is not None:
                sessions.discard(session)
                if not sessions:
                    del self._sessions_by_user[principal.id]

    # ----- delivery -----

    def poke(self, position: int) -> None:
        if position > self.cursor:
            self._loop.wake()

    async def start(self, server: BayeuxServer) -> None:
        self.server = server
        self.cursor = await self.store.last_position()
        self._loop.start()

    async def stop(self) -> None:
        await self._loop.stop()

    async def drain(self) -> None:
        server = self.server
        assert server is not None
        while True:
            rows = await self.store.notifications_after(self.cursor, self.batch_size)
            for row in rows:
                sessions = self._sessions_by_user.get(row.user_id)
                if sessions:
                    data = msgspec.Raw(row.payload)
                    for session in tuple(sessions):
                        server.deliver(session, row.channel, data)
                self.cursor = row.position
            if len(rows) < self.batch_size:
                return
