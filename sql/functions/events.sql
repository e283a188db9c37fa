-- dispatch.emit: the one seam between a change and the real-time layer (a transactional outbox).
-- The change's transaction only INSERTs into dispatch.events: a rolled-back change writes no row, so
-- announces nothing, and no NOTIFY is issued inside it (NOTIFY serialises every committing notifier
-- of the cluster behind one lock, WAL flush included). dispatch.publish_events numbers what has
-- committed; the server processes' listeners deliver it by seq.
-- plpgsql, not sql: a SQL function holding an INSERT is never inlined and was planned again on
-- every call (1.35 ms per emit_many, 0.55 ms per emit under load); plpgsql caches its plans.
CREATE OR REPLACE FUNCTION dispatch.emit_except(topic text, message jsonb, skip_user bigint)
RETURNS void
LANGUAGE plpgsql
VOLATILE
AS $$
BEGIN
    INSERT INTO dispatch.events (topic, message, skip_user)
    VALUES (emit_except.topic, emit_except.message, emit_except.skip_user);
END;
$$;
COMMENT ON FUNCTION dispatch.emit_except(text, jsonb, bigint) IS
    'Publish a WebSocket message to a topic on commit (a row of dispatch.events), not delivered to '
    'sockets of skip_user.';

CREATE OR REPLACE FUNCTION dispatch.emit(topic text, message jsonb)
RETURNS void
LANGUAGE plpgsql
VOLATILE
AS $$
BEGIN
    INSERT INTO dispatch.events (topic, message) VALUES (emit.topic, emit.message);
END;
$$;
COMMENT ON FUNCTION dispatch.emit(text, jsonb) IS
    'Publish a WebSocket message to a topic (assistant:<id>, assistance:<id>, dispatch) on commit: '
    'a row of dispatch.events, numbered (seq) by dispatch.publish_events once committed.';

CREATE OR REPLACE FUNCTION dispatch.emit_many(topics text[], messages jsonb[])
RETURNS void
LANGUAGE plpgsql
VOLATILE
AS $$
BEGIN
    -- WITH ORDINALITY keeps the caller's order in the ids, hence in the seqs.
    INSERT INTO dispatch.events (topic, message)
    SELECT t.topic, t.message
      FROM unnest(emit_many.topics, emit_many.messages) WITH ORDINALITY AS t(topic, message, n)
     WHERE t.topic IS NOT NULL
     ORDER BY t.n;
END;
$$;
COMMENT ON FUNCTION dispatch.emit_many(text[], jsonb[]) IS
    'Publish several WebSocket messages (topics[i] gets messages[i]) on commit, in this order.';

CREATE OR REPLACE FUNCTION dispatch.publish_events(max_rows integer DEFAULT 1000)
RETURNS TABLE (seq bigint, topic text, skip_user bigint, frame text)
LANGUAGE plpgsql
VOLATILE
AS $$
#variable_conflict use_column
DECLARE
    last     bigint;
    n_rows   integer;
BEGIN
    -- Nothing pending: no lock taken, nothing written (a row lock would cost a WAL flush).
    IF NOT EXISTS (SELECT 1 FROM dispatch.events e WHERE e.seq IS NULL) THEN
        RETURN;
    END IF;
    -- Publishers serialise here. Under READ COMMITTED the next statement takes a new snapshot,
    -- so it sees every row the previous publisher numbered: seq order is the commit order of the
    -- publish transactions, and a reader that sees seq S also sees every seq below it.
    SELECT c.last_seq INTO last FROM dispatch.event_cursor c FOR UPDATE;
    RETURN QUERY
    WITH pending AS (
        SELECT e.id, last + row_number() OVER (ORDER BY e.id) AS new_seq
          FROM (SELECT e.id FROM dispatch.events e WHERE e.seq IS NULL ORDER BY e.id
                 LIMIT max_rows) e
    ), numbered AS (
        UPDATE dispatch.events e SET seq = p.new_seq FROM pending p WHERE e.id = p.id
        RETURNING e.seq, e.topic, e.skip_user, e.message
    )
    SELECT n.seq, n.topic, n.skip_user, dispatch.event_frame(n.message, n.seq)
      FROM numbered n ORDER BY n.seq;
    GET DIAGNOSTICS n_rows = ROW_COUNT;
    UPDATE dispatch.event_cursor SET last_seq = last + n_rows;
END;
$$;
COMMENT ON FUNCTION dispatch.publish_events(integer) IS
    'Number up to max_rows committed, unpublished events (seq, in id order) and return them as '
    'frames. Must run in its own READ COMMITTED transaction; concurrent callers serialise.';

CREATE OR REPLACE FUNCTION dispatch.event_frame(message jsonb, seq bigint)
RETURNS text
LANGUAGE sql
IMMUTABLE
AS $$
    SELECT (CASE WHEN jsonb_typeof(message) = 'object'
                 THEN message || jsonb_build_object('seq', seq) ELSE message END)::text
$$;
COMMENT ON FUNCTION dispatch.event_frame(jsonb, bigint) IS
    'The text of an event''s WebSocket frame: its message with "seq" added.';

CREATE OR REPLACE FUNCTION dispatch.prune_events(keep interval, max_rows integer DEFAULT 10000)
RETURNS integer
LANGUAGE plpgsql
VOLATILE
AS $$
DECLARE
    pruned integer;
    top    bigint;
BEGIN
    WITH gone AS (
        DELETE FROM dispatch.events e
         WHERE e.id IN (SELECT id FROM dispatch.events
                         WHERE seq IS NOT NULL AND created_at < now() - keep
                         ORDER BY created_at LIMIT max_rows)
        RETURNING e.seq
    )
    SELECT count(*), max(seq) INTO pruned, top FROM gone;
    IF pruned > 0 THEN
        UPDATE dispatch.event_cursor SET pruned_through = greatest(pruned_through, top);
    END IF;
    RETURN pruned;
END;
$$;
COMMENT ON FUNCTION dispatch.prune_events(interval, integer) IS
    'Delete up to max_rows published events older than keep; records the highest seq pruned in '
    'dispatch.event_cursor.pruned_through. Safe to run from several processes at once.';

CREATE OR REPLACE FUNCTION dispatch.replay_events(topic text, since bigint, max_rows integer)
RETURNS TABLE (seq bigint, skip_user bigint, frame text)
LANGUAGE sql
STABLE
AS $$
    SELECT e.seq, e.skip_user, dispatch.event_frame(e.message, e.seq)
      FROM dispatch.events e
     WHERE e.topic = replay_events.topic AND e.seq > replay_events.since AND e.seq IS NOT NULL
     ORDER BY e.seq
     LIMIT max_rows
$$;
COMMENT ON FUNCTION dispatch.replay_events(text, bigint, integer) IS
    'The published events of one topic after since, in seq order (for ?since= on WebSockets).';
