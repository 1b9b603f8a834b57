"""One operation's transaction: a repository per thing stored, all on one connection.

Every repository but the outbox writer is the same SQL on both backends; a backend passes its own
where it differs (PostgreSQL's locking sessions, each backend's outbox append).
"""

from __future__ import annotations

from smsdesk.operations.ports import (
    AdminAudit,
    Agents,
    ClusterSecrets,
    Consent,
    CustomerData,
    Facts,
    IdempotencyKeys,
    InboundSeen,
    Messages,
    OutboundQueue,
    OutboxWriter,
    QueueHoursRepository,
    Queues,
    ReferenceIds,
    ServiceNumbers,
    Sessions,
    SignInThrottles,
    StandardResponses,
    StoredHttpSessions,
    Supervision,
    Tenants,
    UserDataAudit,
    Users,
)
from smsdesk.storage.administration import AdminAuditSql, CustomerDataSql
from smsdesk.storage.agents import AgentsSql
from smsdesk.storage.connection import SqlConnection
from smsdesk.storage.facts import FactsSql
from smsdesk.storage.idempotency import IdempotencyKeysSql
from smsdesk.storage.identity import ClusterSecretsSql, HttpSessionsSql, SignInThrottlesSql
from smsdesk.storage.queue_hours import QueueHoursSql
from smsdesk.storage.queues import QueuesSql, ServiceNumbersSql
from smsdesk.storage.sessions import MessagesSql
from smsdesk.storage.sms import ConsentSql, InboundSeenSql, OutboundQueueSql
from smsdesk.storage.standard_responses import StandardResponsesSql
from smsdesk.storage.supervision import SupervisionSql
from smsdesk.storage.user_data_audit import UserDataAuditSql
from smsdesk.storage.users import TenantsSql, UsersSql


class SqlTransaction:
    """The ``Transaction`` Protocol over one :class:`SqlConnection`."""

    __slots__ = (
        "admin_audit",
        "agents",
        "cluster_secrets",
        "consent",
        "customer_data",
        "db",
        "facts",
        "http_sessions",
        "idempotency_keys",
        "inbound_seen",
        "messages",
        "outbound",
        "outbox",
        "queue_hours",
        "queues",
        "reference_ids",
        "service_numbers",
        "sessions",
        "signin_throttles",
        "standard_responses",
        "supervision",
        "tenants",
        "user_data_audit",
        "users",
    )

    def __init__(
        self, db: SqlConnection, sessions: Sessions, outbox: OutboxWriter, reference_ids: ReferenceIds
    ) -> None:
        self.db = db
        self.users: Users = UsersSql(db)
        self.reference_ids: ReferenceIds = reference_ids
        self.tenants: Tenants = TenantsSql(db)
        self.queues: Queues = QueuesSql(db)
        self.service_numbers: ServiceNumbers = ServiceNumbersSql(db)
        self.agents: Agents = AgentsSql(db)
        self.sessions: Sessions = sessions
        self.messages: Messages = MessagesSql(db)
        self.user_data_audit: UserDataAudit = UserDataAuditSql(db)
        self.facts: Facts = FactsSql(db)
        self.supervision: Supervision = SupervisionSql(db)
        self.outbox: OutboxWriter = outbox
        self.outbound: OutboundQueue = OutboundQueueSql(db)
        self.consent: Consent = ConsentSql(db)
        self.inbound_seen: InboundSeen = InboundSeenSql(db)
        self.http_sessions: StoredHttpSessions = HttpSessionsSql(db)
        self.cluster_secrets: ClusterSecrets = ClusterSecretsSql(db)
        self.signin_throttles: SignInThrottles = SignInThrottlesSql(db)
        self.standard_responses: StandardResponses = StandardResponsesSql(db)
        self.queue_hours: QueueHoursRepository = QueueHoursSql(db)
        self.idempotency_keys: IdempotencyKeys = IdempotencyKeysSql(db)
        self.admin_audit: AdminAudit = AdminAuditSql(db)
        self.customer_data: CustomerData = CustomerDataSql(db)
