-- PostgreSQL: outbox rows are numbered at commit, not when they are appended (docs/architecture.md §6).
--
-- An operation appends its rows with temporary positions, the negatives of numbers of a sequence
-- (unique; never seen by a reader: only committed rows are, and every committed row has been
-- numbered), and names them, in the order it appended them, in the transaction's setting
-- smsdesk.pending. A deferred constraint trigger fires inside COMMIT: its first firing in the
-- transaction takes the next positions from outbox_head and gives them to those rows (later firings
-- find nothing left to number). outbox_head's row lock is therefore held for the commit alone, never
-- across a round trip to the node, and positions stay commit order without holes (the next
-- transaction to number waits for this one's commit to finish). The same firing announces the
-- positions on 'smsdesk_outbox' unless the appending node serves the database alone and reads what
-- it committed itself (smsdesk.announce 'off'): "first last txid", then, when other nodes listen
-- (smsdesk.announce 'rows') and they fit in a notification, the rows themselves as a JSON array of
-- [user_id, channel, payload], so that the other nodes deliver them without reading the table. What
-- does not need the head's lock (finding the rows, writing the JSON) is done before taking it.
CREATE SEQUENCE outbox_pending;

CREATE FUNCTION outbox_number() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    pending TEXT := current_setting('smsdesk.pending', true);
    announce TEXT := current_setting('smsdesk.announce', true);
    temporary BIGINT[];
    total INTEGER;
    head BIGINT;
    rows_json TEXT;
    announced TEXT;
BEGIN
    IF pending IS NULL OR pending = '' THEN
        RETURN NULL;  -- an earlier firing in this transaction numbered every row
    END IF;
    PERFORM set_config('smsdesk.pending', '', true);
    temporary := string_to_array(pending, ',')::BIGINT[];
    total := array_length(temporary, 1);
    IF announce = 'rows' THEN
        SELECT '[' || string_agg('[' || to_json(o.user_id)::text || ',' || to_json(o.channel)::text || ','
                                 || convert_from(o.payload, 'UTF8') || ']', ',' ORDER BY t.ordinal) || ']'
          INTO rows_json
          FROM unnest(temporary) WITH ORDINALITY AS t(temporary, ordinal)
          JOIN outbox o ON o.position = t.temporary;
    END IF;
    UPDATE outbox_head SET position = position + total WHERE id = 1 RETURNING position INTO head;
    UPDATE outbox o SET position = head - total + t.ordinal
      FROM unnest(temporary) WITH ORDINALITY AS t(temporary, ordinal)
     WHERE o.position = t.temporary;
    IF announce IS DISTINCT FROM 'off' THEN
        announced := (head - total + 1)::text || ' ' || head::text || ' ' || pg_current_xact_id()::text;
        IF rows_json IS NOT NULL AND octet_length(announced) + octet_length(rows_json) < 7900 THEN
            announced := announced || E'\n' || rows_json;
        END IF;
        PERFORM pg_notify('smsdesk_outbox', announced);
    END IF;
    RETURN NULL;
END
$$;

CREATE CONSTRAINT TRIGGER outbox_number AFTER INSERT ON outbox
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (NEW.position < 0)
    EXECUTE FUNCTION outbox_number();
