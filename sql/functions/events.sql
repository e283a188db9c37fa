-- dispatch.emit: the one seam between a change and the real-time layer (a transactional outbox).
-- The change's transaction only INSERTs into dispatch.event_log: a rolled-back change writes no row, so
-- announces nothing, and no NOTIFY is issued inside it (NOTIFY serialises every committing notifier
-- of the cluster behind one lock, WAL flush included). dispatch.publish_events numbers what has
-- committed; the server processes' listeners deliver it by seq.
-- plpgsql, not sql: a SQL function holding an INSERT is never inlined and was planned again on
-- every call (1.35 ms per emit_many, 0.55 ms per emit under load); plpgsql caches its plans.
-- The log is batched: one dispatch.event_log row per emit call, holding its frames in order (a
-- request's ten offers and the dispatchers' frame are one row). Messages are stored as JSON text.
CREATE OR REPLACE FUNCTION dispatch.emit_except(topic text, message jsonb, skip_user bigint)
RETURNS void
LANGUAGE plpgsql
VOLATILE
AS $$
BEGIN
    INSERT INTO dispatch.event_log (topics, messages, skip_user)
    VALUES (ARRAY[emit_except.topic], ARRAY[emit_except.message::text], emit_except.skip_user);
END;
$$;
COMMENT ON FUNCTION dispatch.emit_except(text, jsonb, bigint) IS
    'Publish a WebSocket message to a topic on commit (a batch of one in dispatch.event_log), not '
    'delivered to sockets of skip_user.';

CREATE OR REPLACE FUNCTION dispatch.emit(topic text, message jsonb)
RETURNS void
LANGUAGE plpgsql
VOLATILE
AS $$
BEGIN
    INSERT INTO dispatch.event_log (topics, messages)
    VALUES (ARRAY[emit.topic], ARRAY[emit.message::text]);
END;
$$;
COMMENT ON FUNCTION dispatch.emit(text, jsonb) IS
    'Publish a WebSocket message to a topic (assistant:<id>, assistance:<id>, dispatch) on commit: '
    'a batch of one in dispatch.event_log, numbered (seq) by dispatch.publish_events once committed.';

CREATE OR REPLACE FUNCTION dispatch.emit_many(topics text[], messages jsonb[])
RETURNS void
LANGUAGE plpgsql
VOLATILE
AS $$
BEGIN
    IF array_position(emit_many.topics, NULL) IS NULL THEN
        IF cardinality(emit_many.topics) > 0 THEN
            INSERT INTO dispatch.event_log (topics, messages)
            VALUES (emit_many.topics, emit_many.messages::text[]);
        END IF;
        RETURN;
    END IF;
    -- NULL topics are left out (a caller's "nobody to tell"); the others keep their order.
    INSERT INTO dispatch.event_log (topics, messages)
    SELECT array_agg(t.topic ORDER BY t.n), array_agg(t.message::text ORDER BY t.n)
      FROM unnest(emit_many.topics, emit_many.messages) WITH ORDINALITY AS t(topic, message, n)
     WHERE t.topic IS NOT NULL
    HAVING count(*) > 0;
END;
$$;
COMMENT ON FUNCTION dispatch.emit_many(text[], jsonb[]) IS
    'Publish several WebSocket messages (topics[i] gets messages[i]) on commit, in this order, as '
    'one batch of dispatch.event_log (entries with a NULL topic are left out).';

DROP FUNCTION IF EXISTS dispatch.publish_events(integer);
CREATE FUNCTION dispatch.publish_events(max_rows integer DEFAULT 1000)
RETURNS TABLE (seq bigint, topics text[], messages text[], skip_user bigint)
LANGUAGE plpgsql
VOLATILE
AS $$
#variable_conflict use_column
DECLARE
    last    bigint;
    top     bigint;
    b       record;
    j       text;
    payload text := '';
    upto    bigint;
    fits    boolean := true;
BEGIN
    -- Nothing pending: no lock taken, nothing written (a row lock would cost a WAL flush).
    IF NOT EXISTS (SELECT 1 FROM dispatch.event_log e WHERE e.seq IS NULL) THEN
        RETURN;
    END IF;
    -- Publishers serialise here. Under READ COMMITTED the next statement takes a new snapshot,
    -- so it sees every row the previous publisher numbered: seq order is the commit order of the
    -- publish transactions, and a reader that sees seq S also sees every seq below it.
    SELECT c.last_seq INTO last FROM dispatch.event_cursor c FOR UPDATE;
    -- The batches are returned as they are numbered and, as long as they fit, gathered into the
    -- payloads of the wake-up NOTIFY: "<last seq> [[seq, skip_user, topics, messages], ...]",
    -- under 8000 bytes each. A batch too large for one, and all after it, are announced by the
    -- bare highest seq ("<top>"), on which listeners read the table (dispatch/events/listener.py). The
    -- NOTIFY rides on this transaction, which publishers already take one at a time (the counter
    -- lock): it adds no serialisation of its own.
    FOR b IN
        WITH pending AS (
            -- By ctid below (event_log has no primary key): nobody else updates or deletes an
            -- unpublished row, and the counter's lock keeps other passes out until this one commits.
            SELECT e.ctid AS tid, e.id, cardinality(e.topics) AS n
              FROM dispatch.event_log e WHERE e.seq IS NULL ORDER BY e.id LIMIT max_rows
        ), placed AS (
            -- A batch's first seq follows the frames of the batches before it.
            SELECT p.tid, p.n, last + sum(p.n) OVER (ORDER BY p.id) - p.n + 1 AS first_seq
              FROM pending p
        ), counter AS (
            UPDATE dispatch.event_cursor SET last_seq = last + (SELECT coalesce(sum(n), 0) FROM pending)
            RETURNING 1
        ), numbered AS (
            UPDATE dispatch.event_log e SET seq = p.first_seq FROM placed p WHERE e.ctid = p.tid
            RETURNING e.seq, e.topics, e.messages, e.skip_user
        )
        SELECT n.seq, n.topics, n.messages, n.skip_user FROM numbered n ORDER BY n.seq
    LOOP
        seq := b.seq;
        topics := b.topics;
        messages := b.messages;
        skip_user := b.skip_user;
        RETURN NEXT;
        top := b.seq + cardinality(b.topics) - 1;
        IF fits THEN
            j := json_build_array(b.seq, b.skip_user, b.topics, b.messages)::text;
            fits := octet_length(j) <= 7900;
        END IF;
        IF fits THEN
            IF octet_length(payload) + octet_length(j) > 7900 THEN
                PERFORM pg_notify('dispatch_events', upto || ' [' || payload || ']');
                payload := '';
            END IF;
            payload := CASE WHEN payload = '' THEN j ELSE payload || ',' || j END;
            upto := top;
        END IF;
    END LOOP;
    IF payload <> '' THEN
        PERFORM pg_notify('dispatch_events', upto || ' [' || payload || ']');
    END IF;
    IF NOT fits THEN
        PERFORM pg_notify('dispatch_events', top::text);  -- dispatch.events.CHANNEL in Python
    END IF;
END;
$$;
COMMENT ON FUNCTION dispatch.publish_events(integer) IS
    'Number up to max_rows committed, unpublished batches of dispatch.event_log (a batch of k frames '
    'takes k consecutive seqs, in id order) and return them (seq of the first frame, topics, '
    'messages as JSON text, skip_user); on commit, NOTIFY dispatch_events with them ("<last seq> '
    '[[seq, skip_user, topics, messages], ...]" under 8000 bytes each) and, when some did not fit, '
    'with the bare highest seq. Must run in its own READ COMMITTED transaction; concurrent callers '
    'serialise.';

CREATE OR REPLACE FUNCTION dispatch.event_frame(message jsonb, seq bigint)
RETURNS text
LANGUAGE sql
IMMUTABLE
AS $$
    SELECT (CASE WHEN jsonb_typeof(message) = 'object'
                 THEN message || jsonb_build_object('seq', seq) ELSE message END)::text
$$;
COMMENT ON FUNCTION dispatch.event_frame(jsonb, bigint) IS
    'The text of an event''s WebSocket frame: its message with "seq" added (the servers add it '
    'to the stored text themselves; this is the same frame for psql).';

CREATE OR REPLACE FUNCTION dispatch.prune_events(keep interval, max_rows integer DEFAULT 10000)
RETURNS integer
LANGUAGE plpgsql
VOLATILE
AS $$
DECLARE
    pruned integer;
    top    bigint;
BEGIN
    -- The oldest max_rows published batches by seq (the seq index: no index on created_at to
    -- keep up on every publish), those of them older than keep.
    WITH gone AS (
        DELETE FROM dispatch.event_log e
         WHERE e.ctid IN (SELECT x.tid
                            FROM (SELECT b.ctid AS tid, b.created_at FROM dispatch.event_log b
                                   WHERE b.seq IS NOT NULL ORDER BY b.seq LIMIT max_rows) x
                           WHERE x.created_at < now() - keep)
        RETURNING e.seq + cardinality(e.topics) - 1 AS last_seq, cardinality(e.topics) AS n
    )
    SELECT coalesce(sum(n), 0), max(last_seq) INTO pruned, top FROM gone;
    IF pruned > 0 THEN
        UPDATE dispatch.event_cursor SET pruned_through = greatest(pruned_through, top);
    END IF;
    RETURN pruned;
END;
$$;
COMMENT ON FUNCTION dispatch.prune_events(interval, integer) IS
    'Delete up to max_rows published batches older than keep; returns how many frames they held '
    'and records the highest seq pruned in dispatch.event_cursor.pruned_through. Safe to run from '
    'several processes at once.';

DROP FUNCTION IF EXISTS dispatch.replay_events(text, bigint, integer);
CREATE FUNCTION dispatch.replay_events(topic text, since bigint, max_rows integer)
RETURNS TABLE (seq bigint, skip_user bigint, message text)
LANGUAGE sql
STABLE
AS $$
    SELECT e.seq + f.i - 1, e.skip_user, f.message
      FROM dispatch.event_log e,
           unnest(e.topics, e.messages) WITH ORDINALITY AS f(topic, message, i)
     -- The topic's batches (GIN event_log_topics_idx) from the one holding since + 1 on (its
     -- first seq is at most since + 1).
     WHERE e.topics @> ARRAY[replay_events.topic] AND e.seq IS NOT NULL
       AND e.seq >= coalesce((SELECT max(b.seq) FROM dispatch.event_log b
                               WHERE b.seq <= replay_events.since + 1), 0)
       AND f.topic = replay_events.topic
       AND e.seq + f.i - 1 > replay_events.since
     ORDER BY e.seq, f.i
     LIMIT max_rows
$$;
COMMENT ON FUNCTION dispatch.replay_events(text, bigint, integer) IS
    'The published events of one topic after since, in seq order, as (seq, skip_user, message '
    'JSON text without its seq), for ?since= on WebSockets.';
