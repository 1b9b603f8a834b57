-- A queue's opening hours and automatic replies (no row, or no timezone: always open, no replies).
CREATE TABLE queue_hours (
    tenant_id        TEXT NOT NULL,
    queue            TEXT NOT NULL,
    timezone         TEXT,
    weekly           TEXT,
    closed_dates     TEXT NOT NULL DEFAULT '',
    when_closed      TEXT NOT NULL DEFAULT 'queue',
    closed_reply     TEXT,
    waiting_reply    TEXT,
    waiting_after_s  BIGINT,
    updated_ms       BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, queue)
);

-- 1 once a waiting session got its waiting reply, or cannot get one (the customer opted out): the
-- background work looks for the others without reading their bodies.
ALTER TABLE sms_sessions ADD COLUMN waiting_replied INTEGER NOT NULL DEFAULT 0;
