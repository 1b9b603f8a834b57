-- Counters a node takes a block of at a time, so that what they number writes nothing per use:
-- 'reference_id' numbers the referenceIds of requests (docs/gws-compatibility.md). Before this
-- table each user had a counter (users.last_reference_id, no longer written); the first block starts
-- above all of them, so every user's referenceIds keep increasing across the upgrade.
CREATE TABLE counters (
    name   TEXT PRIMARY KEY,
    value  BIGINT NOT NULL
);
INSERT INTO counters (name, value) SELECT 'reference_id', COALESCE(MAX(last_reference_id), 0) + 1 FROM users;
