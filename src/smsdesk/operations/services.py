"""What every operation runs with: the store, settings, URL builder, and the after-commit wiring."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TypeVar

from smsdesk.domain.clock import now_ms
from smsdesk.domain.consent import ConsentKeywords
from smsdesk.domain.model import DomainContext
from smsdesk.domain.userdata import UserDataLimits
from smsdesk.gws.representation import Urls
from smsdesk.operations.ports import Notification, Store, Transaction


@dataclass(frozen=True, slots=True)
class OperationSettings:
    """Named limits of the SMS workflow (documented in docs/settings.md)."""

    offer_timeout_ms: int = 30_000  # an unanswered offer is revoked and routed on after this
    max_sessions_per_agent: int = 5  # routing offers no more than this many live sessions to one agent
    max_text_length: int = 1_600  # the longest agent message (10 concatenated SMS segments)
    user_data_limits: UserDataLimits = field(default_factory=UserDataLimits)
    sms_retry_initial_ms: int = 1_000
    sms_retry_max_ms: int = 60_000
    sms_max_attempts: int = 8
    consent_keywords: ConsentKeywords = field(default_factory=ConsentKeywords)
    service_level_threshold_ms: int = (
        60_000  # live statistics: accepted within this counts for the service level
    )
    password_min_length: int = 8  # the demo's "password" is exactly 8
    default_region: str = ""  # for phone numbers in national format (operations/phone_numbers.py)
    # Presence (operations/presence.py): an agent not seen for presence_offer_ms gets no offers and
    # loses the ones waiting; after presence_away_ms it leaves Ready.
    presence_offer_ms: int = 90_000
    presence_away_ms: int = 1_800_000


def new_session_id() -> str:
    return secrets.token_hex(8).upper()


def new_participant_id() -> str:
    return secrets.token_hex(8).upper()


def new_user_id() -> str:
    return secrets.token_hex(16)


class Services:
    def __init__(self, store: Store, urls: Urls, settings: OperationSettings) -> None:
        self.store = store
        self.urls = urls
        self.settings = settings
        self.on_routing_needed: list[Callable[[str], None]] = []
        self.on_sms_enqueued: list[Callable[[], None]] = []
        self.on_sms_attempt: list[Callable[[str, str], None]] = []  # (connector, accepted|retry|failed)
        self.on_queue_hours_changed: list[Callable[[], None]] = []  # the watch, where it runs

    def domain_context(self) -> DomainContext:
        return DomainContext(
            now_ms=now_ms(),
            new_participant_id=new_participant_id,
            offer_timeout_ms=self.settings.offer_timeout_ms,
        )

    def queue_hours_changed(self) -> None:
        """A queue's opening hours or automatic replies changed (through this node)."""
        for wake_watch in self.on_queue_hours_changed:
            wake_watch()

    def request_routing(self, tenant_id: str) -> None:
        """Routing has something to do in this contact center (wherever the router runs)."""
        for wake_router in self.on_routing_needed:
            wake_router(tenant_id)

    @asynccontextmanager
    async def work(self) -> AsyncIterator[Work]:
        """One transaction. Its before-commit hooks run once the operation is done (they may add
        notifications), then its notifications are appended, last; after the commit, routing and SMS
        sending are woken (the store tells its commit listeners, the fan-out among them, of the
        notifications it appended)."""
        async with self.store.transaction() as tx:
            work = Work(tx)
            yield work
            for hook in work.hooks():
                await hook()
            if work.notifications:
                await tx.outbox.append(work.notifications)
        for tenant_id in work.routing_tenants:
            self.request_routing(tenant_id)
        if work.sms_enqueued:
            for wake_sender in self.on_sms_enqueued:
                wake_sender()


Hook = TypeVar("Hook", bound=Callable[[], Awaitable[None]])


class Work:
    """The pending side effects of one transaction."""

    def __init__(self, tx: Transaction) -> None:
        self.tx = tx
        self.notifications: list[Notification] = []
        self.routing_tenants: set[str] = set()
        self.sms_enqueued = False
        self._hooks: dict[type, Callable[[], Awaitable[None]]] = {}

    def notify(self, notification: Notification) -> None:
        self.notifications.append(notification)

    def before_commit(self, kind: type[Hook], make: Callable[[], Hook]) -> Hook:
        """The transaction's hook of this kind, made on first use: a feature that must act once on
        everything the operation changed (the live statistics of the queues it touched) collects in
        it, and it runs when the operation is done, before the notifications are appended."""
        hook = self._hooks.get(kind)
        if hook is None:
            hook = self._hooks[kind] = make()
        assert isinstance(hook, kind)
        return hook

    def hooks(self) -> list[Callable[[], Awaitable[None]]]:
        return list(self._hooks.values())
