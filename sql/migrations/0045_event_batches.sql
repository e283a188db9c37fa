-- The event log holds one row per emit call (a batch of frames) instead of one row per frame.
-- A request and its ten offers is one row, not twelve; its cancel with ten withdrawals and the
-- dispatchers' feed is a few. Every frame still has its own seq: a batch's row carries the seq of
-- its first frame, frame i (1-based) has seq + i - 1, and the publisher moves the counter by the
-- batch's size, so seqs stay gapless per frame (contract, WebSockets). Messages are stored as
-- JSON text, the form the sockets send, so that no reader converts them again.
CREATE TABLE dispatch.event_log (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    seq        bigint UNIQUE,              -- the first frame's seq; NULL until published
    topics     text[] NOT NULL,            -- topics[i] gets messages[i]
    messages   text[] NOT NULL,            -- JSON text of each frame, without its seq
    skip_user  bigint,                     -- not delivered to this user's sockets
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT event_log_batch_shape
        CHECK (cardinality(topics) = cardinality(messages) AND cardinality(topics) > 0)
);
-- The publisher's work list: small, since rows leave it within milliseconds.
CREATE INDEX event_log_unpublished_idx ON dispatch.event_log (id) WHERE seq IS NULL;
-- Retention pruning: WHERE created_at < now() - retention.
CREATE INDEX event_log_created_idx ON dispatch.event_log (created_at) WHERE seq IS NOT NULL;

-- What was logged before keeps its seq (published) or waits for one (unpublished), one frame each.
INSERT INTO dispatch.event_log (seq, topics, messages, skip_user, created_at)
SELECT e.seq, ARRAY[e.topic], ARRAY[e.message::text], e.skip_user, e.created_at
  FROM dispatch.events e ORDER BY e.id;

DROP TABLE dispatch.events;

-- The frame-per-row shape, for analysts and psql: every logged frame with its own seq.
CREATE VIEW dispatch.events AS
SELECT e.id AS batch_id, f.i::integer AS position, e.seq + f.i - 1 AS seq, f.topic,
       f.message::jsonb AS message, e.skip_user, e.created_at
  FROM dispatch.event_log e,
       unnest(e.topics, e.messages) WITH ORDINALITY AS f(topic, message, i);
COMMENT ON VIEW dispatch.events IS
    'Every logged WebSocket frame: its batch (dispatch.event_log row) and position in it, seq '
    '(NULL until published), topic, message, skip_user and created_at.';
