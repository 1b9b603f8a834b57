-- The PostgreSQL twin of sqlite/0003_outbox_user_position.sql.
CREATE INDEX IF NOT EXISTS outbox_user_position ON outbox (user_id, position);
