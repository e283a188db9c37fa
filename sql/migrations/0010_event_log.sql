-- Real-time events become a transactional outbox: dispatch.emit() inserts a row in the changing
-- transaction (no NOTIFY there, so no cluster-wide commit lock), a publisher numbers committed rows
-- (seq, in one short transaction serialised on dispatch.event_cursor) and wakes the listeners, which
-- read the rows back by seq. The table is also what `?since=<seq>` replays from.
CREATE TABLE dispatch.events (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    seq        bigint UNIQUE,              -- NULL until published; then gapless and increasing
    topic      text NOT NULL,
    message    jsonb NOT NULL,
    skip_user  bigint,                     -- not delivered to this user's sockets (location relays)
    created_at timestamptz NOT NULL DEFAULT now()
);
-- The publisher's work list: small, since rows leave it within milliseconds.
CREATE INDEX events_unpublished_idx ON dispatch.events (id) WHERE seq IS NULL;
-- Replay of one channel: WHERE topic = $1 AND seq > $2 ORDER BY seq.
CREATE INDEX events_topic_seq_idx ON dispatch.events (topic, seq) WHERE seq IS NOT NULL;
-- Retention pruning: WHERE created_at < now() - retention.
CREATE INDEX events_created_idx ON dispatch.events (created_at) WHERE seq IS NOT NULL;

-- One row: the last seq handed out (publishers lock it, so seq order is publish-commit order) and
-- the highest seq pruned (a `since` below it may have lost events to retention).
CREATE TABLE dispatch.event_cursor (
    one            boolean PRIMARY KEY DEFAULT true CHECK (one),
    last_seq       bigint NOT NULL DEFAULT 0,
    pruned_through bigint NOT NULL DEFAULT 0
);
INSERT INTO dispatch.event_cursor DEFAULT VALUES;

-- Messages live in dispatch.events now, whatever their size: the NOTIFY overflow parking is gone.
DROP TABLE dispatch.event_overflow;
