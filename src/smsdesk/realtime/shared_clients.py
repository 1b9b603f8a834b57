"""Bayeux clients shared by the nodes of a cluster (PostgreSQL): any node serves any client's
messages, with no sticky sessions (docs/architecture.md §9).

What a client is lives in ``bayeux_clients``: its user, whether it uses the ack extension, its
subscriptions, ``delivered`` (the highest outbox position handed to it in a reply) and its
**owner**, the node that serves it. While a node owns a client, its in-memory copy is the truth:
a connect costs no statement; ``delivered`` and ``last_seen_ms`` are written behind, batched, every
``flush_s`` (websocket pushes too). One exception: a long-polling client without the ack extension,
whose connect reply carrying messages is written down before it goes (nothing else would tell a
node taking it over what it received).

A message for a client this node does not own (another node served it last, or this node's copy
cannot be trusted) makes this node **claim** it: one conditional statement makes it the owner and
asks the previous owner, over ``smsdesk_clients``, to release it. The previous owner finishes what
it is doing with the client, answers a held connect empty, drops its copy and replies with the
client's state (``delivered``, subscriptions, whether it has connected); the claimer waits for that
reply before it serves the client (or not at all when the previous owner is gone: its LISTEN
connection has closed), except for an ack client's connect, which says itself where the client is
(the release, when it comes, brings only a subscription changed meanwhile). A claim always starts
from the latest state:

- with the ack extension, from the client's acknowledgement (authoritative: the client says what it
  received), so an ack client receives every notification exactly once and in order, whatever
  node serves it and whichever node dies;
- without it, from ``delivered`` as the previous owner reported it, or, when that owner died, as it
  last wrote it: a long-polling client then misses only the messages of a reply written down but
  never received (its connection or its node died with the reply in flight), and a websocket client
  may receive again what was pushed to it in the ``flush_s`` before the death (each carries its
  ``ext.smsdesk.position``).

A node trusts its copies only while its LISTEN connection has stayed up since it claimed them
(releases are asked for there); after a reconnect it claims them again, from itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from smsdesk.bayeux import BayeuxServer, ServerSession
from smsdesk.bayeux.session import Connect
from smsdesk.operations.background import BackgroundLoop
from smsdesk.operations.ports import OVER_CAP, BayeuxClientDirectory, ClientState, StoredBayeuxClient, User
from smsdesk.realtime.fanout import Fanout

log = logging.getLogger("smsdesk.cluster")

_OWNED = "smsdesk.owned"
RELEASE_WAIT_S = 5.0
"""How long a claimer waits for a live previous owner to release a client before serving it anyway."""


@dataclass(slots=True)
class _Owned:
    """What this node, owning a client, knows of it beyond the Bayeux session."""

    generation: int
    """The LISTEN connection's generation when this node claimed the client."""
    sent: int
    """The highest position handed to the client in a reply (or pushed over its websocket)."""
    exact: bool
    """Whether the copy starts where the client is: False for an ack client rebuilt from what was
    sent rather than from its own acknowledgement (its next connect's acknowledgement decides)."""
    flushed: int
    """``sent`` as last written to the row."""
    seen_ms: int
    flushed_seen_ms: int


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
        max_subscriptions_per_user: int = 0,
        flush_s: float = 0.1,
        release_wait_s: float = RELEASE_WAIT_S,
    ) -> None:
        self.directory = directory
        self.fanout = fanout
        self.expire_after_s = expire_after_s
        self.max_clients_per_user = max_clients_per_user
        """The per-user cap over the cluster (each node's BayeuxServer also caps what it holds)."""
        self.max_subscriptions_per_user = max_subscriptions_per_user
        """The same for subscriptions (0: none)."""
        self.release_wait_s = release_wait_s
        self.server: BayeuxServer | None = None
        self.generation = 0
        """Bumped by every (re)connection of the LISTEN connection; 0: not listening yet."""
        self.listening = False
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}
        """One claim or batch at a time per client on this node: (lock, how many are using it)."""
        self._releases: dict[str, asyncio.Future[ClientState | None]] = {}
        """Claims waiting for the previous owner's release, by claim token."""
        self._early: dict[str, ClientState | None] = {}
        """Releases heard before their claim started waiting (its reply and theirs raced), by token."""
        self._unawaited_claims: dict[str, str] = {}
        """Claims that did not wait for their release, by token: the client's id. The previous owner
        may have changed the client's subscriptions meanwhile; its release says so (``_late``)."""
        self._owned: dict[str, ServerSession] = {}
        self._flusher = BackgroundLoop("smsdesk-bayeux-flush", self.flush, flush_s, log)
        self._expiry = BackgroundLoop("smsdesk-bayeux-expiry", self.expire, max(1.0, expire_after_s / 4), log)
        # Told when a client changes hands: the release replies and requests other nodes send.
        self.tell: Callable[[str, str], None] | None = None

    # ----- lifecycle -----

    def start(self) -> None:
        self._flusher.start()

    async def stop(self) -> None:
        await self._flusher.stop()
        with contextlib.suppress(Exception):
            await self.flush()

    def start_expiry(self) -> None:
        """Background work: the node that leads the cluster drops clients nobody has served lately."""
        self._expiry.start()

    async def stop_expiry(self) -> None:
        await self._expiry.stop()

    async def expire(self) -> None:
        gone = await self.directory.expire(_now_ms() - int(self.expire_after_s * 1000))
        if gone:
            log.info("dropped %d Bayeux client(s) no node has served for %.0f s", gone, self.expire_after_s)

    # ----- the LISTEN connection (storage/postgres_cluster.py) -----

    def heard(self, connected: bool) -> None:
        """The LISTEN connection came up (a new generation: copies claimed before are claimed
        again before use, since a release asked for meanwhile went unheard) or went down."""
        self.listening = connected
        if connected:
            self.generation += 1

    def notice(self, payload: str) -> None:
        """A message on ``smsdesk_clients``: ``"<node> <verb> <client> <data>"``, for ``<node>``."""
        target, _, rest = payload.partition(" ")
        if target != self.directory.node:
            return
        verb, _, rest = rest.partition(" ")
        client_id, _, data = rest.partition(" ")
        if verb == "release":  # data: "<claimer> <token>"
            claimer, _, token = data.partition(" ")
            task = asyncio.get_running_loop().create_task(self._release(client_id, claimer, token))
            task.add_done_callback(_log_failure)
        elif verb == "released":  # data: "<token> <state>"
            token, _, state = data.partition(" ")
            waiter = self._releases.get(token)
            late = self._unawaited_claims.pop(token, None)
            if late is not None:
                self._late(late, ClientState.parse(state))
            elif waiter is None:
                if len(self._early) > 1_000:
                    self._early.clear()
                self._early[token] = ClientState.parse(state)
            elif not waiter.done():
                waiter.set_result(ClientState.parse(state))
        elif verb == "gone":
            self._drop(client_id, "evicted")

    # ----- SharedClients -----

    async def before(self, server: BayeuxServer, messages: list[dict[str, Any]], principal: object) -> None:
        if not isinstance(principal, User):
            return
        self.server = server
        seen: set[str] = set()
        for message in messages:
            client_id = message.get("clientId")
            if not isinstance(client_id, str) or message["channel"] == "/meta/handshake" or client_id in seen:
                continue
            seen.add(client_id)
            async with self._lock(client_id):
                await self._make_current(server, client_id, principal, message)

    async def _make_current(
        self, server: BayeuxServer, client_id: str, user: User, message: dict[str, Any]
    ) -> None:
        is_connect = message["channel"] == "/meta/connect"
        local = server.session(client_id)
        owned: _Owned | None = local.attributes.get(_OWNED) if local is not None else None
        acked = _acknowledged(message) if is_connect and local is not None and local.ack is not None else None
        if local is not None and owned is not None and self._trusted(owned):
            await self._serve_owned(local, owned, acked)
            return
        token = secrets.token_hex(6)
        claim = await self.directory.claim(client_id, _now_ms(), token)
        if claim is None or claim.stored.user_id != user.id:
            if local is not None:
                server.remove(local, "evicted")  # gone from the cluster: 402 from here too
            return
        if local is not None and owned is not None and claim.previous_owner == self.directory.node:
            # Nobody took it since this node last served it: the copy is still the truth.
            owned.generation = self.generation
            await self._serve_owned(local, owned, acked)
            return
        state: ClientState | None = None
        stored = claim.stored
        acked = _acknowledged(message) if is_connect and stored.ack else None
        if claim.previous_owner_alive and acked is not None:
            # An ack client's connect says where the client is, and its subscriptions were written
            # when they were made: nothing the previous owner holds is needed, so this node serves
            # it without waiting for the release (which round-robin would otherwise cost on every
            # connect). The previous owner drops its copy when it hears the claim; a connect it
            # still held was given up by the client, and what it answers there is never acknowledged.
            self._unawaited(token, client_id)
            state = ClientState(None, None, connected=True)
        elif claim.previous_owner_alive:
            state = await self._released_by(client_id, token)
            if state is not None and state.subscriptions is None:  # too many to tell: it wrote them
                claim_row = await self.directory.get(client_id)
                state = ClientState(
                    state.delivered, claim_row.subscriptions if claim_row else None, state.connected
                )
        subscriptions = state.subscriptions if state is not None and state.subscriptions is not None else None
        if subscriptions is None:
            subscriptions = stored.subscriptions
        delivered = state.delivered if state is not None and state.delivered is not None else stored.delivered
        connected = state.connected if state is not None and state.connected is not None else stored.connected
        local = server.session(client_id)  # again: the copy may have gone during the waits above
        if local is None:
            local = server.adopt(client_id, user, stored.ack, subscriptions, connected)
        else:
            local.subscriptions.clear()
            local.subscriptions.update(subscriptions)
            # A copy this node has not used for a while is what the idle sweep removes: in use again
            # now, it must not be swept while the rebuild below awaits the outbox (the client would
            # be told 402 and, without a resume token, lose what it had not received).
            local.last_active = time.monotonic()
        start = acked if acked is not None else delivered
        now = _now_ms()
        local.attributes[_OWNED] = _Owned(
            generation=self.generation,
            sent=start,
            exact=acked is not None or not stored.ack,
            flushed=stored.delivered,
            seen_ms=now,
            flushed_seen_ms=stored.last_seen_ms,
        )
        self._owned[client_id] = local
        await self.fanout.resync(local, start)

    async def _serve_owned(self, local: ServerSession, owned: _Owned, acked: int | None) -> None:
        owned.seen_ms = _now_ms()
        if acked is not None and (not owned.exact or acked > owned.sent):
            # The client is not where this copy thinks: start over from where it says it is.
            owned.exact, owned.sent = True, acked
            await self.fanout.resync(local, acked)

    def _trusted(self, owned: _Owned) -> bool:
        return self.listening and owned.generation == self.generation

    def _unawaited(self, token: str, client_id: str) -> None:
        if len(self._unawaited_claims) > 10_000:  # replies of owners that died before answering
            self._unawaited_claims.clear()
        self._unawaited_claims[token] = client_id

    def _late(self, client_id: str, state: ClientState | None) -> None:
        """The release of a claim that did not wait: a subscription the previous owner made or
        dropped just before it heard the claim is applied now, with what it missed meanwhile."""
        session = self._owned.get(client_id)
        if session is None or state is None or state.subscriptions is None:
            return
        wanted = set(state.subscriptions)
        if wanted == session.subscriptions:
            return
        for channel in session.subscriptions - wanted:
            session.subscriptions.discard(channel)
        for channel in wanted - session.subscriptions:
            session.subscriptions.add(channel)
            self.fanout.on_subscribe(session, channel)
        log.info(
            "Bayeux client %s: subscriptions changed on its previous node during the hand-over", client_id
        )

    async def _released_by(self, client_id: str, token: str) -> ClientState | None:
        """The previous owner's state of the client once it has released it (None: it had none, or
        it did not answer in time)."""
        if token in self._early:
            return self._early.pop(token)
        waiter: asyncio.Future[ClientState | None] = asyncio.get_running_loop().create_future()
        self._releases[token] = waiter
        try:
            return await asyncio.wait_for(waiter, self.release_wait_s if self.listening else 0.1)
        except TimeoutError:
            log.warning(
                "Bayeux client %s: its previous node did not release it within %.1f s; serving it anyway",
                client_id,
                self.release_wait_s,
            )
            return None
        finally:
            del self._releases[token]

    async def _release(self, client_id: str, claimer: str, token: str) -> None:
        """Another node claimed a client: hand it over, once what this node is doing with it is done."""
        state = None
        async with self._lock(client_id):
            session = self._owned.pop(client_id, None)
            owned: _Owned | None = session.attributes.get(_OWNED) if session is not None else None
            if session is not None and owned is not None and self.server is not None:
                state = ClientState(owned.sent, tuple(sorted(session.subscriptions)), session.connected)
                # A held connect is answered empty (its client moved on); the copy goes.
                self.server.remove(session, "released")
        if self.tell is not None:
            self.tell(claimer, f"released {client_id} {token} {state.encode() if state is not None else ''}")

    def _drop(self, client_id: str, reason: str) -> None:
        session = self._owned.pop(client_id, None)
        if session is not None and self.server is not None:
            self.server.remove(session, reason)

    def _lock(self, client_id: str) -> _ClientLock:
        return _ClientLock(self._locks, client_id)

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
                await self._created(session, principal, reply)
            elif channel in ("/meta/subscribe", "/meta/unsubscribe") and session is not None:
                # Written at once: a node that claims the client from a dead owner reads them here.
                subscribe = channel == "/meta/subscribe"
                version = await self.directory.set_subscriptions(
                    session.id,
                    tuple(session.subscriptions),
                    self.max_subscriptions_per_user if subscribe else 0,
                )
                if version == OVER_CAP:
                    self._refuse_subscription(session, message, reply)
            elif channel == "/meta/disconnect" and isinstance(client_id, str):
                self._owned.pop(client_id, None)
                await self.directory.delete(client_id)

    def _refuse_subscription(
        self, session: ServerSession, message: dict[str, Any], reply: dict[str, Any]
    ) -> None:
        """Over the per-user cap counted over the whole cluster (each node's server counted its own
        clients only): the client keeps what it had, and the reply says why, as a node's own refusal."""
        wanted = message.get("subscription")
        for channel in [wanted] if isinstance(wanted, str) else wanted if isinstance(wanted, list) else []:
            session.subscriptions.discard(channel)
        reply["successful"] = False
        reply["error"] = "403::too_many_subscriptions"
        log.warning(
            "Bayeux client %s refused a subscription: its user's clients over the cluster would hold more than %d",
            session.id,
            self.max_subscriptions_per_user,
        )

    async def _created(self, session: ServerSession, user: User, reply: dict[str, Any]) -> None:
        now = _now_ms()
        inserted = await self.directory.insert(
            StoredBayeuxClient(
                session.id,
                user.id,
                user.tenant_id,
                session.ack is not None,
                (),
                0,
                self.fanout.position_of(session),
                False,
                now,
            ),
            now,
            self.max_clients_per_user,
            catch_up=not self.fanout.resumes_from_token(session),
        )
        # Everything committed before the handshake was answered is the client's past, also what
        # this node's fan-out has not read yet: a new client starts after the database's last position.
        start = self.fanout.start_after(session, inserted.start)
        ext = reply.get("ext")
        if isinstance(ext, dict) and isinstance(ext.get("smsdesk"), dict):
            ext["smsdesk"]["position"] = start
        for client_id, owner in inserted.removed:  # other owners were told at the removal's commit
            if owner == self.directory.node:
                self._drop(client_id, "over_cap")
        if inserted.removed:
            log.info(
                "user %s: %d oldest Bayeux client(s) over the cluster-wide cap removed",
                user.user_name,
                len(inserted.removed),
            )
        session.attributes[_OWNED] = _Owned(self.generation, start, True, start, now, now)
        self._owned[session.id] = session

    async def sent(self, connect: Connect) -> bool:
        session = connect.session
        owned: _Owned | None = session.attributes.get(_OWNED)
        if owned is None:
            return True
        now = _now_ms()
        owned.seen_ms = now
        if connect.sequence is None or connect.sequence <= owned.sent:
            return True
        if session.ack is None:
            # Without the ack extension nothing tells the next owner what the client received: a
            # reply carrying messages is written down before it goes, while this node still owns
            # the client; otherwise it goes out empty and the next connect starts over.
            if not await self.directory.record_delivery(session.id, connect.sequence, now):
                log.info("Bayeux client %s moved to another node; answering its connect empty", session.id)
                owned.generation = -1  # claim it again before serving it
                return False
            owned.flushed, owned.flushed_seen_ms = connect.sequence, now
        owned.sent = connect.sequence
        return True

    def pushed(self, session: ServerSession) -> None:
        owned: _Owned | None = session.attributes.get(_OWNED)
        if owned is not None:
            owned.seen_ms = _now_ms()
            owned.sent = max(owned.sent, session.sequence)

    async def flush(self) -> None:
        """Write behind: the delivery positions and last-seen times of the clients this node owns
        that changed since the last flush, in one statement."""
        changes: list[tuple[str, int, int]] = []
        for client_id, session in list(self._owned.items()):
            if session.removed is not None:
                self._owned.pop(client_id, None)
                continue
            owned: _Owned | None = session.attributes.get(_OWNED)
            if owned is None:
                continue
            # last_seen matters only for expiry: written when it is a tenth of the way there.
            stale_seen = owned.seen_ms - owned.flushed_seen_ms > self.expire_after_s * 100
            if owned.sent != owned.flushed or stale_seen:
                changes.append((client_id, owned.sent, owned.seen_ms))
        if not changes:
            return
        gone = await self.directory.record(changes)
        for client_id, sent, seen_ms in changes:
            still = self._owned.get(client_id)
            owned = still.attributes.get(_OWNED) if still is not None else None
            if owned is not None:
                owned.flushed, owned.flushed_seen_ms = (
                    max(owned.flushed, sent),
                    max(owned.flushed_seen_ms, seen_ms),
                )
        for client_id in gone:
            self._drop(client_id, "evicted")  # expired or removed by the cap: 402 from here too


class _ClientLock:
    """This node's lock for one client, created on first use and dropped when nobody holds it."""

    __slots__ = ("_client_id", "_lock", "_locks")

    def __init__(self, locks: dict[str, tuple[asyncio.Lock, int]], client_id: str) -> None:
        self._locks = locks
        self._client_id = client_id
        lock, users = locks.get(client_id) or (asyncio.Lock(), 0)
        locks[client_id] = (lock, users + 1)
        self._lock = lock

    async def __aenter__(self) -> None:
        try:
            await self._lock.acquire()
        except BaseException:
            self._leave()
            raise

    async def __aexit__(self, *exc: object) -> None:
        self._lock.release()
        self._leave()

    def _leave(self) -> None:
        lock, users = self._locks[self._client_id]
        if users == 1:
            del self._locks[self._client_id]
        else:
            self._locks[self._client_id] = (lock, users - 1)


def _log_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.warning("could not release a Bayeux client: %s", task.exception())
