-- The event log: emit writes rows in the changing transaction, publish numbers them in order.
BEGIN;
SELECT plan(15);

SELECT has_table('dispatch', 'events', 'the event log');
SELECT hasnt_table('dispatch', 'event_overflow', 'the NOTIFY overflow parking is retired');
SELECT has_function('dispatch', 'publish_events', ARRAY['integer'], 'dispatch.publish_events(max)');

-- Start from a clean log (the test runs in a transaction that is rolled back).
DELETE FROM dispatch.events;
UPDATE dispatch.event_cursor SET last_seq = 100, pruned_through = 0;

SELECT dispatch.emit('assistant:1', '{"type": "a"}');
SELECT dispatch.emit_many(ARRAY['assistant:2', 'assistant:3'],
                          ARRAY['{"type": "b"}', '{"type": "c"}']::jsonb[]);
SELECT dispatch.emit_except('assistance:9', '{"type": "location"}', 7);
SELECT is((SELECT count(*) FROM dispatch.events WHERE seq IS NULL), 4::bigint,
          'emit* write unnumbered rows, nothing else');
SELECT is((SELECT skip_user FROM dispatch.events WHERE topic = 'assistance:9'), 7::bigint,
          'emit_except keeps the user to skip');

-- A change that is rolled back writes no event.
SAVEPOINT change;
SELECT dispatch.emit('assistant:1', '{"type": "rolled back"}');
ROLLBACK TO SAVEPOINT change;
SELECT is((SELECT count(*) FROM dispatch.events), 4::bigint, 'a rolled-back emit leaves no row');

-- Publishing numbers them after the counter, in the order they were written, in bounded batches.
SELECT results_eq(
    $$SELECT seq, topic FROM dispatch.publish_events(3)$$,
    $$VALUES (101::bigint, 'assistant:1'), (102, 'assistant:2'), (103, 'assistant:3')$$,
    'the first batch: seq after the counter, in id order');
SELECT is((SELECT last_seq FROM dispatch.event_cursor), 103::bigint, 'the counter follows');
SELECT results_eq(
    $$SELECT seq, skip_user, frame::jsonb FROM dispatch.publish_events(3)$$,
    $$VALUES (104::bigint, 7::bigint, '{"type": "location", "seq": 104}'::jsonb)$$,
    'the rest, its frame carrying its seq');
SELECT is_empty($$SELECT * FROM dispatch.publish_events(3)$$, 'nothing left: an empty pass');
SELECT is((SELECT last_seq FROM dispatch.event_cursor), 104::bigint,
          'an empty pass moves nothing');

-- Replay of one topic after a seq.
SELECT dispatch.emit('assistant:2', '{"type": "d"}');
SELECT * FROM dispatch.publish_events();
SELECT results_eq(
    $$SELECT seq FROM dispatch.replay_events('assistant:2', 101, 10)$$,
    $$VALUES (102::bigint), (105)$$,
    'replay: the topic''s events after since, in seq order');

-- Pruning: only published events past the retention, and the watermark records it.
UPDATE dispatch.events SET created_at = now() - interval '2 days' WHERE seq <= 102;
SELECT dispatch.emit('assistant:1', '{"type": "old but unpublished"}');
UPDATE dispatch.events SET created_at = now() - interval '2 days' WHERE seq IS NULL;
SELECT is(dispatch.prune_events(interval '1 day'), 2, 'two published events past retention');
SELECT is((SELECT pruned_through FROM dispatch.event_cursor), 102::bigint, 'the watermark');
SELECT is((SELECT count(*) FROM dispatch.events WHERE seq IS NULL), 1::bigint,
          'an unpublished event is never pruned');

SELECT * FROM finish();
ROLLBACK;
