-- Real time: the emit seam, channel membership and chat.
BEGIN;
SELECT plan(13);

SELECT has_table('dispatch', 'chat_messages', 'chat messages table');
SELECT has_function('dispatch', 'emit', ARRAY['text', 'jsonb'], 'dispatch.emit(topic, message)');

INSERT INTO dispatch.users (id, role, name, phone_number) OVERRIDING SYSTEM VALUE
VALUES (101, 'client', 'Amel', '+1991'), (102, 'assistant', 'Karim', '+1992'),
       (103, 'client', 'Badr', '+1993');
INSERT INTO dispatch.assistance_requests (id, client_id, assistant_id, status, service_type,
    vehicle_type, pickup, pickup_h3_r7, price, total_price, currency) OVERRIDING SYSTEM VALUE
VALUES (501, 101, 102, 'accepted', 'towing', 'light', ST_MakePoint(3.05, 36.75)::geography, 7,
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
