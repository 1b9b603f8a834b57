"""Presence: whether somebody is behind an agent, across every node of a cluster.

An agent is *seen* when any node authenticates a REST request of theirs (Basic or the session
cookie), holds a live Bayeux client of theirs (a long-poll waiting, a websocket open, or a connect
answered lately), or when they sign in or go Ready. Each node notes whom it saw in memory and
writes them to ``agent_presence`` once per flush interval, in one transaction (at most one row per
agent per interval per node, never a write per request). Because the record is in the database,
the rule holds in a cluster without sticky sessions: whichever node served the agent wrote it.

- Not seen for ``presence_offer_ms``: the router offers nothing to the agent (its candidate query
  reads ``agent_presence``), and the leader withdraws the offers waiting for the agent at once (not
  at their timeout), so they are routed to someone who is there.
- Not seen for ``presence_away_ms`` (the HTTP session idle expiry by default): the leader moves
  the agent from Ready to NotReady on the SMS channel with the reason ``SessionExpired``, which the
  agent's channels show (GET /me, StartContactCenterSession's notification) until they choose a
  state again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from smsdesk.domain.agents import SMS_CHANNEL, ChannelState
from smsdesk.domain.clock import now_ms
from smsdesk.domain.session import SmsSession
from smsdesk.operations.agent import notify_channels
from smsdesk.operations.background import BackgroundLoop
from smsdesk.operations.notify import publish_session_change
from smsdesk.operations.ports import Store, User
from smsdesk.operations.services import Services
from smsdesk.operations.statistics import record_agent_state

log = logging.getLogger("smsdesk.presence")

SESSION_EXPIRED = "SessionExpired"
"""The reason on a channel the server moved to NotReady because nobody was behind the agent."""


class PresenceRecorder:
    """This node's part: remembers whom it saw, and writes them down every ``flush_s``; an agent it
    wrote lately is written again only when a third of ``offer_s`` has passed (what routing needs to
    see them as present), so an agent kept in sight costs a row every ``offer_s / 3``, not every
    flush. An agent this node had not written for ``offer_s`` (back after an absence, or new here)
    is announced to routing (``on_back``): offers may go to them now."""

    def __init__(
        self,
        store: Store,
        flush_s: float,
        live_users: Callable[[], Iterable[User]] = tuple,
        offer_s: float = 90.0,
        on_back: Callable[[str], None] | None = None,
    ) -> None:
        self.store = store
        self.live_users = live_users
        """Users with a live Bayeux client on this node (asked at each flush)."""
        self.rewrite_ms = int(offer_s * 1000 / 3)
        self.offer_ms = int(offer_s * 1000)
        self.on_back = on_back
        self._seen: dict[str, str] = {}
        self._written: dict[str, int] = {}
        """When this node last wrote each agent."""
        self._loop = BackgroundLoop("smsdesk-presence-flush", self.flush, flush_s, log)

    def seen(self, user: User) -> None:
        self._seen[user.id] = user.tenant_id

    async def flush(self) -> None:
        seen, self._seen = self._seen, {}
        for user in self.live_users():
            seen[user.id] = user.tenant_id
        now = now_ms()
        due = {u: t for u, t in seen.items() if now - self._written.get(u, 0) >= self.rewrite_ms}
        if not due:
            return
        try:
            async with self.store.transaction() as tx:
                await tx.agents.note_presence(
                    [(tenant_id, user_id) for user_id, tenant_id in due.items()], now
                )
        except BaseException:
            self._seen = {**seen, **self._seen}  # written on the next flush (the database may be away)
            raise
        back = {t for u, t in due.items() if now - self._written.get(u, 0) >= self.offer_ms}
        for user_id in due:
            self._written[user_id] = now
        for user_id, written in list(self._written.items()):
            if now - written >= self.offer_ms:
                del self._written[user_id]  # gone from sight: forgotten, so its return is announced
        if self.on_back is not None:
            for tenant_id in back:
                self.on_back(tenant_id)

    def start(self) -> None:
        self._loop.start()

    async def stop(self) -> None:
        await self._loop.stop()
        try:
            await self.flush()
        except Exception as error:  # shutting down with the database gone: the rest must still stop
            log.warning("could not record presence at shutdown: %s", error)


async def withdraw_offers_to_absent(services: Services) -> int:
    """Offers waiting for agents not seen for ``presence_offer_ms`` go back to routing now."""
    async with services.store.transaction() as tx:
        due = await tx.sessions.offers_to_absent(now_ms() - services.settings.presence_offer_ms)
    withdrawn = 0
    for tenant_id, session_id, user_id in due:
        async with services.work() as work:  # one session per transaction, as routing does
            record = await work.tx.sessions.load(tenant_id, session_id)
            if record is None:
                continue
            session = SmsSession(record)
            session.withdraw_from_absent(user_id)
            if not session.effects:
                continue
            await publish_session_change(services, work, session)
        withdrawn += 1
        log.info(
            "withdrew the offer of SMS session %s from agent %s: nobody is behind it", session_id, user_id
        )
    return withdrawn


async def leave_ready_when_away(services: Services) -> int:
    """Agents Ready on SMS and not seen for ``presence_away_ms`` become NotReady (SessionExpired)."""
    seen_before = now_ms() - services.settings.presence_away_ms
    async with services.store.transaction() as tx:
        due = await tx.agents.ready_absent(seen_before)
    moved = 0
    for tenant_id, user_id in due:
        async with services.work() as work:
            user = await work.tx.users.by_id(tenant_id, user_id)
            channels = {c.channel: c.state for c in await work.tx.agents.channels(user_id)}
            last_seen = await work.tx.agents.last_seen(user_id)
            if user is None or channels.get(SMS_CHANNEL) is not ChannelState.READY:
                continue
            if last_seen is not None and last_seen >= seen_before:
                continue  # came back since the query
            await work.tx.agents.set_channel(
                tenant_id, user_id, SMS_CHANNEL, ChannelState.NOT_READY, SESSION_EXPIRED
            )
            await record_agent_state(services, work, user, ChannelState.NOT_READY.value)
            await notify_channels(work, user, await work.tx.reference_ids.next())
        moved += 1
        log.warning(
            "agent %s left Ready on SMS: nobody behind it (no request, no live notification client) "
            "for %.0f s",
            user.user_name,
            services.settings.presence_away_ms / 1000,
        )
    return moved


class PresenceSweep:
    """The leader's part: withdraws offers from absent agents and moves long-absent agents out of Ready."""

    def __init__(self, services: Services, interval_s: float) -> None:
        self.services = services
        self._loop = BackgroundLoop("smsdesk-presence-sweep", self.sweep, interval_s, log)

    async def sweep(self) -> None:
        await withdraw_offers_to_absent(self.services)
        await leave_ready_when_away(self.services)

    def start(self) -> None:
        self._loop.start()

    async def stop(self) -> None:
        await self._loop.stop()
