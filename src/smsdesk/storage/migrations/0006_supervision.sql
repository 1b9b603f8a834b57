-- Who supervises which queue (a supervisor acts only on agents of the queues they supervise), and
-- the monitoring each supervisor has set up on an agent (GWS Monitor / Coach / BargeIn).
CREATE TABLE queue_supervisors (
    tenant_id   TEXT NOT NULL,
    queue       TEXT NOT NULL,
    user_id     TEXT NOT NULL REFERENCES users(id),
    PRIMARY KEY (tenant_id, queue, user_id)
);
CREATE INDEX queue_supervisors_user ON queue_supervisors(user_id);

CREATE TABLE supervisor_monitoring (
    agent_id       TEXT NOT NULL REFERENCES users(id),
    supervisor_id  TEXT NOT NULL REFERENCES users(id),
    tenant_id      TEXT NOT NULL,
    mode           TEXT NOT NULL,
    nickname       TEXT,
    next_chat_only INTEGER NOT NULL,
    created_ms     BIGINT NOT NULL,
    PRIMARY KEY (agent_id, supervisor_id)
);
