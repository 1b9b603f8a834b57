-- Administration from the API and pages (docs/architecture.md §7a): whether a user may sign in with
-- a password (0: only with the identity provider), how long a contact center keeps its finished
-- conversations (NULL: for ever), and the audit log of every administrative change: who, what,
-- when, before and after (JSON; never a password).
ALTER TABLE users ADD COLUMN password_signin INTEGER NOT NULL DEFAULT 1;
ALTER TABLE tenants ADD COLUMN retention_days BIGINT;
CREATE TABLE admin_audit (
    id           BIGSERIAL PRIMARY KEY,
    tenant_id    TEXT NOT NULL,
    at_ms        BIGINT NOT NULL,
    actor_id     TEXT,
    actor_name   TEXT NOT NULL,
    action       TEXT NOT NULL,
    target_type  TEXT NOT NULL,
    target_id    TEXT,
    before_json  TEXT,
    after_json   TEXT
);
CREATE INDEX admin_audit_tenant ON admin_audit(tenant_id, id);
-- An erased customer's opt-out (STOP), kept as a keyed digest of the number, never the number
-- (storage/digests.py; docs/reliability.md, "Erasure").
CREATE TABLE erased_opt_outs (
    service_number  TEXT NOT NULL,
    digest          TEXT NOT NULL,
    reason          TEXT NOT NULL DEFAULT '',
    updated_ms      BIGINT NOT NULL,
    PRIMARY KEY (service_number, digest)
) {sqlite:WITHOUT ROWID};
-- Retention finds finished sessions by age without a scan (erasure finds a customer's sessions by
-- sms_sessions_history, migration 0014).
CREATE INDEX sms_sessions_received ON sms_sessions(tenant_id, received_ms) WHERE phase = 'done';
