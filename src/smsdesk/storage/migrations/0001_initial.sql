-- Every row belongs to a contact center (tenant) from the first schema on.
CREATE TABLE tenants (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL
);

-- User names are unique across tenants: HTTP Basic carries only the name.
CREATE TABLE users (
    id                TEXT PRIMARY KEY,
    tenant_id         TEXT NOT NULL REFERENCES tenants(id),
    user_name         TEXT NOT NULL UNIQUE,
    first_name        TEXT NOT NULL DEFAULT '',
    last_name         TEXT NOT NULL DEFAULT '',
    roles             TEXT NOT NULL,
    enabled           INTEGER NOT NULL DEFAULT 1,
    password_hash     TEXT NOT NULL,
    last_reference_id BIGINT NOT NULL DEFAULT 0,
    last_offer_ms     BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX users_tenant ON users(tenant_id);

CREATE TABLE queues (
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    name        TEXT NOT NULL,
    PRIMARY KEY (tenant_id, name)
);

CREATE TABLE queue_members (
    tenant_id   TEXT NOT NULL,
    queue       TEXT NOT NULL,
    user_id     TEXT NOT NULL REFERENCES users(id),
    PRIMARY KEY (tenant_id, queue, user_id)
);

CREATE TABLE service_numbers (
    number      TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    queue       TEXT NOT NULL,
    connector   TEXT NOT NULL
);

CREATE TABLE agent_channels (
    user_id     TEXT NOT NULL REFERENCES users(id),
    tenant_id   TEXT NOT NULL,
    channel     TEXT NOT NULL,
    state       TEXT NOT NULL,
    PRIMARY KEY (user_id, channel)
);

-- The session aggregate is stored whole (body, JSON); the columns beside it exist for lookups.
CREATE TABLE sms_sessions (
    id               TEXT PRIMARY KEY,
    tenant_id        TEXT NOT NULL REFERENCES tenants(id),
    service_number   TEXT NOT NULL,
    customer_number  TEXT NOT NULL,
    queue            TEXT NOT NULL,
    phase            TEXT NOT NULL,
    customer_open    INTEGER NOT NULL,
    received_ms      BIGINT NOT NULL,
    offer_deadline   BIGINT,
    body             BYTEA NOT NULL
);
CREATE INDEX sms_sessions_customer ON sms_sessions(tenant_id, service_number, customer_number)
    WHERE customer_open = 1 AND phase != 'done';
CREATE INDEX sms_sessions_waiting ON sms_sessions(tenant_id, received_ms) WHERE phase = 'waiting';
CREATE INDEX sms_sessions_deadline ON sms_sessions(offer_deadline) WHERE offer_deadline IS NOT NULL;

CREATE TABLE session_parties (
    session_id  TEXT NOT NULL REFERENCES sms_sessions(id),
    user_id     TEXT NOT NULL,
    tenant_id   TEXT NOT NULL,
    state       TEXT NOT NULL,
    PRIMARY KEY (user_id, session_id)
);

CREATE TABLE messages (
    session_id  TEXT NOT NULL REFERENCES sms_sessions(id),
    idx         BIGINT NOT NULL,
    body        BYTEA NOT NULL,
    PRIMARY KEY (session_id, idx)
) {sqlite:WITHOUT ROWID};

-- The outbox: notifications committed with the state they describe; position is commit order.
-- SQLite's single writer makes AUTOINCREMENT commit order. PostgreSQL's positions are not taken
-- from a sequence: a sequence hands out numbers at insert, so a later number can commit first and a
-- reader would move past the earlier one before it exists. They come from outbox_head (below),
-- whose row lock is held to commit: positions are commit order.
CREATE TABLE outbox (
    position    {sqlite:INTEGER PRIMARY KEY AUTOINCREMENT}{postgres:BIGINT PRIMARY KEY},
    tenant_id   TEXT NOT NULL,
    user_id     TEXT NOT NULL,
    channel     TEXT NOT NULL,
    payload     BYTEA NOT NULL,
    created_ms  BIGINT NOT NULL
);

CREATE TABLE sms_outbound (
    id                  BIGSERIAL PRIMARY KEY,
    tenant_id           TEXT NOT NULL,
    session_id          TEXT NOT NULL,
    message_index       BIGINT NOT NULL,
    service_number      TEXT NOT NULL,
    customer_number     TEXT NOT NULL,
    text                TEXT NOT NULL,
    status              TEXT NOT NULL,
    attempts            INTEGER NOT NULL DEFAULT 0,
    next_attempt_ms     BIGINT NOT NULL,
    provider_message_id TEXT,
    error               TEXT,
    created_ms          BIGINT NOT NULL
);
CREATE INDEX sms_outbound_due ON sms_outbound(next_attempt_ms) WHERE status = 'pending';

CREATE TABLE sms_inbound_seen (
    connector           TEXT NOT NULL,
    provider_message_id TEXT NOT NULL,
    PRIMARY KEY (connector, provider_message_id)
) {sqlite:WITHOUT ROWID};
{postgres:
CREATE TABLE outbox_head (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    position    BIGINT NOT NULL
);
INSERT INTO outbox_head (id, position) VALUES (1, 0);
}