"""Bayeux clients shared by the nodes of a cluster (PostgreSQL): any node serves any client's
messages, with no sticky sessions (docs/architecture.md §9).

What a client is lives in ``bayeux_clients``: its user, whether it uses the ack extension, its
subscriptions (with a version bumped by each change) and ``delivered``, the highest outbox position
handed to it in a reply. A node holds a *copy* of each client it has served. Before handling a
batch, the copy of each client the batch names is made current:

- if the stored version and ``delivered`` are the ones this copy last wrote or read, and the
  client's acknowledgement (ack extension) is not ahead of them, the copy *is* the client's state:
  nothing else to do (the common case when a client keeps coming back to the same node);
- otherwise (another node answered the client since, or changed its subscriptions) the copy is
  rebuilt: subscriptions from the row, queue emptied, and the outbox replayed after the point the
  client has reached: the acknowledged position for ack clients (authoritative: the client says
  what it received), ``delivered`` for the others.

A connect reply carrying messages is recorded (``delivered`` moved from the value this copy knows
to the reply's last position) *before* it is written to the client, and only if the row still has
the version and ``delivered`` this copy knows; otherwise the reply goes out empty and the client's
next connect, wherever it lands, rebuilds from the row. So two nodes never both answer from stale
copies, and a client whose next connect reaches another node finds ``delivered`` already there.

What a client without the ack extension can miss: the messages of a reply that was recorded but
never reached it (its connection, or the node, died while the reply was in flight). With the ack
extension it misses nothing: its acknowledgement, not ``delivered``, says where to start.
Websocket pushes (no ack) are recorded lazily, every ``push_flush_s``: a node dying in between makes
the next node re-send what was pushed since (duplicates, each with its ``ext.smsdesk.position``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass
from typing import Any

from smsdesk.bayeux import BayeuxServer, ServerSession
from smsdesk.bayeux.session import Connect
from smsdesk.operations.background import BackgroundLoop
from smsdesk.operations.ports import BayeuxClientDirectory, StoredBayeuxClient, User
from smsdesk.realtime.fanout import Fanout

log = logging.getLogger("smsdesk.cluster")

_KNOWN = "smsdesk.shared"


@dataclass(slots=True)
class _Known:
    """What this node's copy of a client last wrote to, or read from, the client's row."""

    version: int
    delivered: int
    connected: bool
    touched_ms: int


def _now_ms() -> int:
    return int(time.time() * 1000)


def _acknowledged(message: dict[str, Any]) -> int | None:
    ext = message.get("ext")
    value = ext.get("ack") if isinstance(ext, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


class SharedBayeuxClients:
    def __init__(
        self,
        directory: BayeuxClientDirectory,
        fanout: Fanout,
        expire_after_s: float,
        max_clients_per_user: int = 0,
        touch_s: float = 10.0,
        push_flush_s: float = 0.1,
    ) -> None:
        self.directory = directory
        self.fanout = fanout
        self.expire_after_s = expire_after_s
        self.max_clients_per_user = max_clients_per_user
        """The per-user cap over the cluster (each node's BayeuxServer also caps what it holds)."""
        self.touch_ms = int(touch_s * 1000)
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}
        """One sync at a time per client on this node: (lock, how many are using it)."""
        self._pushed: dict[str, ServerSession] = {}
        self._flusher = BackgroundLoop("smsdesk-bayeux-push-record", self._flush, push_flush_s, log)
        self._expiry = BackgroundLoop("smsdesk-bayeux-expiry", self.expire, max(1.0, expire_after_s / 4), log)

    # ----- lifecycle -----

    def start(self) -> None:
        self._flusher.start()

    async def stop(self) -> None:
        await self._flusher.stop()
        await self._flush()

    def start_expiry(self) -> None:
        """Background work: the node that leads the cluster drops clients nobody has served lately."""
        self._expiry.start()

    async def stop_expiry(self) -> None:
        await self._expiry.stop()

    async def expire(self) -> None:
        gone = await self.directory.expire(_now_ms() - int(self.expire_after_s * 1000))
        if gone:
            log.info("dropped %d Bayeux client(s) no node has served for %.0f s", gone, self.expire_after_s)

    # ----- SharedClients -----

    async def before(self, server: BayeuxServer, messages: list[dict[str, Any]], principal: object) -> None:
        if not isinstance(principal, User):
            return
        seen: set[str] = set()
        for message in messages:
            client_id = message.get("clientId")
            if not isinstance(client_id, str) or message["channel"] == "/meta/handshake" or client_id in seen:
                continue
            seen.add(client_id)
            lock, users = self._locks.get(client_id) or (asyncio.Lock(), 0)
            self._locks[client_id] = (lock, users + 1)
            try:
                async with lock:
                    await self._sync(server, client_id, principal, message)
            finally:
                lock, users = self._locks[client_id]
                if users == 1:
                    del self._locks[client_id]
                else:
                    self._locks[client_id] = (lock, users - 1)

    async def _sync(self, server: BayeuxServer, client_id: str, user: User, message: dict[str, Any]) -> None:
        stored = await self.directory.get(client_id)
        # Looked up after the read: the idle sweep may have dropped this node's copy meanwhile.
        local = server.session(client_id)
        if stored is None or stored.user_id != user.id:
            if local is not None and stored is None:
                server.remove(local, "evicted")  # disconnected or expired elsewhere: 402 from here too
            return
        is_connect = message["channel"] == "/meta/connect"
        acked = _acknowledged(message) if stored.ack and is_connect else None
        known: _Known | None = local.attributes.get(_KNOWN) if local is not None else None
        if (
            local is not None
            and known is not None
            and known.version == stored.version
            and known.delivered == stored.delivered
            and (acked is None or acked <= stored.delivered)
        ):
            return
        local = server.session(client_id)  # again: the copy may have gone during the reads above
        if local is None:
            local = server.adopt(client_id, user, stored.ack, stored.subscriptions, stored.connected)
        else:
            local.subscriptions.clear()
            local.subscriptions.update(stored.subscriptions)
            # A copy this node has not used for a while is what the idle sweep removes: in use again
            # now, it must not be swept while the rebuild below awaits the outbox (the client would
            # be told 402 and, without a resume token, lose what it had not received).
            local.last_active = time.monotonic()
        start = acked if acked is not None else stored.delivered
        # An ack client rebuilt for anything but a connect starts from what was *sent*; its next
        # connect, whose acknowledgement is authoritative, must rebuild again (-1 never matches).
        delivered = stored.delivered if (is_connect or not stored.ack) else -1
        local.attributes[_KNOWN] = _Known(stored.version, delivered, stored.connected, stored.last_seen_ms)
        await self.fanout.resync(local, start)

    async def after(
        self, server: BayeuxServer, messages: list[dict[str, Any]], replies: list[Any], principal: object
    ) -> None:
        if not isinstance(principal, User):
            return
        for message, reply in zip(messages, replies, strict=True):
            if isinstance(reply, Connect) or not reply.get("successful"):
                continue
            channel = message["channel"]
            client_id = reply.get("clientId")
            session = server.session(client_id) if isinstance(client_id, str) else None
            if channel == "/meta/handshake" and session is not None:
                await self._created(session, principal)
            elif channel in ("/meta/subscribe", "/meta/unsubscribe") and session is not None:
                version = await self.directory.set_subscriptions(session.id, tuple(session.subscriptions))
                known = session.attributes.get(_KNOWN)
                if version is not None and known is not None:
                    known.version = version
            elif channel == "/meta/disconnect" and isinstance(client_id, str):
                await self.directory.delete(client_id)

    async def _created(self, session: ServerSession, user: User) -> None:
        now = _now_ms()
        start = self.fanout.position_of(session)
        removed = await self.directory.insert(
            StoredBayeuxClient(
                session.id, user.id, user.tenant_id, session.ack is not None, (), 0, start, False, now
            ),
            now,
            self.max_clients_per_user,
        )
        if removed:
            log.info(
                "user %s: %d oldest Bayeux client(s) over the cluster-wide cap removed",
                user.user_name,
                removed,
            )
        session.attributes[_KNOWN] = _Known(0, start, False, now)

    async def sent(self, connect: Connect) -> bool:
        session = connect.session
        known: _Known | None = session.attributes.get(_KNOWN)
        if known is None or session.removed is not None:
            return True
        now = _now_ms()
        if connect.sequence is None:
            if not known.connected or now - known.touched_ms >= self.touch_ms:
                await self.directory.touch(session.id, now)
                known.connected, known.touched_ms = True, now
            return True
        if await self.directory.record_delivery(
            session.id, known.version, known.delivered, connect.sequence, now
        ):
            known.delivered, known.connected, known.touched_ms = connect.sequence, True, now
            return True
        log.info("Bayeux client %s changed on another node; answering its connect empty", session.id)
        known.version = -1  # rebuild on the next message
        return False

    def pushed(self, session: ServerSession) -> None:
        self._pushed[session.id] = session

    async def _flush(self) -> None:
        pushed, self._pushed = self._pushed, {}
        for session in pushed.values():
            known: _Known | None = session.attributes.get(_KNOWN)
            if known is None or session.sequence <= known.delivered:
                continue
            now = _now_ms()
            with contextlib.suppress(Exception):
                await self.directory.advance_delivery(session.id, session.sequence, now)
                known.delivered, known.connected, known.touched_ms = session.sequence, True, now
