"""What the operations need from the storage adapter, one small interface per thing stored.

A :class:`~smsdesk.operations.ports.store.Transaction` hands out one repository per aggregate
(``tx.sessions``, ``tx.messages``, ``tx.outbox``...); each module here holds one repository's
records and Protocol, and says what it locks and what it guarantees. ``storage/`` implements them,
one module per repository beside its SQL; ``app.py`` wires them. Operations never import an adapter.

Everything is re-exported here so that a caller imports ``from smsdesk.operations.ports import X``.
"""

from smsdesk.operations.ports.administration import (
    AdminAudit,
    AuditEntry,
    CustomerData,
    CustomerSession,
    Erased,
)
from smsdesk.operations.ports.agents import AgentChannel, Agents
from smsdesk.operations.ports.bayeux_clients import (
    OVER_CAP,
    BayeuxClientDirectory,
    Claim,
    ClientState,
    Inserted,
    StoredBayeuxClient,
)
from smsdesk.operations.ports.facts import Fact, Facts
from smsdesk.operations.ports.idempotency import IdempotencyKeys, RememberedRequest
from smsdesk.operations.ports.identity import (
    ClusterSecrets,
    SignInThrottles,
    StoredHttpSession,
    StoredHttpSessions,
)
from smsdesk.operations.ports.outbox import (
    CommitListener,
    Notification,
    OutboxReader,
    OutboxWriter,
    StoredNotification,
)
from smsdesk.operations.ports.queue_hours import QueueHours, QueueHoursRepository
from smsdesk.operations.ports.queues import Queues, ServiceNumber, ServiceNumbers
from smsdesk.operations.ports.sessions import Messages, Sessions
from smsdesk.operations.ports.sms import Consent, InboundSeen, OutboundQueue, OutboundRecord
from smsdesk.operations.ports.standard_responses import StandardResponse, StandardResponses
from smsdesk.operations.ports.store import (
    StorageConflict,
    StorageInDoubt,
    StorageUnavailable,
    Store,
    Transaction,
)
from smsdesk.operations.ports.supervision import Monitoring, Supervision
from smsdesk.operations.ports.user_data_audit import UserDataAudit, UserDataAuditEntry
from smsdesk.operations.ports.users import ContactCenter, ReferenceIds, Tenants, User, Users

__all__ = [
    "OVER_CAP",
    "AdminAudit",
    "AgentChannel",
    "Agents",
    "AuditEntry",
    "BayeuxClientDirectory",
    "Claim",
    "ClientState",
    "ClusterSecrets",
    "CommitListener",
    "Consent",
    "ContactCenter",
    "CustomerData",
    "CustomerSession",
    "Erased",
    "Fact",
    "Facts",
    "IdempotencyKeys",
    "InboundSeen",
    "Inserted",
    "Messages",
    "Monitoring",
    "Notification",
    "OutboundQueue",
    "OutboundRecord",
    "OutboxReader",
    "OutboxWriter",
    "QueueHours",
    "QueueHoursRepository",
    "Queues",
    "ReferenceIds",
    "RememberedRequest",
    "ServiceNumber",
    "ServiceNumbers",
    "Sessions",
    "SignInThrottles",
    "StandardResponse",
    "StandardResponses",
    "StorageConflict",
    "StorageInDoubt",
    "StorageUnavailable",
    "Store",
    "StoredBayeuxClient",
    "StoredHttpSession",
    "StoredHttpSessions",
    "StoredNotification",
    "Supervision",
    "Tenants",
    "Transaction",
    "User",
    "UserDataAudit",
    "UserDataAuditEntry",
    "Users",
]
