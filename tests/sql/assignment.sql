-- offer_policy assignment: no round 1, the batch's problem (candidate pairs and their costs), the
-- issue of a solution (exclusive offers, the record), decline and expiry back into the queue,
-- the fall back to rounds, and the explanations. The solver itself is Python's
-- (tests/assistance/test_assignment_solve.py): here the solution is given. Time is moved by
-- rewriting queued_at / expires_at (inside this one transaction now() stands still).
BEGIN;
SELECT plan(39);

UPDATE dispatch.settings SET value = '"assignment"' WHERE key = 'offer_policy';
UPDATE dispatch.settings SET value = '2' WHERE key = 'assignment_window_s';
UPDATE dispatch.settings SET value = '15' WHERE key = 'assignment_offer_timeout_s';
UPDATE dispatch.settings SET value = '2' WHERE key = 'assignment_max_batches';
-- 1800 s at the straight line's 20 km/h: 10 km.
UPDATE dispatch.settings SET value = '1800' WHERE key = 'assignment_cost_cap_s';
UPDATE dispatch.settings SET value = '20' WHERE key = 'straight_line_speed_kmh';
UPDATE dispatch.settings SET value = '3' WHERE key = 'matching_max_results';

-- Clients 901-904. The crossing: R1 (901) at 0 km, R2 (902) at 6 km north; A (911) at 2 km is
-- the nearest to both, B (912) at 5 km south reaches R1 (5 km) but not R2 (11 km: over the cap).
-- C (913) at 30 km (beyond the cap for everyone), D (914) a repairer at 1 km.
INSERT INTO dispatch.users (id, role, name, phone_number) OVERRIDING SYSTEM VALUE
SELECT i, 'client', 'U' || i, '+1990' || i FROM generate_series(901, 904) i UNION ALL
SELECT i, 'assistant', 'U' || i, '+1990' || i FROM generate_series(911, 914) i;
INSERT INTO dispatch.assistants (user_id, service_type, vehicle_type, driving_license_cat,
    driving_license_num, driving_license_expiry, vehicle_registration_num, is_active)
SELECT i, CASE WHEN i = 914 THEN 'repair' ELSE 'towing' END, 'light', 'c', 'x', current_date + 10,
       1, true
FROM generate_series(911, 914) i;
INSERT INTO dispatch.positions (user_id, geog, h3_r7, h3_r8, h3_r9)
SELECT u, ST_MakePoint(3.05, 36.75 + km / 111.0)::geography, 7, 0, 0
FROM (VALUES (911, 2.0), (912, -5.0), (913, 30.0), (914, 1.0)) v(u, km);

CREATE FUNCTION pg_temp.due() RETURNS void LANGUAGE sql AS
    $$ UPDATE dispatch.assistance_requests SET queued_at = now() - interval '3 s'
        WHERE queued_at IS NOT NULL $$;

-- No round 1: the request waits for the next batch.
SELECT is(dispatch.request_assistance(901, 36.75, 3.05, 7) -> 'nearby_assistants', '[]'::jsonb,
          'under assignment a new request notifies nobody');
SELECT id AS r1 FROM dispatch.assistance_requests WHERE client_id = 901 \gset
SELECT is(dispatch.request_assistance(902, 36.75 + 6 / 111.0, 3.05, 7) -> 'nearby_assistants',
          '[]'::jsonb, 'nor the second');
SELECT id AS r2 FROM dispatch.assistance_requests WHERE client_id = 902 \gset
SELECT results_eq(
    format($$SELECT searching, offer_round, round_ends_at IS NULL, assigning, queued_at = now()
             FROM dispatch.assistance_requests WHERE id = %s$$, :r1),
    $$VALUES (true, 0::smallint, true, true, true)$$,
    'it is searching, in no round, queued for a batch');
SELECT is((SELECT count(*) FROM dispatch.offers WHERE assistance_id IN (:r1, :r2)), 0::bigint,
          'no offer yet');
SELECT is((SELECT count(*) FROM dispatch.offer_rounds WHERE assistance_id IN (:r1, :r2)), 0::bigint,
          'no round either');
SELECT is(dispatch.advance_offer_rounds(), 0, 'the round driver leaves it alone');
SELECT throws_ok(format('SELECT dispatch.accept_assistance(%s, 911)', :r1), 'DP014', NULL,
                 'only an offer opens the door');

-- The window: not due before the oldest has waited assignment_window_s.
SELECT is((SELECT count(*) FROM dispatch.assignment_problems()), 0::bigint,
          'no batch before the window has passed');
SELECT is((SELECT count(*) FROM dispatch.assignment_problems(lead_s => 5)), 0::bigint,
          'nor when the driver asks to start it 5 s early: a batch collects for half its window');
UPDATE dispatch.assistance_requests SET queued_at = now() - interval '1.2 s'
 WHERE queued_at IS NOT NULL;
SELECT is((SELECT count(*) FROM dispatch.assignment_problems(lead_s => 0.5)), 0::bigint,
          'after 1.2 s of a 2 s window, a driver 0.5 s early does not start it yet');
SELECT is((SELECT count(*) FROM dispatch.assignment_problems(lead_s => 1)), 1::bigint,
          'one 1 s early (its next pass would come too late) does');
SELECT pg_temp.due();
SELECT problem AS p FROM dispatch.assignment_problems() \gset
SELECT is((SELECT area FROM dispatch.assignment_problems()), 'towing',
          'then the area (service type) is due');
SELECT is((:'p'::jsonb) -> 'requests', jsonb_build_array(:r1, :r2), 'with both requests');
SELECT is(
    (SELECT array_agg(format('%s-%s-%s', x ->> 0 = :'r1', x ->> 1, round((x ->> 2)::numeric))
                      ORDER BY (x ->> 0)::bigint, x ->> 1)
       FROM jsonb_array_elements((:'p'::jsonb) -> 'pairs') x),
    ARRAY['t-911-360', 't-912-900', 'f-911-720'],
    'the pairs within the cap, costed by the straight line: R1-A 360 s, R1-B 900 s, R2-A 720 s '
    '(no B-R2 over the cap, no C, no repairer)');

SELECT results_eq(
    format($$SELECT assistant_id, round(cost_s) FROM dispatch.assignment_pairs(ARRAY[%s::bigint],
                                                                            'towing')$$, :r1),
    $$VALUES (911::bigint, 360::double precision)$$,
    'a batch of R requests keeps each one''s R cheapest pairs, which hold the optimum: R1 alone, A');

-- The solution (the minimum-cost assignment: R1-B, R2-A) issued with the record.
SELECT is(dispatch.issue_assignment_batch('towing', :'p'::jsonb,
                                          jsonb_build_array(jsonb_build_array(:r1, 912),
                                                            jsonb_build_array(:r2, 911)), 1.5)
              - 'batch_id',
          '{"offered": 2, "fell_back": 0}'::jsonb, 'two exclusive offers');
SELECT id AS b1 FROM dispatch.assignment_batches ORDER BY id DESC LIMIT 1 \gset
SELECT results_eq(
    format($$SELECT assistance_id, assistant_id, state, expires_at = now() + interval '15 s',
                    batch_id = %s
               FROM dispatch.offers WHERE assistance_id IN (%s, %s) ORDER BY assistance_id$$,
           :b1, :r1, :r2),
    format($$VALUES (%s::bigint, 912::bigint, 'open', true, true),
                    (%s::bigint, 911::bigint, 'open', true, true)$$, :r1, :r2),
    'one offer per request, to its assistant, open for assignment_offer_timeout_s');
SELECT results_eq(
    $$SELECT e.topics[1], m ->> 'type', m ->> 'offer_policy', m ->> 'offer_round'
        FROM dispatch.event_log e, unnest(e.messages::jsonb[]) WITH ORDINALITY AS x(m, i)
       WHERE e.seq IS NULL AND 'assistant:912' = ANY (e.topics) AND x.i = 1$$,
    $$VALUES ('assistant:912', 'new_assistance_request', 'assignment', '0')$$,
    'the assistant hears new_assistance_request (offer_policy assignment)');
SELECT results_eq(
    format($$SELECT queued_at IS NULL, assignment_batches FROM dispatch.assistance_requests
             WHERE id IN (%s, %s) ORDER BY id$$, :r1, :r2),
    $$VALUES (true, 1::smallint), (true, 1::smallint)$$, 'both hold an offer, one batch each');
SELECT is(dispatch.assignment_batch(:b1) -> 'matched', '2'::jsonb, 'the batch is recorded');
SELECT is(jsonb_array_length(dispatch.assignment_batch(:b1) -> 'costs'), 3,
          'with the costs it considered');
SELECT results_eq(
    format($$SELECT x ->> 'outcome', (x ->> 'assistant_id')::bigint, (x ->> 'nearest_id')::bigint,
                    (SELECT a ->> 'went_to' FROM jsonb_array_elements(x -> 'alternatives') a
                      WHERE a ->> 'assistant_id' = '911')
               FROM jsonb_array_elements(dispatch.request_batches(%s)) x$$, :r1),
    format($$VALUES ('offered', 912::bigint, 911::bigint, '%s')$$, :r2),
    'request_batches explains R1: B was offered; A was nearest but went to R2');

-- An assistant holds at most one open offer: a second request cannot reach A or B now.
SELECT is(dispatch.request_assistance(903, 36.75 + 1 / 111.0, 3.05, 7) -> 'nearby_assistants',
          '[]'::jsonb, 'a third request');
SELECT id AS r3 FROM dispatch.assistance_requests WHERE client_id = 903 \gset
SELECT is((SELECT count(*) FROM dispatch.assignment_pairs(ARRAY[:r3]::bigint[], 'towing')),
          0::bigint, 'has no candidate: A and B hold an offer each, C is over the cap');
SELECT is(dispatch.issue_assignment_batch(
              'towing', jsonb_build_object('requests', jsonb_build_array(:r3),
                                           'pairs', jsonb_build_array(jsonb_build_array(
                                               :r3, 911, 180, 'straight_line', 1000))),
              jsonb_build_array(jsonb_build_array(:r3, 911)), 0) ->> 'offered', '0',
          'a solution offering A a second open offer is refused by the issuing function');
SELECT is((SELECT count(*) FROM dispatch.offers WHERE assistant_id = 911 AND state = 'open'),
          1::bigint, 'A still holds one open offer');

-- Decline: back into the queue, and B is never a candidate for R1 again.
SELECT is(dispatch.decline_offer(:r1, 912), jsonb_build_object('assistance_id', :r1, 'declined', true),
          'B declines R1');
SELECT results_eq(
    format($$SELECT assigning, queued_at = now(), searching, offer_round
               FROM dispatch.assistance_requests WHERE id = %s$$, :r1),
    $$VALUES (true, true, true, 0::smallint)$$, 'R1 waits for the next batch, no round started');
SELECT is((SELECT count(*) FROM dispatch.assignment_pairs(ARRAY[:r1]::bigint[], 'towing')
            WHERE assistant_id = 912), 0::bigint, 'the decliner is excluded for R1');

-- Expiry: A lets R2's offer lapse; the housekeeping expires it and requeues R2.
UPDATE dispatch.offers SET sent_at = now() - interval '20 s', expires_at = now() - interval '1 s'
 WHERE assistance_id = :r2;
SELECT is(dispatch.assignment_housekeeping(), 1, 'the housekeeping expires the due offer');
SELECT results_eq(
    format($$SELECT o.state, r.queued_at = now() FROM dispatch.offers o
               JOIN dispatch.assistance_requests r ON r.id = o.assistance_id
              WHERE o.assistance_id = %s$$, :r2),
    $$VALUES ('expired', true)$$, 'offer expired, R2 queued again');
SELECT ok(EXISTS (SELECT 1 FROM dispatch.event_log e, unnest(e.messages::jsonb[]) m
                   WHERE e.seq IS NULL AND 'assistant:911' = ANY (e.topics)
                     AND m ->> 'type' = 'offer_withdrawn' AND m ->> 'reason' = 'expired'),
          'A hears offer_withdrawn (expired)');

-- Fall back: R1 and R2 took part in one batch; with max 2, an unmatched second one sends them to
-- the rounds (round 1, to whoever was never offered them).
SELECT pg_temp.due();
SELECT problem AS p2 FROM dispatch.assignment_problems() \gset
SELECT is(dispatch.issue_assignment_batch('towing', :'p2'::jsonb, '[]'::jsonb, 0) ->> 'fell_back',
          '3', 'a batch without a match: R1, R2 and R3 (each in its second) fall back to rounds');
SELECT results_eq(
    format($$SELECT assigning, searching, offer_round, round_ends_at IS NOT NULL
               FROM dispatch.assistance_requests WHERE id = %s$$, :r1),
    $$VALUES (false, true, 1::smallint, true)$$, 'R1 is in round 1');
SELECT is((SELECT array_agg(assistant_id ORDER BY assistant_id) FROM dispatch.offers
            WHERE assistance_id = :r1 AND state = 'open'), ARRAY[911]::bigint[],
          'round 1 of R1 goes to those never offered it within its radius (not the decliner B)');
SELECT is((SELECT outcome FROM dispatch.assignment_decisions
            WHERE assistance_id = :r1 ORDER BY batch_id DESC LIMIT 1), 'fell_back',
          'and the batch says so');

-- Back to rounds: a request still waiting for a batch goes to round 1 at the next pass.
SELECT is(dispatch.request_assistance(904, 36.75, 3.05, 7) -> 'nearby_assistants', '[]'::jsonb,
          'a fourth request waits for a batch');
UPDATE dispatch.settings SET value = '"rounds"' WHERE key = 'offer_policy';
SELECT is(dispatch.assignment_housekeeping(), 1, 'under rounds the waiting request falls back');
SELECT is((SELECT offer_round FROM dispatch.assistance_requests WHERE client_id = 904),
          1::smallint, 'it is in round 1');

SELECT * FROM finish();
ROLLBACK;
