-- What a request sent with an Idempotency-Key header did (an extension: docs/gws-compatibility.md,
-- "When the database fails over"): written in the request's own transaction, so a client that
-- repeats a request whose outcome it never learnt gets the first outcome instead of a second run.
CREATE TABLE idempotency_keys (
    user_id     TEXT NOT NULL,
    key         TEXT NOT NULL,
    tenant_id   TEXT NOT NULL,
    request     TEXT NOT NULL,
    outcome     TEXT,
    created_ms  BIGINT NOT NULL,
    PRIMARY KEY (user_id, key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys(created_ms);
