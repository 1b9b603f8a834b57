"""The Bayeux protocol: meta channels, client publishes, delivery and idle expiry.

Transports (``asgi.py``) hand it decoded message lists; it answers synchronously with reply dicts,
except for ``/meta/connect``, which comes back as a :class:`Connect` the transport may hold and then
turns into bytes with :meth:`BayeuxServer.finish_connect`. Queued messages are kept encoded, so a
connect reply is a join of byte strings.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Callable, Hashable, Iterable
from typing import Any

import msgspec

from smsdesk.bayeux import channels, timesync
from smsdesk.bayeux.policy import SecurityPolicy, SessionListener, SharedClients
from smsdesk.bayeux.session import LONG_POLLING, WEBSOCKET, Connect, HoldTimeouts, ServerSession
from smsdesk.bayeux.settings import BayeuxSettings
from smsdesk.lograte import RateLimitedWarning
from smsdesk.tasks import stop_task

log = logging.getLogger("smsdesk.bayeux")
limit_log = RateLimitedWarning(log)

ROOM_PER_MESSAGE = 1_024
"""Bytes :meth:`BayeuxServer.has_room` keeps free for each small message a caller means to add
after the one it asks about (a gap notice, say)."""

Message = dict[str, Any]
Reply = Message | Connect
encode = msgspec.json.encode

UNKNOWN_ADVICE = {"reconnect": "handshake", "interval": 0}
REFUSED_ADVICE = {"reconnect": "none", "interval": 0}


def _reply(message: Message, successful: bool, **fields: Any) -> Message:
    reply: Message = {"channel": message["channel"], "successful": successful, **fields}
    if "id" in message:
        reply["id"] = message["id"]
    return reply


def _failure(message: Message, error: str, **fields: Any) -> Message:
    return _reply(message, False, error=error, **fields)


def _principal_key(principal: object) -> Hashable:
    """Principals that compare equal share a cap; an unhashable one is counted on its own."""
    try:
        hash(principal)
    except TypeError:
        return id(principal)
    return principal


class BayeuxServer:
    def __init__(
        self, settings: BayeuxSettings, policy: SecurityPolicy, listener: SessionListener | None = None
    ) -> None:
        self.settings = settings
        self.policy = policy
        self.listener = listener
        self.shared: SharedClients[BayeuxServer] | None = None
        """Set for a cluster: clients are kept by the cluster, this server holds copies of them."""
        self._sessions: dict[str, ServerSession] = {}
        self.held_bytes = 0
        """Bytes held for every client together (their ``pending_bytes``): ``max_node_queue_bytes``."""
        # Each principal's sessions in handshake order (dicts keep insertion order): the first is
        # the oldest, the one a handshake beyond ``max_clients_per_principal`` removes.
        self._by_principal: dict[Hashable, dict[str, ServerSession]] = {}
        self._browser_holds: dict[str, int] = {}
        self._sweeper: asyncio.Task[None] | None = None
        self._types = [WEBSOCKET, LONG_POLLING] if settings.websocket_enabled else [LONG_POLLING]
        self._timeout_s = settings.timeout_ms / 1000
        self._hold_timeouts = HoldTimeouts(self._timeout_s)
        self._handshake_advice = {
            "reconnect": "retry",
            "interval": settings.interval_ms,
            "timeout": settings.timeout_ms,
        }
        self._connect_advice = {**self._handshake_advice, "maxInterval": settings.max_interval_ms}
        self._multiple_clients_advice = {
            "multiple-clients": True,
            "reconnect": "retry",
            "interval": settings.multiple_clients_interval_ms,
            "timeout": settings.timeout_ms,
        }
        # deliver() is called once per recipient with the same pre-encoded payload: remember the
        # last envelope so a notification is encoded once however many sessions receive it.
        self._last_delivery: tuple[str, object, object, bytes] | None = None
        self._meta: dict[str, Callable[[Message, object, str, str | None, int], Reply]] = {
            "/meta/handshake": self._handshake,
            "/meta/connect": self._connect,
            "/meta/subscribe": self._subscribe,
            "/meta/unsubscribe": self._unsubscribe,
            "/meta/disconnect": self._disconnect,
        }

    # ----- lifecycle -----

    async def start(self) -> None:
        if self._sweeper is None:
            self._sweeper = asyncio.create_task(self._sweep(), name="bayeux-sweeper")

    async def close(self) -> None:
        await stop_task(self._sweeper)
        self._sweeper = None
        for session in list(self._sessions.values()):
            self._remove(session, "closed")
        self._hold_timeouts.close()

    async def _sweep(self) -> None:
        interval = self.settings.sweep_interval_ms / 1000
        max_idle = self.settings.max_interval_ms / 1000
        if self.shared is not None:
            # A cluster expires clients itself; a copy here only goes once the client has been served
            # elsewhere for a while (other nodes hold its connects meanwhile).
            max_idle += 2 * self._timeout_s
        reason = "evicted" if self.shared is not None else "expired"
        never_connected = self.settings.unconnected_expiry_ms / 1000
        while True:
            await asyncio.sleep(interval)
            now = time.monotonic()
            idle = [
                s
                for s in self._sessions.values()
                if s.connect is None
                and now - s.last_active > (max_idle if s.connected else min(max_idle, never_connected))
            ]
            for session in idle:
                self._remove(session, reason)

    # ----- sessions -----

    def session(self, client_id: str) -> ServerSession | None:
        return self._sessions.get(client_id)

    def sessions(self) -> Iterable[ServerSession]:
        return list(self._sessions.values())

    def unavailable(self, messages: list[Message]) -> list[Message]:
        """Replies to a batch the application cannot serve now (:class:`Unavailable`): each message
        unsuccessful, with the connect advice (reconnect: retry), so the client retries with its
        own backoff and keeps its clientId."""
        replies = []
        for message in messages:
            reply = _failure(message, "503::unavailable", advice=self._connect_advice)
            if isinstance(message.get("clientId"), str):
                reply["clientId"] = message["clientId"]
            if message["channel"] in ("/meta/subscribe", "/meta/unsubscribe") and "subscription" in message:
                reply["subscription"] = message["subscription"]
            replies.append(reply)
        return replies

    def remove(self, session: ServerSession, reason: str = "removed") -> None:
        """Drop ``session`` as if it had expired: its next message is answered
        ``402::session_unknown`` with handshake advice, so the client starts over."""
        self._remove(session, reason)

    def _remove(self, session: ServerSession, reason: str) -> None:
        if self._sessions.pop(session.id, None) is None:
            return
        key = _principal_key(session.principal)
        siblings = self._by_principal.get(key)
        if siblings is not None:
            siblings.pop(session.id, None)
            if not siblings:
                del self._by_principal[key]
        session.removed = reason
        self._forget_output(session)
        if session.connect is not None:
            session.connect.wake("removed")
        if reason == "overflow" and session.abort is not None:
            # It reads too slowly to take even the 402: its connection goes, and what the
            # connection still had to write goes with it.
            session.abort()
        elif session.push is not None:
            session.push()
        if self.listener is not None:
            try:
                self.listener.on_removed(session, reason == "expired")
            except Exception:
                log.exception("SessionListener.on_removed failed for %s", session.id)

    def _admit(self, session: ServerSession) -> None:
        """Count ``session`` against its principal's cap; beyond it, that principal's oldest goes."""
        siblings = self._by_principal.setdefault(_principal_key(session.principal), {})
        siblings[session.id] = session
        while len(siblings) > self.settings.max_clients_per_principal:
            oldest = next(iter(siblings.values()))
            log.debug("Bayeux client %s removed: its principal opened too many clients", oldest.id)
            self._remove(oldest, "over_cap")

    def _lookup(self, message: Message, principal: object) -> ServerSession | None:
        """The message's session, if it exists and belongs to the requester. A principal mismatch
        is answered like an unknown client id, so ids of other users' sessions cannot be probed."""
        client_id = message.get("clientId")
        session = self._sessions.get(client_id) if isinstance(client_id, str) else None
        if session is None:
            return None
        if session.principal is not principal and session.principal != principal:
            return None
        return session

    def _allowed(self, check: Callable[..., bool], *args: Any) -> bool:
        try:
            return check(*args) is True
        except Exception:
            log.exception("SecurityPolicy.%s failed; denying", getattr(check, "__name__", "check"))
            return False

    # ----- delivery -----

    def deliver(
        self,
        session: ServerSession,
        channel: str,
        data: msgspec.Raw | bytes | dict[str, Any],
        ext: msgspec.Raw | dict[str, Any] | None = None,
        sequence: int | None = None,
    ) -> bool:
        """Queue ``data`` on ``channel`` for ``session`` if one of its subscriptions matches.

        ``sequence``: the application's number for the message, increasing per session, if it has
        one (it becomes the ack extension's batch id, so a client's acknowledgement names how far it
        got; see ``ack.py``).
        ``data`` given as ``msgspec.Raw`` or ``bytes`` is JSON already and is embedded as-is.
        ``ext`` becomes the delivered message's ``ext`` (``msgspec.Raw``: JSON already). Returns
        whether the message was queued. Delivering the very same ``data`` and ``ext`` objects to
        several sessions in a row encodes the envelope once: the caller must not mutate them.
        """
        if session.removed is not None or session.subscriptions.isdisjoint(channels.patterns(channel)):
            return False
        queued = self._enqueue(session, self._envelope(channel, data, ext))
        if queued and sequence is not None and sequence > session.sequence:
            session.sequence = sequence
        return queued

    def _envelope(
        self,
        channel: str,
        data: msgspec.Raw | bytes | dict[str, Any],
        ext: msgspec.Raw | dict[str, Any] | None,
    ) -> bytes:
        # Identity, not equality: comparing would cost about what encoding costs.
        reusable = isinstance(data, msgspec.Raw | bytes) and (ext is None or isinstance(ext, msgspec.Raw))
        if reusable:
            last = self._last_delivery
            if last is not None and last[1] is data and last[2] is ext and last[0] == channel:
                return last[3]
        payload: object = msgspec.Raw(data) if isinstance(data, bytes) else data
        message: Message = {"channel": channel, "data": payload}
        if ext is not None:
            message["ext"] = ext
        encoded = encode(message)
        if reusable:
            self._last_delivery = (channel, data, ext, encoded)
        return encoded

    def _enqueue(self, session: ServerSession, encoded: bytes) -> bool:
        size = len(encoded)
        memory = self.settings.memory
        held = session.pending_bytes
        if session.pending >= self.settings.max_queue or (held and held + size > memory.max_queue_bytes):
            limit_log.warn(
                "client-overflow",
                "Bayeux client %s dropped: it holds %d messages, %d bytes it has not read "
                "(limits bayeux_max_queue %d, bayeux_max_queue_bytes %d)",
                session.id,
                session.pending,
                held,
                self.settings.max_queue,
                memory.max_queue_bytes,
            )
            self._remove(session, "overflow")
            return False
        if self.held_bytes + size > memory.max_node_queue_bytes:
            self._shed(size)
            if session.removed is not None:
                return False
        session.queue.append(encoded)
        session.queue_bytes += size
        self.held_bytes += size
        if session.push is not None:
            session.push()
        elif session.connect is not None and session.connect.hold:
            session.connect.wake("message")
        return True

    def _shed(self, needed: int) -> None:
        """The server holds too much for its clients together: drop those holding the most (the
        slowest readers) until ``needed`` more bytes fit."""
        limit = self.settings.memory.max_node_queue_bytes
        while self.held_bytes + needed > limit:
            heaviest = max(self._sessions.values(), key=lambda s: s.pending_bytes, default=None)
            if heaviest is None or heaviest.pending_bytes == 0:
                return  # nothing left to shed: one message larger than the budget still goes
            limit_log.warn(
                "node-overflow",
                "Bayeux client %s dropped: it held the most (%d bytes) of the %d bytes held for all "
                "clients (limit bayeux_max_node_queue_bytes %d)",
                heaviest.id,
                heaviest.pending_bytes,
                self.held_bytes,
                limit,
            )
            self._remove(heaviest, "overflow")

    def has_room(self, session: ServerSession, size: int, then: int = 0) -> bool:
        """Whether a message of ``size`` bytes can be queued for ``session`` without dropping it, or
        anyone, and leave room for ``then`` more small ones (what a replay asks before each message,
        so that it can stop with a short notice instead of being dropped and started over)."""
        memory = self.settings.memory
        extra = size + then * ROOM_PER_MESSAGE
        return (
            session.pending + 1 + then <= self.settings.max_queue
            and (session.pending_bytes == 0 or session.pending_bytes + extra <= memory.max_queue_bytes)
            and self.held_bytes + extra <= memory.max_node_queue_bytes
        )

    def _forget_output(self, session: ServerSession) -> None:
        """Everything queued or unacknowledged for ``session`` is dropped."""
        self.held_bytes -= session.pending_bytes
        session.queue.clear()
        session.queue_bytes = 0
        if session.ack is not None:
            session.ack.reset(session.ack.batch)

    def _take_queue(self, session: ServerSession) -> tuple[list[bytes], int]:
        """The queued messages and their size; the queue is left empty."""
        taken, size = session.queue, session.queue_bytes
        session.queue = []
        session.queue_bytes = 0
        return taken, size

    # ----- incoming messages -----

    def handle(
        self, messages: list[Message], principal: object, transport: str, browser: str | None
    ) -> list[Reply]:
        """Process a batch in order. Messages must be dicts with a string ``channel``."""
        ts = timesync.now_ms()
        replies: list[Reply] = []
        for message in messages:
            channel: str = message["channel"]
            handler = self._meta.get(channel)
            if handler is not None:
                reply = handler(message, principal, transport, browser, ts)
            elif channels.is_meta(channel):
                reply = _failure(message, "400::unknown_meta_channel")
            else:
                reply = self._publish(message, principal)
            if isinstance(reply, dict):
                sync = timesync.received(message.get("ext"), ts)
                if sync is not None:
                    reply.setdefault("ext", {})["timesync"] = timesync.reply(sync)
            replies.append(reply)
        return replies

    def _handshake(
        self, message: Message, principal: object, transport: str, browser: str | None, ts: int
    ) -> Reply:
        offered = message.get("supportedConnectionTypes")
        if not isinstance(offered, list) or not any(t in self._types for t in offered):
            return _failure(
                message,
                "400::unsupported_connection_types",
                supportedConnectionTypes=self._types,
                advice=REFUSED_ADVICE,
            )
        version = message.get("version")
        if version is not None and (not isinstance(version, str) or not version.startswith("1")):
            return _failure(message, "400::version_unsupported", version="1.0", advice=REFUSED_ADVICE)
        if not self._allowed(self.policy.can_handshake, principal, message):
            return _failure(message, "403::handshake_denied", advice=REFUSED_ADVICE)
        ext = message.get("ext")
        ack = isinstance(ext, dict) and ext.get("ack") is True
        session = ServerSession(secrets.token_hex(16), principal, ack, time.monotonic())
        session.transport = transport
        self._sessions[session.id] = session
        self._admit(session)
        extra: dict[str, Any] | None = None
        if self.listener is not None:
            try:
                extra = self.listener.on_handshake(session, message)
            except Exception:
                log.exception("SessionListener.on_handshake failed for %s", session.id)
        if session.ack is not None:
            # Batch ids are the application's sequence when it has one: a client's first
            # acknowledgement must name where it starts, never 0 ("everything after the beginning"),
            # or a cluster node rebuilding the client from that acknowledgement replays the
            # agent's whole retained history (realtime/shared_clients.py).
            session.ack.reset(session.sequence)
        reply = _reply(
            message,
            True,
            version="1.0",
            minimumVersion="1.0",
            supportedConnectionTypes=self._types,
            clientId=session.id,
            advice=self._handshake_advice,
        )
        reply_ext: Message = {"ack": True} if ack else {}
        if extra:
            reply_ext.update(extra)
        if reply_ext:
            reply["ext"] = reply_ext
        return reply

    def _connect(
        self, message: Message, principal: object, transport: str, browser: str | None, ts: int
    ) -> Reply:
        session = self._lookup(message, principal)
        if session is None:
            return _failure(message, "402::session_unknown", advice=UNKNOWN_ADVICE)
        ext = message.get("ext")
        if session.ack is not None and isinstance(ext, dict):
            batch = ext.get("ack")
            if isinstance(batch, int) and not isinstance(batch, bool):
                self.held_bytes -= session.ack.acknowledge(batch)
        connect = Connect(session, message, transport, browser, timesync.received(ext, ts))
        previous = session.connect
        session.connect = connect
        session.transport = transport
        if transport == LONG_POLLING:
            session.push = None
        if previous is not None:
            # A client holds one connect at a time; a new one means it gave up on the old one
            # (CometD issue 511): answer the old one now, empty, and let the new one carry messages.
            previous.wake("superseded")
        advice = message.get("advice")
        timeout = advice.get("timeout") if isinstance(advice, dict) else None
        if not session.connected or session.has_output() or timeout == 0:
            return connect
        if transport == LONG_POLLING and browser is not None:
            holders = self._browser_holds.get(browser, 0)
            if previous is not None and previous.hold and previous.browser == browser:
                holders -= 1
            if holders > 0:
                connect.multiple_clients = True
                return connect
            self._browser_holds[browser] = self._browser_holds.get(browser, 0) + 1
        connect.hold = True
        return connect

    def hold(self, connect: Connect, waker: Callable[[], None]) -> None:
        """Start holding ``connect``: ``waker`` is called once when it must be answered."""
        connect.start(waker)
        if connect.reason is None:
            self._hold_timeouts.add(connect)

    def finish_connect(self, connect: Connect) -> list[bytes]:
        """The encoded messages answering ``connect`` (queued data first, then the reply)."""
        session = connect.session
        connect.stop()
        self._hold_timeouts.discard(connect)
        if connect.hold:
            connect.hold = False
            if connect.transport == LONG_POLLING and connect.browser is not None:
                left = self._browser_holds.get(connect.browser, 1) - 1
                if left > 0:
                    self._browser_holds[connect.browser] = left
                else:
                    self._browser_holds.pop(connect.browser, None)
        if session.connect is connect:
            session.connect = None
            session.last_active = time.monotonic()
        message = connect.message
        if session.removed == "disconnect":
            return [encode(_reply(message, True, clientId=session.id, advice=REFUSED_ADVICE))]
        if session.removed == "released":  # another server serves the client now: it connects again
            return [encode(_reply(message, True, clientId=session.id))]
        if session.removed is not None:
            return [encode(_failure(message, "402::session_unknown", advice=UNKNOWN_ADVICE))]
        if connect.reason == "gone":
            return []  # the connection is closed: keep the queue for the client's next connect
        reply = _reply(message, True, clientId=session.id)
        out: list[bytes] = []
        ext: Message = {}
        if connect.reason != "superseded":
            fresh, size = self._take_queue(session)
            if fresh:
                connect.sequence = session.sequence
            if session.ack is not None:
                batch, out = session.ack.take(fresh, session.sequence, size)  # still held until acked
                ext["ack"] = batch
            else:
                out = fresh
                self.held_bytes -= size
        if connect.multiple_clients:
            reply["advice"] = self._multiple_clients_advice
        elif not session.connected:
            reply["advice"] = self._connect_advice
        session.connected = True
        if connect.sync is not None:
            ext["timesync"] = timesync.reply(connect.sync)
        if ext:
            reply["ext"] = ext
        out.append(encode(reply))
        return out

    def empty_connect_reply(self, connect: Connect) -> bytes:
        """A successful reply carrying nothing, not even a batch id: what a cluster node sends when
        the messages it had for the client may be stale (the client's state changed elsewhere)."""
        return encode(_reply(connect.message, True, clientId=connect.session.id))

    def adopt(
        self, client_id: str, principal: object, ack: bool, subscriptions: Iterable[str], connected: bool
    ) -> ServerSession:
        """Take on a client handshaken elsewhere (another node of a cluster): its state comes from
        where the cluster keeps it, not from a handshake here."""
        session = ServerSession(client_id, principal, ack, time.monotonic())
        session.subscriptions.update(subscriptions)
        session.connected = connected
        self._sessions[client_id] = session
        return session

    def reset_output(self, session: ServerSession, sequence: int) -> None:
        """Drop everything queued or unacknowledged: the application re-sends from ``sequence``."""
        self._forget_output(session)
        session.sequence = sequence
        if session.ack is not None:
            session.ack.reset(sequence)

    def drain(self, session: ServerSession, max_bytes: int | None = None) -> list[bytes]:
        """Queued messages, for a transport that pushes them outside connect replies: at most
        ``max_bytes`` of them (at least one), the rest staying queued, so a transport that takes them
        only as fast as its client reads leaves the backlog where the limits see it."""
        if max_bytes is None or session.queue_bytes <= max_bytes:
            out, size = self._take_queue(session)
        else:
            queue = session.queue
            count, size = 0, 0
            while count < len(queue) and (count == 0 or size + len(queue[count]) <= max_bytes):
                size += len(queue[count])
                count += 1
            out = queue[:count]
            del queue[:count]
            session.queue_bytes -= size
        self.held_bytes -= size
        return out

    def _subscription(self, message: Message) -> list[str] | None:
        value = message.get("subscription")
        if isinstance(value, str):
            return [value]
        if isinstance(value, list) and value and all(isinstance(c, str) for c in value):
            return value
        return None

    def _subscription_target(
        self, message: Message, principal: object
    ) -> tuple[ServerSession, list[str], dict[str, Any]] | Reply:
        """What /meta/subscribe and /meta/unsubscribe share: the channels asked for and the session,
        or the failure reply when either is missing."""
        echo = {"subscription": message.get("subscription")}
        wanted = self._subscription(message)
        if wanted is None:
            return _failure(message, "400::subscription_missing", **echo)
        session = self._lookup(message, principal)
        if session is None:
            return _failure(message, "402::session_unknown", advice=UNKNOWN_ADVICE, **echo)
        return session, wanted, echo

    def _subscribe(
        self, message: Message, principal: object, transport: str, browser: str | None, ts: int
    ) -> Reply:
        target = self._subscription_target(message, principal)
        if not isinstance(target, tuple):
            return target
        session, wanted, echo = target
        memory = self.settings.memory
        for channel in wanted:
            if len(channel) > memory.max_channel_length:
                return _failure(message, "400::channel_too_long", clientId=session.id, **echo)
            if not channels.is_valid(channel):
                return _failure(message, "400::channel_invalid", clientId=session.id, **echo)
            if channels.is_meta(channel):
                return _failure(message, "403::channel_forbidden", clientId=session.id, **echo)
            if not self._allowed(self.policy.can_subscribe, session, channel):
                return _failure(message, "403::subscribe_denied", clientId=session.id, **echo)
        added = len({channel for channel in wanted if channel not in session.subscriptions})
        over = self._subscriptions_over_limit(session, added)
        if over is not None:
            limit_log.warn(
                "subscriptions",
                "Bayeux client %s refused %d more subscriptions: %s",
                session.id,
                added,
                over,
            )
            return _failure(message, "403::too_many_subscriptions", clientId=session.id, **echo)
        for channel in wanted:
            if channel not in session.subscriptions:
                session.subscriptions.add(channel)
                if self.listener is not None:
                    try:
                        self.listener.on_subscribe(session, channel)
                    except Exception:
                        log.exception("SessionListener.on_subscribe failed for %s", session.id)
        return _reply(message, True, clientId=session.id, **echo)

    def _subscriptions_over_limit(self, session: ServerSession, added: int) -> str | None:
        """Which limit ``added`` more subscriptions of ``session`` would exceed, if any."""
        memory = self.settings.memory
        if not added:
            return None
        if len(session.subscriptions) + added > memory.max_subscriptions_per_client:
            return f"the client would hold more than {memory.max_subscriptions_per_client} (limit bayeux_max_subscriptions_per_client)"
        siblings = self._by_principal.get(_principal_key(session.principal), {})
        held = sum(len(sibling.subscriptions) for sibling in siblings.values())
        if held + added > memory.max_subscriptions_per_principal:
            return f"its user's clients would hold more than {memory.max_subscriptions_per_principal} (limit bayeux_max_subscriptions_per_user)"
        return None

    def _unsubscribe(
        self, message: Message, principal: object, transport: str, browser: str | None, ts: int
    ) -> Reply:
        target = self._subscription_target(message, principal)
        if not isinstance(target, tuple):
            return target
        session, wanted, echo = target
        session.subscriptions.difference_update(wanted)
        return _reply(message, True, clientId=session.id, **echo)

    def _disconnect(
        self, message: Message, principal: object, transport: str, browser: str | None, ts: int
    ) -> Reply:
        session = self._lookup(message, principal)
        if session is None:
            return _failure(message, "402::session_unknown", advice=UNKNOWN_ADVICE)
        self._remove(session, "disconnect")
        return _reply(message, True, clientId=session.id)

    def _publish(self, message: Message, principal: object) -> Message:
        channel: str = message["channel"]
        if not channels.is_valid(channel) or channels.is_wild(channel):
            return _failure(message, "400::channel_invalid")
        session = self._lookup(message, principal)
        if session is None:
            return _failure(message, "402::session_unknown", advice=UNKNOWN_ADVICE)
        if not self._allowed(self.policy.can_publish, session, channel, message):
            return _failure(message, "403::publish_denied")
        if not channels.is_service(channel):
            encoded = encode({"channel": channel, "data": message.get("data")})
            wanted = channels.patterns(channel)
            for target in list(self._sessions.values()):
                if not target.subscriptions.isdisjoint(wanted):
                    self._enqueue(target, encoded)
        return _reply(message, True)
