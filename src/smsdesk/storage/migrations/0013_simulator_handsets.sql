-- The SMS simulator's handsets (connectors/simulator.py), kept in the database so that every node
-- of a cluster shows the same ones: they are the customers' phones, whichever node sent to them.
CREATE TABLE simulator_handsets (
    id           BIGSERIAL PRIMARY KEY,
    recipient    TEXT NOT NULL,
    sender       TEXT NOT NULL,
    text         TEXT NOT NULL,
    received_ms  BIGINT NOT NULL
);
CREATE INDEX simulator_handsets_recipient ON simulator_handsets(recipient, id);

CREATE TABLE simulator_failures (
    number   TEXT PRIMARY KEY,
    failure  TEXT NOT NULL
);
