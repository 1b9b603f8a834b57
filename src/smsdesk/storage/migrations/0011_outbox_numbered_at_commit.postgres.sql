-- PostgreSQL: outbox rows are numbered at commit, not when they are appended (docs/architecture.md §6).
--
-- An operation appends its rows with temporary positions, the negatives of numbers of a sequence
-- (unique; never seen by a reader: only committed rows are, and every committed row has been
-- numbered). A deferred constraint trigger fires inside COMMIT: its first firing in the
-- transaction takes the next positions from outbox_head and gives them to the transaction's rows in
-- the order they were appended (later firings find nothing left to number). outbox_head's row lock
-- is therefore held for the commit alone, never across a round trip to the node, and positions stay
-- commit order without holes (the next transaction to number waits for this one's commit to
-- finish). The same statement announces the positions on 'smsdesk_outbox' when other nodes listen
-- (the appending node sets smsdesk.announce: 'rows', or 'off' when it serves the database alone and
-- reads what it committed itself): "first last txid", then, when they fit in a notification, the
-- rows themselves as a JSON array of [user_id, channel, payload], so that the other nodes deliver
-- them without reading the table. Left unset, the positions alone are announced.
CREATE SEQUENCE outbox_pending;

CREATE FUNCTION outbox_number() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    announced TEXT;
BEGIN
    WITH pending AS (
        SELECT position AS temporary, row_number() OVER (ORDER BY position DESC) AS ordinal,
               count(*) OVER () AS total
          FROM outbox WHERE position < 0
    ), head AS (
        UPDATE outbox_head SET position = position + (SELECT max(total) FROM pending)
         WHERE id = 1 AND EXISTS (SELECT 1 FROM pending)
        RETURNING position
    ), numbered AS (
        UPDATE outbox o SET position = head.position - pending.total + pending.ordinal
          FROM head, pending
         WHERE o.position = pending.temporary
        RETURNING o.position, o.user_id, o.channel, o.payload
    ), announcement AS (
        SELECT min(position)::text || ' ' || max(position)::text || ' ' || pg_current_xact_id()::text AS head,
               CASE WHEN current_setting('smsdesk.announce', true) = 'rows' THEN
                   '[' || string_agg('[' || to_json(user_id)::text || ',' || to_json(channel)::text || ','
                                     || convert_from(payload, 'UTF8') || ']', ',' ORDER BY position) || ']'
               END AS rows
          FROM numbered HAVING count(*) > 0
    )
    SELECT pg_notify('smsdesk_outbox',
                     CASE WHEN rows IS NOT NULL AND octet_length(head) + octet_length(rows) < 7900
                          THEN head || E'\n' || rows ELSE head END)::text
      INTO announced
      FROM announcement
     WHERE current_setting('smsdesk.announce', true) IS DISTINCT FROM 'off';
    RETURN NULL;
END
$$;

CREATE CONSTRAINT TRIGGER outbox_number AFTER INSERT ON outbox
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (NEW.position < 0)
    EXECUTE FUNCTION outbox_number();
