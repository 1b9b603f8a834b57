-- referenceIds (docs/gws-compatibility.md) without a write per request. Before this migration each
-- user had a counter, users.last_reference_id, written by every request (no longer written); the
-- numbers now start above all of them, so every user's referenceIds keep increasing.
-- PostgreSQL: a sequence, read by each request in its transaction (nextval writes no row, and a
-- rolled-back transaction never gives its number back). SQLite (one node): a block of numbers is
-- reserved in `counters` at a time and handed out from memory.
{postgres:CREATE SEQUENCE reference_ids;
SELECT setval('reference_ids', (SELECT COALESCE(MAX(last_reference_id), 0) + 1 FROM users), false);}
{sqlite:CREATE TABLE counters (
    name   TEXT PRIMARY KEY,
    value  BIGINT NOT NULL
);
INSERT INTO counters (name, value) SELECT 'reference_id', COALESCE(MAX(last_reference_id), 0) + 1 FROM users;}
