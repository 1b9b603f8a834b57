"""The store and its transaction: the unit of work every operation runs in."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Protocol

from smsdesk.operations.ports.administration import AdminAudit, CustomerData
from smsdesk.operations.ports.agents import Agents
from smsdesk.operations.ports.facts import Facts
from smsdesk.operations.ports.idempotency import IdempotencyKeys
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

if TYPE_CHECKING:
    from smsdesk.operations.availability import DatabaseState


class StorageConflict(Exception):
    """The database gave up on a transaction because of a concurrent one (a deadlock, a
    serialization failure, a key a concurrent transaction committed first). Nothing was written;
    running the whole operation again is safe."""


class StorageUnavailable(Exception):
    """The database cannot be reached, or cannot write just now (it is down, restarting, being
    failed over, or read-only). The operation was **not done**: nothing of it was committed, and
    repeating it once the database is back is safe. Raised by the storage adapter instead of its
    driver's own errors, so that nothing above the storage knows the driver."""

    retry_after_s = 2


class StorageInDoubt(StorageUnavailable):
    """The connection died while the transaction was committing, and the database that answers now
    could not tell whether that commit happened (``pg_xact_status`` unknown, or no database answered
    in time). The operation may or may not have been done: a client reads before repeating it, or
    repeats it with the same ``Idempotency-Key`` (docs/gws-compatibility.md, "When the database
    fails over")."""


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
    idempotency_keys: IdempotencyKeys
    admin_audit: AdminAudit
    customer_data: CustomerData


class Store(Protocol):
    commit_listeners: list[CommitListener]
    """Told, once a transaction that appended notifications has committed, the last position it
    appended: the fan-out's poke and the delivery-latency metric (docs/architecture.md §3)."""

    outbox: OutboxReader

    availability: DatabaseState
    """Whether the database answers: told by the store, read by readiness and what waits for it."""

    def transaction(self) -> AbstractAsyncContextManager[Transaction]: ...
    async def pending_migrations(self) -> int:
        """How many known migrations this database lacks (readiness: 0 when serving is safe)."""
        ...
