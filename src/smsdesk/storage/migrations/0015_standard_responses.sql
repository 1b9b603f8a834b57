-- Standard (canned) responses of a contact center: found by agents, managed by supervisors and
-- administrators. A name is unique within its contact center.
CREATE TABLE standard_responses (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    name        TEXT NOT NULL,
    category    TEXT NOT NULL DEFAULT '',
    text        TEXT NOT NULL,
    created_ms  BIGINT NOT NULL,
    updated_ms  BIGINT NOT NULL,
    UNIQUE (tenant_id, name)
);
