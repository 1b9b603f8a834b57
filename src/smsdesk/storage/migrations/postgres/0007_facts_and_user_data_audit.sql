-- The PostgreSQL twin of sqlite/0007_facts_and_user_data_audit.sql.
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
