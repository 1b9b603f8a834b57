-- PostgreSQL: outbox rows are numbered at commit, not when they are appended (docs/architecture.md §6).
--
-- An operation appends its rows with a temporary position, the negative of a sequence number (unique,
-- never seen by a reader: only committed rows are, and every committed row has been numbered). A
-- deferred constraint trigger fires inside COMMIT: its first firing in the transaction takes the next
-- positions from outbox_head and gives them to the transaction's rows, in the order they were
-- appended. outbox_head's row lock is therefore held for the commit alone, never across a round trip
-- to the node, and positions stay commit order without holes (the next transaction to number waits
-- for this one's commit to finish). The same firing announces the positions on 'smsdesk_outbox':
-- "first last txid", then, when they fit in a notification, the rows themselves as a JSON array of
-- [user_id, channel, payload], so that nodes deliver them without reading the table.
CREATE SEQUENCE outbox_pending;

CREATE FUNCTION outbox_number() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    pending BIGINT;
    head BIGINT;
    announce TEXT;
    rows_json TEXT;
BEGIN
    SELECT count(*) INTO pending FROM outbox WHERE position < 0;
    IF pending = 0 THEN
        RETURN NULL;  -- an earlier firing in this transaction numbered every row
    END IF;
    UPDATE outbox_head SET position = position + pending WHERE id = 1 RETURNING position INTO head;
    UPDATE outbox o SET position = head - pending + n.ordinal
      FROM (SELECT position AS temporary, row_number() OVER (ORDER BY position DESC) AS ordinal
              FROM outbox WHERE position < 0) n
     WHERE o.position = n.temporary;
    announce := (head - pending + 1)::text || ' ' || head::text || ' ' || pg_current_xact_id()::text;
    SELECT '[' || string_agg('[' || to_json(user_id)::text || ',' || to_json(channel)::text || ','
                             || convert_from(payload, 'UTF8') || ']', ',' ORDER BY position) || ']'
      INTO rows_json
      FROM outbox WHERE position > head - pending AND position <= head;
    IF octet_length(announce) + octet_length(rows_json) < 7900 THEN
        announce := announce || E'\n' || rows_json;
    END IF;
    PERFORM pg_notify('smsdesk_outbox', announce);
    RETURN NULL;
END
$$;

CREATE CONSTRAINT TRIGGER outbox_number AFTER INSERT ON outbox
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (NEW.position < 0)
    EXECUTE FUNCTION outbox_number();
