-- Sign-in throttling counted over the whole cluster (operations/signin_throttle.py): one row per
-- (user name, client address) that failed lately, its recent failures and penalty as JSON. Written
-- only on a failed sign-in (rare by nature), and by a success only on a node that saw the pair fail.
CREATE TABLE signin_throttles (
    user_name   TEXT NOT NULL,
    address     TEXT NOT NULL,
    state       TEXT NOT NULL,
    updated_ms  BIGINT NOT NULL,
    PRIMARY KEY (user_name, address)
);
CREATE INDEX signin_throttles_updated ON signin_throttles(updated_ms);
