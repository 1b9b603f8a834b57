"""The store and its transaction: the unit of work every operation runs in."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import Protocol

from smsdesk.operations.ports.administration import AdminAudit, CustomerData
from smsdesk.operations.ports.agents import Agents
from smsdesk.operations.ports.facts import Facts
from smsdesk.operations.ports.identity import ClusterSecrets, SignInThrottles, StoredHttpSessions
from smsdesk.operations.ports.outbox import CommitListener, OutboxReader, OutboxWriter
from smsdesk.operations.ports.queue_hours import QueueHoursRepository
from smsdesk.operations.ports.queues import Queues, ServiceNumbers
from smsdesk.operations.ports.sessions import Messages, Sessions
from smsdesk.operations.ports.sms import Consent, InboundSeen, OutboundQueue
from smsdesk.operations.ports.standard_responses import StandardResponses
from smsdesk.operations.ports.supervision import Supervision
from smsdesk.operations.ports.user_data_audit import UserDataAudit
from smsdesk.operations.ports.users import ReferenceIds, Tenants, Users


class StorageConflict(Exception):
    """The database gave up on a transaction because of a concurrent one (a deadlock, a
    serialization failure, a key a concurrent transaction committed first). Nothing was written;
    running the whole operation again is safe."""


class Transaction(Protocol):
    """Everything one operation reads and writes, one repository per thing stored; committed
    together or not at all. Locks are taken in one order (a session, then the acting user's row,
    then the outbox), so operations never deadlock each other."""

    users: Users
    reference_ids: ReferenceIds
    tenants: Tenants
    queues: Queues
    service_numbers: ServiceNumbers
    agents: Agents
    sessions: Sessions
    messages: Messages
    user_data_audit: UserDataAudit
    facts: Facts
    supervision: Supervision
    outbox: OutboxWriter
    outbound: OutboundQueue
    consent: Consent
    inbound_seen: InboundSeen
    http_sessions: StoredHttpSessions
    cluster_secrets: ClusterSecrets
    signin_throttles: SignInThrottles
    standard_responses: StandardResponses
    queue_hours: QueueHoursRepository
    admin_audit: AdminAudit
    customer_data: CustomerData


class Store(Protocol):
    commit_listeners: list[CommitListener]
    """Told, once a transaction that appended notifications has committed, the last position it
    appended: the fan-out's poke and the delivery-latency metric (docs/architecture.md §3)."""

    outbox: OutboxReader

    def transaction(self) -> AbstractAsyncContextManager[Transaction]: ...
    async def pending_migrations(self) -> int:
        """How many known migrations this database lacks (readiness: 0 when serving is safe)."""
        ...
