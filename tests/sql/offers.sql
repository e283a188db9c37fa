-- Offer rounds: round 1 at request time, the round driver, arrivals, decline, accept, cancel,
-- exhaustion. Time is moved by rewriting round_ends_at / arrivals_checked_at, never by sleeping
-- (inside this one transaction now() stands still).
BEGIN;
SELECT plan(54);

UPDATE dispatch.settings SET value = '3' WHERE key = 'matching_max_results';
UPDATE dispatch.settings SET value = '10000' WHERE key = 'matching_radius_m';
UPDATE dispatch.settings SET value = '1.5' WHERE key = 'offer_radius_growth';
UPDATE dispatch.settings SET value = '3' WHERE key = 'offer_max_rounds';
UPDATE dispatch.settings SET value = '20' WHERE key = 'offer_timeout_s';

-- Clients 901-904; towing assistants 911-917 at 1, 2, 3, 4, 5, 6 and 12 km north of the pickup,
-- 918 at 30 km (beyond round 3's 22.5 km), 919 (inactive) at 0.5 km, 920 a repairer at 0.2 km.
INSERT INTO dispatch.users (id, role, name, phone_number) OVERRIDING SYSTEM VALUE
SELECT i, CASE WHEN i < 910 THEN 'client' ELSE 'assistant' END, 'U' || i, '+1990' || i
FROM generate_series(901, 904) i UNION ALL
SELECT i, 'assistant', 'U' || i, '+1990' || i FROM generate_series(911, 920) i;
INSERT INTO dispatch.assistants (user_id, service_type, vehicle_type, driving_license_cat,
    driving_license_num, driving_license_expiry, vehicle_registration_num, is_active)
SELECT i, CASE WHEN i = 920 THEN 'repair' ELSE 'towing' END, 'light', 'c', 'x', current_date + 10,
       1, i <> 919
FROM generate_series(911, 920) i;
INSERT INTO dispatch.positions (user_id, geog, h3_r7, h3_r8, h3_r9)
SELECT u, ST_MakePoint(3.05, 36.75 + km / 111.0)::geography, 7, 0, 0
FROM (VALUES (911, 1.0), (912, 2.0), (913, 3.0), (914, 4.0), (915, 5.0), (916, 6.0),
             (917, 12.0), (918, 30.0), (919, 0.5), (920, 0.2)) v(u, km);

CREATE FUNCTION pg_temp.offered(job bigint, k integer) RETURNS bigint[] LANGUAGE sql AS
    $$ SELECT coalesce(array_agg(assistant_id ORDER BY distance_m), '{}') FROM dispatch.offers
        WHERE assistance_id = job AND round = k $$;
CREATE FUNCTION pg_temp.state(job bigint, who bigint) RETURNS text LANGUAGE sql AS
    $$ SELECT state || coalesce('/' || close_reason, '') FROM dispatch.offers
        WHERE assistance_id = job AND assistant_id = who $$;
CREATE FUNCTION pg_temp.due(job bigint) RETURNS void LANGUAGE sql AS
    $$ UPDATE dispatch.assistance_requests SET round_ends_at = now() - interval '1 second'
        WHERE id = job $$;

-- Round 1 at request time.
SELECT is(
    (SELECT array_agg((m ->> 'assistant_id')::bigint)
       FROM jsonb_array_elements(dispatch.request_assistance(901, 36.75, 3.05, 7)
                                 -> 'nearby_assistants') m),
    ARRAY[911, 912, 913]::bigint[], 'round 1 goes to the N nearest eligible assistants');
SELECT id AS job FROM dispatch.assistance_requests WHERE client_id = 901 \gset
SELECT is(pg_temp.offered(:job, 1), ARRAY[911, 912, 913]::bigint[], 'and is recorded as offers');
SELECT results_eq(
    format($$SELECT e.topics, array_agg(m ->> 'type' ORDER BY i)
               FROM dispatch.event_log e, unnest(e.messages::jsonb[]) WITH ORDINALITY AS x(m, i)
              WHERE e.seq IS NULL AND 'assistance:%s' = ANY (e.topics) GROUP BY e.id, e.topics$$, :job),
    format($$VALUES (ARRAY['assistance:%s', 'dispatch', 'assistant:911', 'assistant:912',
                           'assistant:913', 'dispatch'],
                     ARRAY['status', 'request_created', 'new_assistance_request',
                           'new_assistance_request', 'new_assistance_request', 'offer'])$$, :job),
    'the request is announced in one batch: its status, the feed, the offers, the round');
SELECT results_eq(
    format($$SELECT searching, offer_round, round_ends_at = now() + interval '20 s', round_radius_m
             FROM dispatch.assistance_requests WHERE id = %s$$, :job),
    $$VALUES (true, 1::smallint, true, 10000::double precision)$$,
    'the request is searching in round 1, ending offer_timeout_s from now');
SELECT ok((SELECT bool_and(expires_at = now() + interval '20 s' AND state = 'open')
             FROM dispatch.offers WHERE assistance_id = :job), 'round 1 offers are open until then');
SELECT is((dispatch.get_assistance(:job, 901) ->> 'searching')::boolean, true,
          'the assistance object says searching');
SELECT is((SELECT offered FROM dispatch.offer_rounds WHERE assistance_id = :job AND round = 1), 3,
          'the round is recorded with its count');

SELECT throws_ok(format('SELECT dispatch.accept_assistance(%s, 914)', :job), 'DP014', NULL,
                 'an assistant without an offer cannot accept');
SELECT throws_ok('SELECT dispatch.accept_assistance(999999, 914)', 'DP014', NULL,
                 'nor can anyone accept an unknown request: the same answer');
SELECT throws_ok(format('SELECT dispatch.decline_offer(%s, 914)', :job), 'DP017', NULL,
                 'declining without an offer is DP017');

-- Nothing is due yet.
SELECT is(dispatch.advance_offer_rounds(), 0, 'the driver does nothing before the deadline');
SELECT is(pg_temp.offered(:job, 2), '{}'::bigint[], 'no round 2 yet');

-- The round times out.
SELECT pg_temp.due(:job);
SELECT is(dispatch.advance_offer_rounds(), 1, 'a due round is advanced');
SELECT is(pg_temp.state(:job, 911), 'expired', 'round 1 offers expire');
SELECT is(pg_temp.offered(:job, 2), ARRAY[914, 915, 916]::bigint[],
          'round 2 goes to the next N nearest not offered yet');
SELECT is((SELECT offer_round FROM dispatch.assistance_requests WHERE id = :job), 2::smallint,
          'the request is in round 2');
SELECT is(dispatch.advance_offer_rounds(), 0, 'a second driver pass changes nothing');
SELECT throws_ok(format('SELECT dispatch.accept_assistance(%s, 911)', :job), 'DP015', NULL,
                 'an expired offer cannot be accepted');

-- Everyone in round 2 declines: round 3 starts at once, with the grown radius.
SELECT is(dispatch.decline_offer(:job, 914), '{"assistance_id": 0, "declined": true}'::jsonb
                                              || jsonb_build_object('assistance_id', :job),
          'a decline answers {assistance_id, declined}');
SELECT lives_ok(format('SELECT dispatch.decline_offer(%s, 915)', :job), 'second decline');
SELECT is(pg_temp.offered(:job, 3), '{}'::bigint[], 'a round with open offers left goes on');
SELECT lives_ok(format('SELECT dispatch.decline_offer(%s, 916)', :job), 'last decline');
SELECT is(pg_temp.offered(:job, 3), ARRAY[917]::bigint[],
          'round 3 starts at once and reaches 12 km (10 km * 1.5^2 = 22.5 km, not 30)');
SELECT is(pg_temp.state(:job, 914), 'declined', 'a decline is recorded');
SELECT throws_ok(format('SELECT dispatch.accept_assistance(%s, 914)', :job), 'DP016', NULL,
                 'a decliner cannot accept');
SELECT throws_ok(format('SELECT dispatch.decline_offer(%s, 914)', :job), 'DP017', NULL,
                 'nor decline twice');

-- Supply arriving: 919 goes active next to the pickup during round 3.
UPDATE dispatch.assistants SET is_active = true WHERE user_id = 919;
SELECT is(dispatch.advance_offer_rounds(), 0, 'arrivals are checked every offer_arrival_check_s');
UPDATE dispatch.assistance_requests SET arrivals_checked_at = now() - interval '3 s' WHERE id = :job;
SELECT is(dispatch.advance_offer_rounds(), 1, 'then the arrival is offered');
SELECT is(pg_temp.offered(:job, 3), ARRAY[919, 917]::bigint[], 'as part of the current round');
SELECT is((SELECT arrivals FROM dispatch.offer_rounds WHERE assistance_id = :job AND round = 3), 1,
          'and recorded as an arrival');

-- 919 accepts: the others' open offers are withdrawn, the search stops.
SELECT is(dispatch.accept_assistance(:job, 919) ->> 'status', 'accepted', 'an offered assistant accepts');
SELECT is(pg_temp.state(:job, 919), 'accepted', 'the offer is accepted');
SELECT is(pg_temp.state(:job, 917), 'withdrawn/accepted', 'the other open offer is withdrawn');
SELECT results_eq(format('SELECT searching, round_ends_at FROM dispatch.assistance_requests
                           WHERE id = %s', :job),
                  $$VALUES (false, NULL::timestamptz)$$, 'the search stopped');
SELECT throws_ok(format('SELECT dispatch.accept_assistance(%s, 917)', :job), 'DP003', NULL,
                 'a withdrawn offer cannot be accepted: already accepted');

-- A search that nobody answers: rounds 1-3, then exhaustion.
SELECT jsonb_typeof(dispatch.request_assistance(902, 36.75, 3.05, 7));
SELECT id AS job2 FROM dispatch.assistance_requests WHERE client_id = 902 \gset
SELECT pg_temp.due(:job2);
SELECT dispatch.advance_offer_rounds();
SELECT pg_temp.due(:job2);
SELECT dispatch.advance_offer_rounds();
SELECT is(pg_temp.offered(:job2, 3), ARRAY[917]::bigint[], 'round 3 of the second request');
SELECT pg_temp.due(:job2);
SELECT is(dispatch.advance_offer_rounds(), 1, 'the last round ends');
SELECT results_eq(format($$SELECT status, searching, exhausted_at = now(), offer_round
                            FROM dispatch.assistance_requests WHERE id = %s$$, :job2),
                  $$VALUES ('requested'::text, false, true, 3::smallint)$$,
                  'the search is exhausted and the request still requested');
SELECT is((SELECT count(*)::int FROM dispatch.offers WHERE assistance_id = :job2 AND state = 'open'),
          0, 'no offer is left open');
SELECT is((SELECT count(*)::int FROM dispatch.offers WHERE assistance_id = :job2), 7,
          'seven assistants were offered, each once');

-- A client cancels a searching request: its offers are withdrawn with reason canceled.
SELECT jsonb_typeof(dispatch.request_assistance(903, 36.75, 3.05, 7));
SELECT id AS job3 FROM dispatch.assistance_requests WHERE client_id = 903 \gset
SELECT lives_ok(format('SELECT dispatch.update_assistance_status(%s, 903, %L)', :job3, 'canceled'),
                'the client cancels');
SELECT is(pg_temp.state(:job3, 911), 'withdrawn/canceled', 'its offers are withdrawn');
-- One batch (0057): each closed offer's frame to the dispatchers, then each assistant's withdrawal.
SELECT results_eq(
    format($$SELECT e.topics, array_agg(m ->> 'type' ORDER BY i), array_agg(m ->> 'state' ORDER BY i)
               FROM dispatch.event_log e, unnest(e.messages::jsonb[]) WITH ORDINALITY AS x(m, i)
              WHERE e.seq IS NULL AND 'assistant:911' = ANY (e.topics)
                AND e.messages[1]::jsonb ->> 'assistance_id' = '%s'
                AND e.messages[1]::jsonb ->> 'type' = 'offer' AND 'withdrawn' = ALL
                    (SELECT y ->> 'state' FROM unnest(e.messages::jsonb[]) y WHERE y ->> 'type' = 'offer')
              GROUP BY e.id, e.topics$$, :job3),
    format($$SELECT topics, array_cat(array_fill('offer'::text, ARRAY[n]),
                                      array_fill('offer_withdrawn'::text, ARRAY[n])),
                    array_cat(array_fill('withdrawn'::text, ARRAY[n]), array_fill(NULL::text, ARRAY[n]))
               FROM (SELECT count(*)::int AS n,
                            array_cat(array_fill('dispatch'::text, ARRAY[count(*)::int]),
                                      array_agg('assistant:' || assistant_id ORDER BY assistant_id)) AS topics
                       FROM dispatch.offers WHERE assistance_id = %s) o$$, :job3),
    'a cancel announces the closed offers to dispatchers and assistants in one batch');
SELECT is((SELECT count(*)::int FROM dispatch.event_log e
            WHERE e.seq IS NULL AND e.messages[1]::jsonb ->> 'type' = 'offer'
              AND e.messages[1]::jsonb ->> 'assistance_id' = :'job3'
              AND e.messages[1]::jsonb ->> 'state' = 'withdrawn'), 1,
          'and in no other batch');
SELECT is((SELECT (m ->> 'pickup')::jsonb ? 'lat' FROM dispatch.event_log e,
                  unnest(e.messages::jsonb[]) m
            WHERE e.seq IS NULL AND m ->> 'type' = 'offer' AND m ->> 'assistant_id' = '911'
              AND m ->> 'assistance_id' = :'job3'), true,
          'a dispatcher''s offer frame carries the pickup');
SELECT is((SELECT array_agg(tgname::text ORDER BY tgname) FROM pg_trigger
            WHERE tgrelid = 'dispatch.offers'::regclass AND NOT tgisinternal),
          ARRAY['offers_final_guard'], 'no statement trigger writes a batch of its own for offers');

-- Moving into reach of a full round: a newcomer closer than the round's farthest joins it (as the
-- round's start would have picked it), one farther does not.
SELECT jsonb_typeof(dispatch.request_assistance(904, 36.75, 3.05, 7));
SELECT id AS job4 FROM dispatch.assistance_requests WHERE client_id = 904 \gset
UPDATE dispatch.positions SET geog = ST_MakePoint(3.05, 36.75 + 2.5 / 111.0)::geography
 WHERE user_id = 916;
UPDATE dispatch.positions SET geog = ST_MakePoint(3.05, 36.75 + 3.5 / 111.0)::geography
 WHERE user_id = 915;
UPDATE dispatch.assistance_requests SET arrivals_checked_at = now() - interval '3 s' WHERE id = :job4;
SELECT is(dispatch.advance_offer_rounds(), 1, 'the arrival check finds someone');
SELECT is(pg_temp.offered(:job4, 1), ARRAY[911, 912, 916, 913]::bigint[],
          'a full round takes a newcomer closer than its farthest, not one farther');

-- The offers' cascades (0052: triggers instead of foreign keys). Offers always name a request
-- and an assistant that exist; deleting either deletes the offers, truncating either truncates.
SELECT is((SELECT count(*)::int FROM dispatch.offers o
            WHERE NOT EXISTS (SELECT 1 FROM dispatch.assistance_requests r WHERE r.id = o.assistance_id)
               OR NOT EXISTS (SELECT 1 FROM dispatch.assistants a WHERE a.user_id = o.assistant_id)),
          0, 'every offer names an existing request and assistant');
SELECT cmp_ok((SELECT count(*)::int FROM dispatch.offers WHERE assistant_id = 917), '>', 0,
              'assistant 917 holds offers');
DELETE FROM dispatch.users WHERE id = 917;
SELECT is((SELECT count(*)::int FROM dispatch.offers WHERE assistant_id = 917), 0,
          'deleting an assistant deletes the offers made to them');
DELETE FROM dispatch.assistance_events WHERE assistance_id = :job3;
DELETE FROM dispatch.offer_rounds WHERE assistance_id = :job3;
DELETE FROM dispatch.assistance_requests WHERE id = :job3;
SELECT is((SELECT count(*)::int FROM dispatch.offers WHERE assistance_id = :job3), 0,
          'deleting a request deletes its offers');
SELECT is((SELECT count(*)::int FROM dispatch.offers WHERE assistance_id = :job4), 4,
          'and no other request''s');
SET client_min_messages = warning;
TRUNCATE dispatch.assistance_requests CASCADE;
SELECT is((SELECT count(*)::int FROM dispatch.offers), 0,
          'truncating the requests truncates the offers');

SELECT * FROM finish();
ROLLBACK;
