-- JSESSIONID sessions shared by every node and kept across restarts (docs/architecture.md §7).
-- A session is written when its cookie first comes back, not when it is issued: clients that never
-- send the cookie (curl -u) cost no write. Ended sessions stay (ended_ms) until their lifetime is
-- over, so an ended cookie cannot be brought back.
CREATE TABLE http_sessions (
    id            TEXT PRIMARY KEY,
    user_id       TEXT NOT NULL,
    tenant_id     TEXT NOT NULL,
    created_ms    BIGINT NOT NULL,
    last_seen_ms  BIGINT NOT NULL,
    ended_ms      BIGINT
);
CREATE INDEX http_sessions_user ON http_sessions(user_id, last_seen_ms);
CREATE INDEX http_sessions_created ON http_sessions(created_ms);

-- Cluster-wide secrets (hex), made once by the first node: the key that signs session cookies.
CREATE TABLE cluster_secrets (
    name   TEXT PRIMARY KEY,
    value  TEXT NOT NULL
);
