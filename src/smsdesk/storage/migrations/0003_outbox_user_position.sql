-- Replay after a reconnect reads one agent's outbox rows after a position: without this index every
-- reconnecting agent would scan everyone's rows since its resume position.
CREATE INDEX IF NOT EXISTS outbox_user_position ON outbox (user_id, position);
