-- Real-time events as a transactional outbox: dispatch.emit inserts one batch of frames in the
-- changing transaction, a publisher numbers committed batches (seq, serialised on
-- dispatch.event_cursor) and wakes the listeners, which read them back by seq; `?since=<seq>`
-- replays from the same table. The whole design: docs/decisions/0002-event-log-outbox.md.

CREATE TABLE dispatch.event_log (
    id         bigint GENERATED ALWAYS AS IDENTITY,
    seq        bigint,
    topics     text[] NOT NULL,
    messages   text[] NOT NULL,
    skip_user  bigint,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT event_log_batch_shape
        CHECK (cardinality(topics) = cardinality(messages) AND cardinality(topics) > 0)
) WITH (toast_tuple_target = 8160);
COMMENT ON TABLE dispatch.event_log IS
    'One row per dispatch.emit call: a batch of WebSocket frames, topics[i] getting messages[i]. '
    'No primary key: nothing looks a batch up by id (the publisher numbers unpublished rows by '
    'ctid within its pass, pruning deletes by ctid), and a key would take an index entry at insert '
    'and again at publish. Rows up to ~8 kB stay inline and uncompressed (toast_tuple_target).';
COMMENT ON COLUMN dispatch.event_log.id IS
    'Insertion order, unique by its identity: the publisher takes unpublished batches in id order.';
COMMENT ON COLUMN dispatch.event_log.seq IS
    'The first frame''s seq, NULL until published; frame i (1-based) has seq + i - 1, so seqs are '
    'gapless per frame.';
COMMENT ON COLUMN dispatch.event_log.messages IS
    'JSON text of each frame without its seq, the form the sockets send, so no reader converts it '
    'again. Compressed with lz4 where the server has it (pglz otherwise) when a batch passes '
    'toast_tuple_target.';
COMMENT ON COLUMN dispatch.event_log.skip_user IS
    'Not delivered to this user''s sockets (a location relay skips its sender).';
-- A server built without lz4 keeps pglz.
DO $$
BEGIN
    ALTER TABLE dispatch.event_log ALTER COLUMN messages SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported OR invalid_parameter_value THEN
    NULL;
END;
$$;
CREATE INDEX event_log_unpublished_idx ON dispatch.event_log (id) WHERE seq IS NULL;
COMMENT ON INDEX dispatch.event_log_unpublished_idx IS
    'The publisher''s work list: small, since rows leave it within milliseconds.';
CREATE UNIQUE INDEX event_log_seq_key ON dispatch.event_log (seq) WHERE seq IS NOT NULL;
COMMENT ON INDEX dispatch.event_log_seq_key IS
    'seq is unique among published batches. Partial: unpublished NULLs would be indexed for '
    'nothing, and every read by seq (catch-up, replay, pruning) implies seq IS NOT NULL. Pruning '
    'walks it in seq order too, so created_at has no index.';
CREATE INDEX event_log_topics_idx ON dispatch.event_log USING gin (topics)
    WITH (fastupdate = on, gin_pending_list_limit = 256) WHERE seq IS NOT NULL;
COMMENT ON INDEX dispatch.event_log_topics_idx IS
    'Replay of one topic (?since=) finds its batches through the topics they hold. Partial on seq, '
    'so its entries are written by the publisher when it numbers a batch, never by a request. With '
    'a pending list (fastupdate) the entries are appended and merged in bulk (past 256 kB or by '
    'autovacuum) instead of rewriting posting lists one topic at a time: half the WAL of a '
    'request + cancel.';

CREATE TABLE dispatch.event_cursor (
    one            boolean PRIMARY KEY DEFAULT true CHECK (one),
    last_seq       bigint NOT NULL DEFAULT 0,
    pruned_through bigint NOT NULL DEFAULT 0
);
COMMENT ON TABLE dispatch.event_cursor IS
    'One row: the last frame seq handed out (publishers lock it, so seq order is publish-commit '
    'order) and the highest seq pruned (a since below it may have lost events to retention).';
INSERT INTO dispatch.event_cursor DEFAULT VALUES;

CREATE VIEW dispatch.events AS
SELECT e.id AS batch_id, f.i::integer AS position, e.seq + f.i - 1 AS seq, f.topic,
       f.message::jsonb AS message, e.skip_user, e.created_at
  FROM dispatch.event_log e,
       unnest(e.topics, e.messages) WITH ORDINALITY AS f(topic, message, i);
COMMENT ON VIEW dispatch.events IS
    'Every logged WebSocket frame: its batch (dispatch.event_log row) and position in it, seq '
    '(NULL until published), topic, message, skip_user and created_at.';
