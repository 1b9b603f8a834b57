-- Bayeux clients of a cluster (PostgreSQL): any node serves any client's messages, so what a client
-- is lives here, not in one node's memory (docs/architecture.md §9). A single SQLite node keeps its
-- clients in memory and leaves this table empty.
CREATE TABLE bayeux_clients (
    id             TEXT PRIMARY KEY,
    user_id        TEXT NOT NULL,
    tenant_id      TEXT NOT NULL,
    ack            INTEGER NOT NULL,
    subscriptions  TEXT NOT NULL,
    version        BIGINT NOT NULL,
    delivered      BIGINT NOT NULL,
    connected      INTEGER NOT NULL,
    created_ms     BIGINT NOT NULL,
    last_seen_ms   BIGINT NOT NULL
);
CREATE INDEX bayeux_clients_user ON bayeux_clients(user_id);
CREATE INDEX bayeux_clients_seen ON bayeux_clients(last_seen_ms);
