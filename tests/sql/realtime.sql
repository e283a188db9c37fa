-- Real time: the emit seam, channel membership and chat; the read rule of a request.
BEGIN;
SELECT plan(22);

SELECT has_table('dispatch', 'chat_messages', 'chat messages table');
SELECT has_function('dispatch', 'emit', ARRAY['text', 'jsonb'], 'dispatch.emit(topic, message)');

INSERT INTO dispatch.users (id, role, name, phone_number) OVERRIDING SYSTEM VALUE
VALUES (101, 'client', 'Amel', '+1991'), (102, 'assistant', 'Karim', '+1992'),
       (103, 'client', 'Badr', '+1993');
INSERT INTO dispatch.assistance_requests (id, client_id, assistant_id, status, service_type,
    vehicle_type, pickup, pickup_h3_r7, price, total_price, currency) OVERRIDING SYSTEM VALUE
VALUES (501, 101, 102, 'accepted', 'towing', 'light', ST_MakePoint(3.05, 36.75)::geography, 7,
        '{}', 1500, 'DZD'),
       (502, 103, NULL, 'requested', 'towing', 'light', ST_MakePoint(3.05, 36.75)::geography, 7,
        '{}', 1500, 'DZD');

SELECT is(dispatch.channel_status(501, 101) ->> 'status', 'accepted', 'the client may join');
SELECT is((dispatch.channel_status(501, 102) -> 'assistant' ->> 'id')::bigint, 102::bigint,
          'the assigned assistant may join and is named in the status');
SELECT is(dispatch.channel_status(501, 103), NULL, 'another client may not join');
SELECT is(dispatch.channel_status(999, 101), NULL, 'an unknown request has no channel');

SELECT is(dispatch.post_chat(501, 101, 'on my way?') ->> 'sender', '101', 'chat names its sender');
SELECT is((SELECT count(*) FROM dispatch.chat_messages WHERE assistance_id = 501), 1::bigint,
          'chat is stored');
SELECT throws_ok($$SELECT dispatch.post_chat(501, 103, 'let me in')$$, 'DP001', NULL,
                 'an outsider cannot post');

-- The chat limit: one bucket per sender in dispatch.token_buckets (every process shares it).
SELECT lives_ok($$SELECT dispatch.post_chat(501, 102, 'one', per_minute => 2)$$, 'a first chat');
SELECT lives_ok($$SELECT dispatch.post_chat(501, 102, 'two', per_minute => 2)$$, 'a burst of two');
SELECT throws_ok($$SELECT dispatch.post_chat(501, 102, 'three', per_minute => 2)$$, 'DPC01',
                 'too many chat messages; slow down', 'the third within the minute is refused');
SELECT is(dispatch.take_token('nolimit', 0, 0), true, 'a capacity of 0 is no limit');

-- Without an assistant, `user_id IN (client_id, assistant_id)` is NULL for a stranger; the rule
-- answers false, and the readers built on it answer nothing.
SELECT is(dispatch.can_read_assistance(502, 103), true, 'its client reads a request');
SELECT is(dispatch.can_read_assistance(502, 101), false,
          'a stranger does not read a request without an assistant (false, not NULL)');
SELECT is(dispatch.can_read_assistance(502, 102), false, 'neither does an assistant');
SELECT is(dispatch.assistance_track(502, 101), NULL, 'so the track is not shown to a stranger');
SELECT is(dispatch.can_read_assistance(999, 101), false, 'an unknown request is not readable');

-- The channel follows the job: once it is over, its assistant is no longer a party.
SELECT ok(dispatch.channel_party(r, 101) AND dispatch.channel_party(r, 102)
          AND NOT dispatch.channel_party(r, 103), 'an open job: its client and assistant only')
  FROM dispatch.assistance_requests r WHERE r.id = 501;
UPDATE dispatch.assistance_requests SET status = 'completed' WHERE id = 501;
SELECT is(dispatch.channel_status(501, 102), NULL, 'a finished job''s assistant may not join');
SELECT isnt(dispatch.channel_status(501, 101), NULL, 'its client still may');
SELECT throws_ok($$SELECT dispatch.post_chat(501, 102, 'one more thing')$$, 'DP001', NULL,
                 'a finished job''s assistant cannot post');

SELECT * FROM finish();
ROLLBACK;
