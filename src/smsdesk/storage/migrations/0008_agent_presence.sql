-- Presence (docs/architecture.md §7): when each agent was last seen by any node, through an
-- authenticated request or a live Bayeux client. Written by each node at most once per flush
-- interval per agent; the router offers only to agents seen lately, and the leader moves agents
-- gone for longer to NotReady, saying why in agent_channels.reason.
CREATE TABLE agent_presence (
    user_id       TEXT PRIMARY KEY,
    tenant_id     TEXT NOT NULL,
    last_seen_ms  BIGINT NOT NULL
);
CREATE INDEX agent_presence_seen ON agent_presence(last_seen_ms);

-- Agents logged in when this migration runs count as seen now, so an upgrade does not move them
-- out of Ready before their desktops had a chance to come back.
INSERT INTO agent_presence (user_id, tenant_id, last_seen_ms)
SELECT user_id, MIN(tenant_id),
       {sqlite:CAST(strftime('%s', 'now') AS INTEGER) * 1000}{postgres:CAST(EXTRACT(EPOCH FROM now()) * 1000 AS BIGINT)}
  FROM agent_channels GROUP BY user_id;

-- Why the server, not the agent, set this state (e.g. SessionExpired); NULL for the agent's own.
ALTER TABLE agent_channels ADD COLUMN reason TEXT;
