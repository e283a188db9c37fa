-- The event log: emit writes batches in the changing transaction, publish numbers their frames.
BEGIN;
SELECT plan(24);

SELECT has_table('dispatch', 'event_log', 'the event log (one row per batch)');
SELECT has_view('dispatch', 'events', 'one row per frame, for psql');
SELECT hasnt_table('dispatch', 'event_overflow', 'the NOTIFY overflow parking is retired');
SELECT has_function('dispatch', 'publish_events', ARRAY['integer'], 'dispatch.publish_events(max)');
SELECT indexes_are('dispatch', 'event_log',
                   ARRAY['event_log_seq_key', 'event_log_topics_idx', 'event_log_unpublished_idx'],
                   'three indexes: no primary key (0056), nothing else to write per batch');
SELECT is((SELECT pg_get_expr(i.indpred, i.indrelid) FROM pg_index i
            WHERE i.indexrelid = 'dispatch.event_log_seq_key'::regclass AND i.indisunique),
          '(seq IS NOT NULL)', 'seq is unique among published batches, unpublished ones unindexed');

-- Start from a clean log (the test runs in a transaction that is rolled back).
DELETE FROM dispatch.event_log;
UPDATE dispatch.event_cursor SET last_seq = 100, pruned_through = 0;

SELECT dispatch.emit('assistant:1', '{"type": "a"}');
SELECT dispatch.emit_many(ARRAY['assistant:2', 'assistant:3'],
                          ARRAY['{"type": "b"}', '{"type": "c"}']::jsonb[]);
SELECT dispatch.emit_except('assistance:9', '{"type": "location"}', 7);
SELECT is((SELECT count(*) FROM dispatch.event_log WHERE seq IS NULL), 3::bigint,
          'one unnumbered batch per emit call');
SELECT is((SELECT count(*) FROM dispatch.events WHERE seq IS NULL), 4::bigint,
          'holding four frames');
SELECT is((SELECT skip_user FROM dispatch.events WHERE topic = 'assistance:9'), 7::bigint,
          'emit_except keeps the user to skip');
SELECT dispatch.emit_many(ARRAY[NULL, 'assistant:5', NULL], ARRAY['{}', '{"type": "e"}', '{}']::jsonb[]);
SELECT is((SELECT topics FROM dispatch.event_log ORDER BY id DESC LIMIT 1), ARRAY['assistant:5'],
          'emit_many leaves out NULL topics');
SELECT dispatch.emit_many(ARRAY[NULL]::text[], ARRAY['{}']::jsonb[]);
SELECT dispatch.emit_many(ARRAY[]::text[], ARRAY[]::jsonb[]);
SELECT is((SELECT count(*) FROM dispatch.event_log), 4::bigint, 'and writes nothing for nobody');
DELETE FROM dispatch.event_log WHERE topics = ARRAY['assistant:5'];

-- A change that is rolled back writes no event.
SAVEPOINT change;
SELECT dispatch.emit('assistant:1', '{"type": "rolled back"}');
ROLLBACK TO SAVEPOINT change;
SELECT is((SELECT count(*) FROM dispatch.events), 4::bigint, 'a rolled-back emit leaves no row');

-- Publishing numbers the frames after the counter, in the order written, in bounded batches.
SELECT results_eq(
    $$SELECT seq, topics FROM dispatch.publish_events(2)$$,
    $$VALUES (101::bigint, ARRAY['assistant:1']), (102, ARRAY['assistant:2', 'assistant:3'])$$,
    'the first two batches: a batch of k frames takes k seqs after the counter, in id order');
SELECT is((SELECT last_seq FROM dispatch.event_cursor), 103::bigint, 'the counter follows');
SELECT results_eq(
    $$SELECT seq, topic FROM dispatch.events WHERE seq IS NOT NULL ORDER BY seq$$,
    $$VALUES (101::bigint, 'assistant:1'), (102, 'assistant:2'), (103, 'assistant:3')$$,
    'every frame has its own seq');
SELECT results_eq(
    $$SELECT seq, skip_user, messages FROM dispatch.publish_events(3)$$,
    $$VALUES (104::bigint, 7::bigint, ARRAY['{"type": "location"}'])$$,
    'the rest, with its user to skip and its message as JSON text');
SELECT is(dispatch.event_frame('{"type": "location"}', 104), '{"seq": 104, "type": "location"}',
          'a frame is its message with its seq');
SELECT is_empty($$SELECT * FROM dispatch.publish_events(3)$$, 'nothing left: an empty pass');
SELECT is((SELECT last_seq FROM dispatch.event_cursor), 104::bigint,
          'an empty pass moves nothing');

-- Replay of one topic after a seq, including a seq in the middle of a batch.
SELECT dispatch.emit('assistant:2', '{"type": "d"}');
SELECT * FROM dispatch.publish_events();
SELECT results_eq(
    $$SELECT seq FROM dispatch.replay_events('assistant:2', 101, 10)$$,
    $$VALUES (102::bigint), (105)$$,
    'replay: the topic''s events after since, in seq order');
SELECT results_eq(
    $$SELECT seq, message FROM dispatch.replay_events('assistant:3', 102, 10)$$,
    $$VALUES (103::bigint, '{"type": "c"}')$$,
    'replay from inside a batch: only its frames after since');

-- Pruning: only published batches past the retention, and the watermark records it.
UPDATE dispatch.event_log SET created_at = now() - interval '2 days' WHERE seq <= 102;
SELECT dispatch.emit('assistant:1', '{"type": "old but unpublished"}');
UPDATE dispatch.event_log SET created_at = now() - interval '2 days' WHERE seq IS NULL;
SELECT is(dispatch.prune_events(interval '1 day'), 3, 'three published frames past retention');
SELECT is((SELECT pruned_through FROM dispatch.event_cursor), 103::bigint,
          'the watermark: the last frame of the last batch pruned');
SELECT is((SELECT count(*) FROM dispatch.events WHERE seq IS NULL), 1::bigint,
          'an unpublished event is never pruned');

SELECT * FROM finish();
ROLLBACK;
