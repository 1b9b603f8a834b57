-- Facts: what happened, when, written in the transaction of the operation that made it happen.
-- The live numbers for supervisors are computed from them, so every node agrees and a restart
-- loses nothing. kind: entered, offered, accepted, rejected, revoked, abandoned, completed (queue
-- facts, with the session) and agent_state (detail = the state).
CREATE TABLE facts (
    id          BIGSERIAL PRIMARY KEY,
    tenant_id   TEXT NOT NULL,
    queue       TEXT NOT NULL,
    session_id  TEXT,
    user_id     TEXT,
    kind        TEXT NOT NULL,
    detail      TEXT,
    at_ms       BIGINT NOT NULL,
    duration_ms BIGINT
);
CREATE INDEX facts_queue ON facts(tenant_id, queue, at_ms);
CREATE INDEX facts_user ON facts(user_id, at_ms);

-- One row per user-data key changed: who, when, from what to what (JSON), through which operation.
CREATE TABLE user_data_audit (
    id          BIGSERIAL PRIMARY KEY,
    tenant_id   TEXT NOT NULL,
    session_id  TEXT NOT NULL,
    version     BIGINT NOT NULL,
    key         TEXT NOT NULL,
    operation   TEXT NOT NULL,
    user_id     TEXT,
    old_value   TEXT,
    new_value   TEXT,
    changed_ms  BIGINT NOT NULL
);
CREATE INDEX user_data_audit_session ON user_data_audit(session_id, id);
