"""The Protocols the operations need from adapters (storage, cross-node bus), and the records they pass.

Adapters implement these; ``app.py`` wires them. Operations never import an adapter.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Protocol

from smsdesk.domain.agents import ChannelState
from smsdesk.domain.model import Message, SessionRecord, SupervisionMode
from smsdesk.domain.routing import AgentAvailability
from smsdesk.domain.statistics import FactTotal


class StorageConflict(Exception):
    """The database gave up on a transaction because of a concurrent one (a deadlock, a
    serialization failure). Nothing was written; running the whole operation again is safe."""


@dataclass(frozen=True, slots=True)
class User:
    id: str
    tenant_id: str
    user_name: str
    first_name: str
    last_name: str
    roles: tuple[str, ...]
    enabled: bool
    password_hash: str


@dataclass(frozen=True, slots=True)
class ServiceNumber:
    tenant_id: str
    number: str
    queue: str
    connector: str


@dataclass(frozen=True, slots=True)
class AgentChannel:
    channel: str
    state: ChannelState
    reason: str | None = None
    """Why the server, not the agent, put the channel in this state (e.g. ``SessionExpired``)."""


@dataclass(frozen=True, slots=True)
class Notification:
    """One outbox row: a notification for one user on one topic, already encoded as JSON."""

    tenant_id: str
    user_id: str
    channel: str
    payload: bytes


@dataclass(frozen=True, slots=True)
class StoredNotification:
    position: int
    user_id: str
    channel: str
    payload: bytes


@dataclass(frozen=True, slots=True)
class StoredHttpSession:
    """What the database keeps of a JSESSIONID session once its cookie has come back."""

    id: str
    user_id: str
    tenant_id: str
    created_ms: int
    last_seen_ms: int
    ended_ms: int | None


@dataclass(frozen=True, slots=True)
class StoredBayeuxClient:
    """A Bayeux client as a cluster keeps it (docs/architecture.md §9)."""

    id: str
    user_id: str
    tenant_id: str
    ack: bool
    subscriptions: tuple[str, ...]
    version: int
    """Bumped by every subscription change: a node holding an older copy must not answer from it."""
    delivered: int
    """The highest outbox position handed to the client in a reply."""
    connected: bool
    last_seen_ms: int


@dataclass(frozen=True, slots=True)
class OutboundRecord:
    id: int
    tenant_id: str
    session_id: str
    message_index: int
    service_number: str
    customer_number: str
    text: str
    status: str
    attempts: int
    next_attempt_ms: int
    provider_message_id: str | None
    error: str | None
    encoding: str = "GSM-7"
    segments: int = 1
    error_code: str | None = None
    connector: str | None = None


@dataclass(frozen=True, slots=True)
class Monitoring:
    """A supervisor watching an agent (GWS Monitor / Coach / BargeIn on the agent's smssession channel)."""

    tenant_id: str
    agent_id: str
    supervisor_id: str
    mode: SupervisionMode
    next_chat_only: bool  # supervisorMonitoringMode NextChat: stops after the agent's next session
    created_ms: int
    nickname: str | None = None  # how the supervisor appears in the sessions they join


@dataclass(frozen=True, slots=True)
class Fact:
    """Something that happened in a contact center, stored with the change that made it happen;
    the live statistics are computed from these."""

    tenant_id: str
    queue: str
    kind: str
    at_ms: int
    session_id: str | None = None
    user_id: str | None = None
    detail: str | None = None
    duration_ms: int | None = None


@dataclass(frozen=True, slots=True)
class UserDataAuditEntry:
    """One user-data key changed: from ``old`` to ``new`` (JSON text; None = absent)."""

    tenant_id: str
    session_id: str
    version: int
    key: str
    operation: str
    user_id: str | None
    old_value: str | None
    new_value: str | None
    changed_ms: int


class Transaction(Protocol):
    """Everything one operation reads and writes; committed together or not at all."""

    # users and tenants
    async def user_by_name(self, user_name: str) -> User | None: ...
    async def user_by_id(self, tenant_id: str, user_id: str) -> User | None: ...
    async def users(self, tenant_id: str | None = None) -> list[User]: ...
    async def insert_user(self, user: User) -> None: ...
    async def set_password_hash(self, user_id: str, password_hash: str) -> None: ...
    async def ensure_tenant(self, tenant_id: str, name: str) -> None: ...
    async def tenant_by_name(self, name: str) -> str | None: ...
    async def next_reference_id(self, user_id: str) -> int: ...

    # queues and numbers
    async def queue_exists(self, tenant_id: str, name: str) -> bool: ...
    async def ensure_queue(self, tenant_id: str, name: str, members: Sequence[str]) -> None: ...
    async def service_number(self, number: str) -> ServiceNumber | None: ...
    async def ensure_service_number(self, number: ServiceNumber) -> None: ...

    # agent channels
    async def agent_channels(self, user_id: str) -> list[AgentChannel]: ...
    async def set_agent_channel(
        self, tenant_id: str, user_id: str, channel: str, state: ChannelState, reason: str | None = None
    ) -> None: ...
    async def clear_agent_channels(self, user_id: str) -> None: ...
    async def routing_candidates(
        self, tenant_id: str, queue: str, capacity: int, seen_since_ms: int
    ) -> list[AgentAvailability]:
        """The queue's agents logged in on SMS; only those seen since ``seen_since_ms`` count as Ready."""
        ...

    # presence (docs/architecture.md §7)
    async def note_presence(self, seen: Sequence[tuple[str, str]], now_ms: int) -> None:
        """Agents ``(tenant_id, user_id)`` seen at ``now_ms``."""
        ...

    async def last_seen(self, user_id: str) -> int | None: ...
    async def offers_to_absent(self, seen_before_ms: int) -> list[tuple[str, str, str]]:
        """``(tenant_id, session_id, user_id)`` of offers waiting for agents not seen since then."""
        ...

    async def ready_absent_agents(self, seen_before_ms: int) -> list[tuple[str, str]]:
        """``(tenant_id, user_id)`` of agents Ready on SMS and not seen since then."""
        ...

    async def note_offer(self, user_id: str, now_ms: int) -> None: ...

    # sessions
    async def load_session(self, tenant_id: str, session_id: str) -> SessionRecord | None: ...
    async def open_session_for(
        self, tenant_id: str, service_number: str, customer_number: str
    ) -> SessionRecord | None: ...
    async def save_session(
        self, record: SessionRecord, next_deadline_ms: int | None, parties_changed: bool = True
    ) -> None: ...
    async def append_messages(self, session_id: str, messages: Sequence[Message]) -> None: ...
    async def messages(self, session_id: str, start_index: int, count: int) -> list[Message]: ...
    async def sessions_of_user(self, tenant_id: str, user_id: str) -> list[SessionRecord]: ...
    async def waiting_sessions(self, tenant_id: str, queue: str | None) -> list[str]: ...
    async def unoffered_sessions(self, tenant_id: str) -> list[tuple[str, str]]:
        """(id, queue) of the waiting sessions with no invitation out, oldest first."""
        ...

    async def sessions_with_expired_offers(self, now_ms: int) -> list[tuple[str, str]]: ...

    # HTTP sessions
    async def cluster_secret(self, name: str, proposed: str) -> str: ...
    async def http_session(self, session_id: str) -> StoredHttpSession | None: ...
    async def insert_http_session(self, session: StoredHttpSession, max_per_user: int) -> None: ...
    async def touch_http_session(self, session_id: str, now_ms: int) -> None: ...
    async def end_http_session(self, session: StoredHttpSession, now_ms: int) -> None: ...
    async def end_http_sessions_of_user(self, user_id: str, now_ms: int) -> None: ...
    async def prune_http_sessions(self, created_before_ms: int) -> None: ...

    # sign-in throttling (operations/signin_throttle.py)
    async def lock_signin_pair(self, user_name: str, address: str) -> str | None:
        """The pair's stored state, its row locked until the transaction ends (None: none yet)."""
        ...

    async def signin_pair(self, user_name: str, address: str) -> str | None: ...
    async def save_signin_pair(self, user_name: str, address: str, state: str, now_ms: int) -> None: ...
    async def forget_signin_pair(self, user_name: str, address: str) -> None: ...
    async def prune_signin_pairs(self, updated_before_ms: int) -> None: ...

    # notifications (the outbox)
    async def append_notifications(self, notifications: Sequence[Notification]) -> int: ...

    # SMS
    async def record_inbound_id(self, connector: str, provider_message_id: str) -> bool: ...
    async def enqueue_outbound(
        self,
        tenant_id: str,
        session_id: str,
        message_index: int,
        service_number: str,
        customer_number: str,
        text: str,
        now_ms: int,
        encoding: str,
        segments: int,
    ) -> int: ...
    async def due_outbound(self, now_ms: int, limit: int) -> list[OutboundRecord]: ...
    async def update_outbound(
        self,
        outbound_id: int,
        *,
        status: str,
        attempts: int,
        next_attempt_ms: int,
        provider_message_id: str | None,
        error: str | None,
        error_code: str | None = None,
        connector: str | None = None,
    ) -> None: ...
    async def outbound(self, outbound_id: int) -> OutboundRecord | None: ...
    async def outbound_by_provider_id(
        self, connector: str, provider_message_id: str
    ) -> OutboundRecord | None: ...
    async def outbound_of_session(self, session_id: str) -> list[OutboundRecord]: ...
    async def opted_out(self, service_number: str, customer_number: str) -> bool: ...
    async def set_consent(
        self, service_number: str, customer_number: str, *, opted_out: bool, reason: str, now_ms: int
    ) -> None: ...

    # supervisors (storage/supervision_sql.py)
    async def add_queue_supervisor(self, tenant_id: str, queue: str, user_id: str) -> None: ...
    async def supervised_queues(self, tenant_id: str, user_id: str) -> list[str]: ...
    async def queue_supervisors(self, tenant_id: str, queue: str) -> list[str]: ...
    async def supervises_agent(self, tenant_id: str, supervisor_id: str, agent_id: str) -> bool: ...
    async def save_monitoring(self, monitoring: Monitoring) -> None: ...
    async def monitoring_of_agent(self, agent_id: str) -> list[Monitoring]: ...
    async def delete_monitoring(self, agent_id: str, supervisor_id: str) -> bool: ...

    # facts, statistics and the user-data audit trail (storage/supervision_sql.py)
    async def append_facts(self, facts: Sequence[Fact]) -> None: ...
    async def queue_fact_totals(
        self, tenant_id: str, queue: str, since_ms: int, threshold_ms: int
    ) -> list[FactTotal]: ...
    async def completed_counts(self, tenant_id: str, since_ms: int) -> dict[str, int]: ...
    async def live_session_counts(self, tenant_id: str) -> dict[str, int]: ...
    async def queues_of_member(self, tenant_id: str, user_id: str) -> list[str]: ...
    async def all_queues(self) -> list[tuple[str, str]]: ...
    async def last_agent_states(self, tenant_id: str, user_ids: Sequence[str]) -> list[Fact]: ...
    async def queue_members(self, tenant_id: str, queue: str) -> list[str]: ...
    async def append_user_data_audit(self, entries: Sequence[UserDataAuditEntry]) -> None: ...
    async def user_data_audit(self, session_id: str) -> list[UserDataAuditEntry]: ...
    async def service_numbers_of_agent(self, tenant_id: str, user_id: str) -> list[ServiceNumber]: ...


class Store(Protocol):
    commit_listeners: list[CommitListener]
    """Told, once a transaction that appended notifications has committed, the last position it
    appended: the fan-out's poke and the delivery-latency metric (docs/architecture.md §2)."""

    def transaction(self) -> AbstractAsyncContextManager[Transaction]: ...

    async def notifications_after(self, position: int, limit: int) -> list[StoredNotification]: ...

    async def last_position(self) -> int: ...

    async def notifications_of_user_after(
        self, user_id: str, position: int, upto: int | None, limit: int
    ) -> list[StoredNotification]: ...

    async def oldest_position(self) -> int: ...

    async def prune_notifications(self, created_before_ms: int, upto: int, limit: int) -> int: ...


class BayeuxClientDirectory(Protocol):
    """Where a cluster keeps its Bayeux clients: single statements, each committed on its own."""

    async def bayeux_client(self, client_id: str) -> StoredBayeuxClient | None: ...
    async def insert_bayeux_client(self, client: StoredBayeuxClient, now_ms: int, max_per_user: int) -> int:
        """Store a new client; then the user's oldest beyond ``max_per_user`` (0: no cap) go.
        Returns how many went."""
        ...

    async def set_bayeux_subscriptions(self, client_id: str, subscriptions: Sequence[str]) -> int | None: ...
    async def record_bayeux_delivery(
        self, client_id: str, version: int, expected: int, delivered: int, now_ms: int
    ) -> bool: ...
    async def advance_bayeux_delivery(self, client_id: str, delivered: int, now_ms: int) -> None: ...
    async def touch_bayeux_client(self, client_id: str, now_ms: int) -> None: ...
    async def delete_bayeux_client(self, client_id: str) -> None: ...
    async def expire_bayeux_clients(self, seen_before_ms: int) -> int: ...


class CommitListener(Protocol):
    """Told, after a commit, that outbox rows up to ``position`` exist (the bus poke)."""

    def committed(self, position: int) -> None: ...
