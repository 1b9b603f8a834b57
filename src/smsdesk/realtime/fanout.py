"""Fan-out: read committed notifications from the outbox in order and hand each to the Bayeux
sessions of its agent. The bus only says "there is something after position N"; the outbox is the
truth, so a missed poke delays a notification until the next one, and never loses it.

Every delivered notification carries its outbox position (``ext.smsdesk.position``). A client that
re-handshakes with ``ext.smsdesk.resume = <last position it saw>`` gets, when it subscribes, what it
missed, replayed from the outbox in order and exactly once, ahead of anything live; or, when those
rows were pruned already, a ``NotificationGap`` message telling it to re-read its state
(docs/gws-compatibility.md, "Resuming notifications").

Ordering and exactly-once rest on one number per Bayeux session, its **watermark**: every row of
the agent up to it has been dealt with for that session (delivered, or not subscribed to). Live
fan-out delivers a row only to sessions that are ``live`` and below it; a replay holds its session
out of live delivery (``live`` false), catches up from the table and only switches back once the
live cursor is not ahead of it. Nothing awaits between that check and the switch, so no row can be
both replayed and fanned out, nor fall between the two.

While the database is away (``StorageUnavailable``) the fan-out keeps its cursor and every session
its watermark; reads are retried until the database is back, and the fan-out then carries on from
where it was, so nothing committed before or after a failover is skipped or sent twice. When its
LISTEN connection comes back (a failover moves it to the new primary), the fan-out first checks that
the database's outbox head is not *behind* what it already delivered: a primary promoted without the
commits it had acknowledged (an asynchronous standby) would hand those positions out again. Then it
drops every Bayeux client it serves (``402::session_unknown``), so that desktops re-handshake with
their resume token and are told to re-read (``NotificationGap``), rather than skip or duplicate.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import msgspec

from smsdesk.bayeux import BayeuxServer, ServerSession, channels
from smsdesk.operations.background import UNAVAILABLE_RETRY_S, BackgroundLoop
from smsdesk.operations.ports import StorageUnavailable, Store, StoredNotification, User
from smsdesk.realtime.recent_rows import RecentRows

log = logging.getLogger("smsdesk.fanout")

EXT = "smsdesk"
"""Our key in Bayeux ``ext`` objects (GWS clients ignore unknown ``ext`` entries)."""

GAP_CHANNELS = ("/v2/me/smssessions", "/v2/me/channels")
"""Where a gap is announced: the client sees it on whichever of its topics it subscribed to."""

_STATE = "smsdesk.delivery"


def position_ext(position: int) -> msgspec.Raw:
    """``{"smsdesk":{"position":N}}``, encoded once per row and shared by all its recipients."""
    return msgspec.Raw(b'{"smsdesk":{"position":%d}}' % position)


_POSITION_MAX = 2**63 - 1


def resume_token(message: dict[str, Any]) -> int | None:
    """``ext.smsdesk.resume`` of a handshake, if it is a non-negative integer."""
    ext = message.get("ext")
    ours = ext.get(EXT) if isinstance(ext, dict) else None
    value = ours.get("resume") if isinstance(ours, dict) else None
    # Positions are signed 64-bit database integers: a larger token could never be served and
    # would not even fit a query parameter, so it is ignored like any other invalid token.
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= _POSITION_MAX:
        return value
    return None


@dataclass(eq=False)
class _Delivery:
    """What fan-out and replay know about one Bayeux session of an agent."""

    session: ServerSession
    user_id: str
    watermark: int
    """Every row of the agent at or below this position has been dealt with for this session."""
    resume: int | None
    """Where the replay on the first subscription starts: the client's resume token, or in a
    cluster its handshake position; None for a client that asked for none (no replay, as GWS)."""
    live: bool
    """Whether live fan-out delivers to the session; false while a replay or backfill runs."""
    token: bool = False
    """Whether ``resume`` is the client's own resume token (not its handshake position)."""
    started: bool = False
    """Whether the first replay was started (on the first subscription)."""
    checked: bool = False
    """Whether the resume token was checked against the retention window (once per session)."""
    backfills: list[tuple[str, frozenset[str], int]] = field(default_factory=list)
    """Subscriptions made after the replay had passed ``resume``: (channel, the session's other
    subscriptions then, watermark then). Rows of that channel between ``resume`` and that watermark
    that no other subscription matched were never sent, and are sent by the backfill."""
    task: asyncio.Task[None] | None = None


class Fanout:
    """Also the Bayeux session listener: it keeps the index agent → that agent's Bayeux sessions,
    reads resume tokens, and runs replays."""

    def __init__(
        self,
        store: Store,
        batch_size: int = 1_000,
        retention_s: float = 600.0,
        prune_interval_s: float = 30.0,
        catch_up_s: float | None = None,
        replay_from_handshake: bool = False,
    ) -> None:
        self.store = store
        # A cluster (realtime/shared_clients.py) records a fresh client as having everything up to
        # its handshake position, and any node that rebuilds the client replays from there. The
        # node that handshook it must do the same: going live at once would pass over the rows
        # committed before its subscription, so whether the client got them would depend on which
        # node its subscribe and first connect happened to reach.
        self.replay_from_handshake = replay_from_handshake
        self.batch_size = batch_size
        self.retention_s = retention_s
        self.server: BayeuxServer | None = None
        self.cursor = 0
        # Told the position up to which rows were handed to their Bayeux sessions (metrics).
        self.on_delivered: Callable[[int], None] | None = None
        # Told when the database's outbox head went back below the cursor (shared_clients.py).
        self.on_positions_reset: Callable[[], Awaitable[None]] | None = None
        self._verify_head = False
        """Whether the next drain first compares the database's head with the cursor (reconnected)."""
        self.positions_resets = 0
        self._sessions_by_user: dict[str, set[_Delivery]] = {}
        self.recent = RecentRows()
        # catch_up_s: in a cluster, pokes come over the network and one may be lost; reading the
        # outbox on a timer as well bounds the delay that would cause.
        self._loop = BackgroundLoop("smsdesk-fanout", self.drain, catch_up_s, log)
        self._pruner = BackgroundLoop("smsdesk-outbox-prune", self.prune, prune_interval_s, log)

    # ----- SessionListener -----

    def on_handshake(self, session: ServerSession, message: dict[str, Any]) -> dict[str, Any] | None:
        principal = session.principal
        if not isinstance(principal, User):
            return None
        resume = resume_token(message)
        token = resume is not None
        if resume is None and self.replay_from_handshake:
            resume = self.cursor
        # Without a token the session is live at once, from the current cursor: a subscription made
        # later catches every row fanned out after it (the subscribe/publish race, R8). With one,
        # nothing goes out live until the replay on subscribe has caught up.
        state = _Delivery(
            session,
            principal.id,
            watermark=self.cursor if resume is None else resume,
            resume=resume,
            live=resume is None,
            token=token,
        )
        session.attributes[_STATE] = state
        session.sequence = state.watermark
        self._sessions_by_user.setdefault(principal.id, set()).add(state)
        return {EXT: {"position": self.cursor}}

    def start_after(self, session: ServerSession, position: int) -> int:
        """A new client starts after ``position`` when that is later than the cursor it was given at
        its handshake (what the database had committed then, which this node's fan-out had not all
        read yet): its first subscription replays from there. Returns where it starts."""
        state: _Delivery | None = session.attributes.get(_STATE)
        if (
            state is None
            or state.token
            or state.started
            or state.resume is None
            or position <= state.watermark
        ):
            return self.position_of(session)
        state.watermark = state.resume = position
        if self.server is not None:
            # The ack extension's batch id too (nothing is queued yet): a first connect answered
            # empty here acknowledges where the client starts, and a node that takes the client over
            # from that acknowledgement must not replay what came before it.
            self.server.reset_output(session, position)
        else:
            session.sequence = position
        return position

    def resumes_from_token(self, session: ServerSession) -> bool:
        state: _Delivery | None = session.attributes.get(_STATE)
        return state is not None and state.token

    def position_of(self, session: ServerSession) -> int:
        """Every notification of the session's agent up to here has been dealt with for it."""
        state: _Delivery | None = session.attributes.get(_STATE)
        return state.watermark if state is not None else self.cursor

    async def resync(self, session: ServerSession, start: int) -> None:
        """Rebuild what ``session`` has to send from the outbox, after ``start``: a cluster node's copy
        of a client served elsewhere since (``realtime/shared_clients.py``). Returns once the copy is
        caught up and live, so a connect handled next finds the messages queued."""
        server = self.server
        principal = session.principal
        assert server is not None and isinstance(principal, User)
        state: _Delivery | None = session.attributes.get(_STATE)
        if state is None:
            state = _Delivery(session, principal.id, watermark=start, resume=start, live=False)
            session.attributes[_STATE] = state
            self._sessions_by_user.setdefault(principal.id, set()).add(state)
        if state.task is not None:
            state.task.cancel()
            state.task = None
        state.watermark, state.resume, state.live = start, start, False
        state.started, state.checked = True, False
        state.backfills.clear()
        server.reset_output(session, start)
        await self._replay(state, retry=False)

    def on_subscribe(self, session: ServerSession, channel: str) -> None:
        state: _Delivery | None = session.attributes.get(_STATE)
        if state is None or state.resume is None:
            return  # no resume token: subscriptions are matched by the Bayeux server at delivery
        if not state.started:
            # The replay task runs after this batch of messages is handled, so every channel
            # subscribed in the same request is covered by it, in one commit-ordered stream.
            state.started = True
        elif state.watermark > state.resume:
            state.backfills.append((channel, frozenset(session.subscriptions - {channel}), state.watermark))
            state.live = False  # hold live rows of the new channel until its older ones are sent
        else:
            return
        if state.task is None:
            state.task = asyncio.get_running_loop().create_task(
                self._replay(state), name=f"smsdesk-replay-{session.id}"
            )

    def on_removed(self, session: ServerSession, expired: bool) -> None:
        state: _Delivery | None = session.attributes.pop(_STATE, None)
        if state is None:
            return
        if state.task is not None:
            state.task.cancel()
            state.task = None
        states = self._sessions_by_user.get(state.user_id)
        if states is not None:
            states.discard(state)
            if not states:
                del self._sessions_by_user[state.user_id]

    # ----- live delivery -----

    def committed(self, position: int | None, rows: Sequence[StoredNotification] | None) -> None:
        """The store's commit listener: rows up to ``position`` are committed. When the store hands
        the newest of them over and nothing lies between the cursor and them, they are delivered now,
        without reading the table; otherwise the drain reads what is missing."""
        if self.server is None:
            return
        if position is None:
            self._loop.wake()
            return
        if position <= self.cursor:
            return
        if rows and rows[0].position <= self.cursor + 1:
            self._deliver(rows)
            if self.cursor >= position:
                return
        self._loop.wake()

    def catch_up(self) -> None:
        self._loop.wake()

    def reconnected(self) -> None:
        """The LISTEN connection came back, maybe on another server (a failover): read what was
        missed, after checking that the database still has everything this node delivered."""
        self._verify_head = True
        self._loop.wake()

    async def start(self, server: BayeuxServer) -> None:
        self.server = server
        self.cursor = await self.store.outbox.last_position()
        self._loop.start()

    def start_pruning(self) -> None:
        """Pruning is background work: one node of a cluster runs it (docs/architecture.md §9)."""
        self._pruner.start()

    async def stop_pruning(self) -> None:
        await self._pruner.stop()

    async def stop(self) -> None:
        await self._pruner.stop()
        await self._loop.stop()
        for states in list(self._sessions_by_user.values()):
            for state in list(states):
                if state.task is not None:
                    state.task.cancel()
                    state.task = None

    async def drain(self) -> None:
        if self._verify_head:
            head = await self.store.outbox.last_position()
            self._verify_head = False
            if head < self.cursor:
                await self._positions_went_back(head)
        while True:
            rows = await self.store.outbox.after(self.cursor, self.batch_size)
            self._deliver(rows)
            if len(rows) < self.batch_size:
                return

    def _deliver(self, rows: Sequence[StoredNotification]) -> None:
        """Hand committed rows, in order, to the live sessions of their agents. Rows at or below the
        cursor were delivered already (a commit's rows handed over while a read was in flight).
        Synchronous: never awaits a client, so a slow or dead one only fills its own queue (and is
        dropped at bayeux_max_queue)."""
        server = self.server
        assert server is not None
        cursor = self.cursor
        for row in rows:
            if row.position <= cursor:
                continue
            self.recent.add(row)
            states = self._sessions_by_user.get(row.user_id)
            if states:
                data = msgspec.Raw(row.payload)
                ext = position_ext(row.position)
                for state in tuple(states):
                    if state.live and row.position > state.watermark:
                        server.deliver(state.session, row.channel, data, ext, row.position)
                        state.watermark = row.position
            cursor = row.position
        if cursor > self.cursor:
            self.cursor = cursor
            if self.on_delivered is not None:
                self.on_delivered(cursor)

    async def _positions_went_back(self, head: int) -> None:
        """The database's outbox ends before what this node delivered: commits it acknowledged are
        gone, and their positions will be handed out again. Every client starts over."""
        log.warning(
            "the database's outbox ends at position %d, but this node already delivered up to %d: the "
            "primary lost commits it had acknowledged (a standby promoted without them; see "
            "docs/scaling.md, 'Failover'). Dropping this node's Bayeux clients so that desktops "
            "re-handshake and re-read their state",
            head,
            self.cursor,
        )
        self.positions_resets += 1
        self.recent.clear()  # its rows' positions are about to be handed out again
        if self.on_positions_reset is not None:
            # First in the database, so that no node rebuilds a client from a position now reused.
            await self.on_positions_reset()
        self.cursor = head
        server = self.server
        if server is not None:
            for states in list(self._sessions_by_user.values()):
                for state in list(states):
                    server.remove(state.session, "positions_reset")

    # ----- replay -----

    async def _replay(self, state: _Delivery, retry: bool = True) -> None:
        """Replay, retrying while the database is away (``retry``) or letting its absence be
        raised (a rebuild inside a request: the request is answered "try again")."""
        while True:
            try:
                await self._replay_once(state)
                return
            except StorageUnavailable:
                if not retry:
                    raise
                log.debug("replay for Bayeux session %s waits for the database", state.session.id)
                await asyncio.sleep(UNAVAILABLE_RETRY_S)
                if state.session.removed is not None:
                    state.task = None
                    return

    async def _replay_once(self, state: _Delivery) -> None:
        try:
            if not state.checked:
                if state.resume is None or not self.recent.covers(state.resume):
                    await self._check_gap(state)
                state.checked = True
            while True:
                while state.backfills:
                    await self._backfill(state)
                cursor = self.cursor  # every row up to it is committed, so the read below sees it
                if self.recent.covers(state.watermark):
                    rows = self.recent.of_user_after(state.user_id, state.watermark, self.batch_size)
                else:
                    rows = await self.store.outbox.of_user_after(
                        state.user_id, state.watermark, None, self.batch_size
                    )
                if state.backfills:
                    continue  # a subscription came during the read: its older rows go first
                if not self._send(state, rows):
                    return
                if len(rows) == self.batch_size:
                    continue
                state.watermark = max(state.watermark, cursor)
                if self.cursor <= state.watermark and not state.backfills:
                    state.live = True  # no await since the check: live fan-out takes over exactly here
                    state.task = None
                    return
        except (asyncio.CancelledError, StorageUnavailable):
            raise
        except Exception:
            # The client must not believe it is caught up: drop its session, so it re-handshakes
            # (with its resume token) and the replay starts over.
            log.exception("replay failed for Bayeux session %s; dropping it", state.session.id)
            state.task = None
            if self.server is not None:
                self.server.remove(state.session, "failed")

    async def _check_gap(self, state: _Delivery) -> None:
        """Signal a gap if the client's resume token can no longer be served: rows after it were
        pruned, or it is beyond anything this database holds (a restored or different database,
        or commits lost to a power failure under synchronous=NORMAL)."""
        resume = state.resume
        assert resume is not None
        cursor = self.cursor
        oldest = await self.store.outbox.oldest_position()
        # At or below this node's cursor the position exists: only a later one needs the database's.
        last = cursor if resume <= cursor else await self.store.outbox.last_position()
        if oldest - 1 <= resume <= last:
            return
        self._gap(state, "retention" if resume < oldest - 1 else "unknown_position", oldest, cursor)

    def _gap(self, state: _Delivery, reason: str, oldest: int, upto: int) -> None:
        """Tell the client notifications after its token up to ``upto`` are lost to it, and carry on
        from ``upto``: the client re-reads its state (GET /api/v2/me?subresources=*), which reflects
        at least everything up to ``upto``."""
        server = self.server
        assert server is not None and state.resume is not None
        data = {
            "messageType": "NotificationGap",
            "reason": reason,
            "resumeFrom": state.resume,
            "oldestAvailable": oldest,
        }
        ext = position_ext(upto)
        for channel in GAP_CHANNELS:
            server.deliver(state.session, channel, data, ext, upto)
        log.info("notification gap for %s (%s): %d → %d", state.session.id, reason, state.resume, upto)
        state.resume = upto
        state.watermark = upto  # also down, for a token beyond this database's positions
        state.backfills.clear()

    def _send(self, state: _Delivery, rows: list[StoredNotification]) -> bool:
        """Replay ``rows`` above the watermark. Returns False if the session is gone."""
        server = self.server
        assert server is not None
        session = state.session
        for row in rows:
            if session.removed is not None:
                return False
            if not server.has_room(session, len(row.payload), len(GAP_CHANNELS)):
                # A replay longer than the client's queue would drop the session, and the client
                # would come back with the same token forever: send a gap instead.
                self._gap(state, "overflow", row.position, max(self.cursor, rows[-1].position))
                return True
            if row.position > state.watermark:
                server.deliver(
                    session, row.channel, msgspec.Raw(row.payload), position_ext(row.position), row.position
                )
                state.watermark = row.position
        return session.removed is None

    async def _backfill(self, state: _Delivery) -> None:
        server = self.server
        assert server is not None and state.resume is not None
        channel, others, upto = state.backfills[0]
        after = state.resume
        while True:
            rows = await self.store.outbox.of_user_after(state.user_id, after, upto, self.batch_size)
            if not state.backfills or state.backfills[0][2] != upto:
                return  # a gap reset the backfills during the read
            for row in rows:
                patterns = channels.patterns(row.channel)
                if channel in patterns and others.isdisjoint(patterns):
                    server.deliver(
                        state.session,
                        row.channel,
                        msgspec.Raw(row.payload),
                        position_ext(row.position),
                        row.position,
                    )
                after = row.position
            if len(rows) < self.batch_size:
                break
        state.backfills.pop(0)

    # ----- retention -----

    async def prune(self) -> None:
        """Delete rows older than the retention window, a bounded batch per transaction so a commit
        never waits long behind it. Only rows fan-out has passed are candidates."""
        before = int((time.time() - self.retention_s) * 1000)
        pruned = 0
        for _ in range(100):  # at most 500k rows per run; the rest waits for the next one
            batch = await self.store.outbox.prune(before, self.cursor, 5_000)
            pruned += batch
            if batch < 5_000:
                break
            await asyncio.sleep(0)  # let operations commit between batches
        if pruned:
            self.recent.forget_below(await self.store.outbox.oldest_position())
