-- Analyst views and functions on built data: demand and idle supply per cell and hour, time to
-- accept, the offer funnel, assistant utilisation, the heatmap, and the H3 parent bit arithmetic.
-- Cells (h3 package): 36.7525,3.0420 -> r9 618002107642413055, r8 613498508015566847,
-- r7 608994908396584959; 36.80,3.20 -> r9 618002108789030911, r7 608994909537435647.
BEGIN;
SELECT plan(28);

SELECT is(dispatch.h3_parent(618002107642413055, 8), 613498508015566847, 'r9 -> r8 parent');
SELECT is(dispatch.h3_parent(618002107642413055, 7), 608994908396584959, 'r9 -> r7 parent');
SELECT is(dispatch.h3_parent(613498508015566847, 7), 608994908396584959, 'r8 -> r7 parent');

INSERT INTO dispatch.users (id, role, name, phone_number) OVERRIDING SYSTEM VALUE VALUES
    (910001, 'assistant', 'Ann', '+910001'), (910002, 'assistant', 'Bob', '+910002'),
    (910010, 'client', 'Cleo', '+910010');
INSERT INTO dispatch.assistants (user_id, service_type, vehicle_type, driving_license_cat,
    driving_license_num, driving_license_expiry, vehicle_registration_num, is_active)
VALUES (910001, 'towing', 'light', 'c', 'L1', current_date + 30, 1, true),
       (910002, 'towing', 'light', 'c', 'L2', current_date + 30, 2, false);
-- Ann online 09:00-12:00; Bob went offline at 08:00 and stays so.
INSERT INTO dispatch.assistant_activity (assistant_id, is_active, at) VALUES
    (910001, true, '2026-01-05 09:00Z'), (910001, false, '2026-01-05 12:00Z'),
    (910002, false, '2026-01-05 08:00Z');

-- Three requests in the central cell in hour 10 (accepted after 30 s and 90 s; one canceled
-- unserved after its search ran out), one in another cell at 11:10 (accepted after 10 s).
INSERT INTO dispatch.assistance_requests (id, client_id, assistant_id, status, service_type,
    vehicle_type, pickup, pickup_h3_r7, pickup_h3_r8, price, total_price, currency, created_at,
    accepted_at, completed_at, canceled_at, exhausted_at) OVERRIDING SYSTEM VALUE VALUES
 (920001, 910010, 910001, 'completed', 'towing', 'light', 'SRID=4326;POINT(3.042 36.7525)',
  608994908396584959, 613498508015566847, '{}', 1500, 'DZD', '2026-01-05 10:05:00Z',
  '2026-01-05 10:05:30Z', '2026-01-05 10:40:00Z', NULL, NULL),
 (920002, 910010, 910002, 'completed', 'towing', 'light', 'SRID=4326;POINT(3.042 36.7525)',
  608994908396584959, 613498508015566847, '{}', 1500, 'DZD', '2026-01-05 10:20:00Z',
  '2026-01-05 10:21:30Z', '2026-01-05 11:00:00Z', NULL, NULL),
 (920003, 910010, NULL, 'canceled', 'towing', 'light', 'SRID=4326;POINT(3.042 36.7525)',
  608994908396584959, 613498508015566847, '{}', 1500, 'DZD', '2026-01-05 10:50:00Z',
  NULL, NULL, '2026-01-05 10:55:00Z', '2026-01-05 10:52:00Z'),
 (920004, 910010, 910001, 'completed', 'towing', 'light', 'SRID=4326;POINT(3.2 36.8)',
  608994909537435647, NULL, '{}', 1500, 'DZD', '2026-01-05 11:10:00Z',
  '2026-01-05 11:10:10Z', '2026-01-05 11:30:00Z', NULL, NULL);

-- Ann reports from the central cell at 10:00 (idle), 10:10 (on a job) and 10:50 (idle again);
-- Bob reports from there at 10:15 while offline.
INSERT INTO dispatch.position_history (user_id, geog, h3_r9, recorded_at) VALUES
 (910001, 'SRID=4326;POINT(3.042 36.7525)', 618002107642413055, '2026-01-05 10:00Z'),
 (910001, 'SRID=4326;POINT(3.042 36.7525)', 618002107642413055, '2026-01-05 10:10Z'),
 (910001, 'SRID=4326;POINT(3.042 36.7525)', 618002107642413055, '2026-01-05 10:50Z'),
 (910002, 'SRID=4326;POINT(3.042 36.7525)', 618002107642413055, '2026-01-05 10:15Z'),
 (910001, 'SRID=4326;POINT(3.2 36.8)', 618002108789030911, '2026-01-05 11:05Z');

INSERT INTO dispatch.offers (assistance_id, assistant_id, round, distance_m, sent_at, expires_at,
                             state, closed_at) VALUES
 (920001, 910001, 1, 500, '2026-01-05 10:05:00Z', '2026-01-05 10:05:20Z', 'accepted', '2026-01-05 10:05:10Z'),
 (920001, 910002, 1, 900, '2026-01-05 10:05:00Z', '2026-01-05 10:05:20Z', 'declined', '2026-01-05 10:05:05Z'),
 (920003, 910001, 1, 400, '2026-01-05 10:50:00Z', '2026-01-05 10:50:20Z', 'expired', '2026-01-05 10:50:20Z'),
 (920003, 910002, 2, 800, '2026-01-05 10:50:20Z', '2026-01-05 10:50:40Z', 'expired', '2026-01-05 10:50:40Z');

-- Demand and idle supply per cell and hour
SELECT results_eq(
    $$SELECT cell, hour, requests, accepted, exhausted, unserved, idle_assistants
        FROM dispatch.cell_demand_supply(7, '2026-01-05Z', '2026-01-06Z')$$,
    $$VALUES (608994908396584959::bigint, '2026-01-05 10:00Z'::timestamptz, 3::bigint, 2::bigint,
              1::bigint, 1::bigint, 1::bigint),
             (608994909537435647::bigint, '2026-01-05 11:00Z'::timestamptz, 1::bigint, 1::bigint,
              0::bigint, 0::bigint, 1::bigint)$$,
    'resolution 7: requests by pickup cell; idle = active without a job (Ann twice, Bob never)');
SELECT results_eq(
    $$SELECT cell, requests, idle_assistants
        FROM dispatch.cell_demand_supply(8, '2026-01-05Z', '2026-01-06Z')$$,
    $$VALUES (613498508015566847::bigint, 3::bigint, 1::bigint),
             (dispatch.h3_parent(618002108789030911, 8), 0::bigint, 1::bigint)$$,
    'resolution 8: the request without an r8 cell is left out; supply comes from r9 positions');
SELECT is((SELECT count(*) FROM dispatch.cell_demand_supply(7, '2026-01-06Z', '2026-01-07Z')),
          0::bigint, 'an empty range has no rows');
SELECT throws_ok($$SELECT * FROM dispatch.cell_demand_supply(9, now(), now())$$, 'DP048',
                 NULL, 'only resolutions 7 and 8');

-- Time to accept per day and cell
SELECT results_eq(
    $$SELECT day, cell, requests, accepted, p50_s, p90_s, max_s
        FROM dispatch.time_to_accept(7, '2026-01-05Z', '2026-01-06Z')$$,
    $$VALUES ('2026-01-05'::date, 608994908396584959::bigint, 3::bigint, 2::bigint, 60::float8,
              84::float8, 90::float8),
             ('2026-01-05'::date, 608994909537435647::bigint, 1::bigint, 1::bigint, 10::float8,
              10::float8, 10::float8)$$,
    'percentiles over the accepted requests of each day and cell');
SELECT is((SELECT count(*) FROM dispatch.time_to_accept(8, '2026-01-05Z', '2026-01-06Z')),
          1::bigint, 'at resolution 8 only requests with an r8 cell count');
SELECT throws_ok($$SELECT * FROM dispatch.time_to_accept(6, now(), now())$$, 'DP048', NULL,
                 'time_to_accept checks the resolution');

-- The offer funnel per round
SELECT results_eq(
    $$SELECT round, sent, declined, expired, accepted, withdrawn, open, accept_rate
        FROM dispatch.offer_funnel WHERE day = '2026-01-05' ORDER BY round$$,
    $$VALUES (1::smallint, 3::bigint, 1::bigint, 1::bigint, 1::bigint, 0::bigint, 0::bigint, 0.333),
             (2::smallint, 1::bigint, 0::bigint, 1::bigint, 0::bigint, 0::bigint, 0::bigint, 0.000)$$,
    'sent, declined, expired, accepted per round');

-- Utilisation per day
SELECT results_eq(
    $$SELECT assistant_id, online_minutes, on_job_minutes, idle_minutes, jobs, offers,
             offers_accepted, acceptance_rate
        FROM dispatch.assistant_utilisation('2026-01-05', '2026-01-06')$$,
    $$VALUES (910001::bigint, 180::float8, 54.3::float8, 125.7::float8, 2::bigint, 2::bigint,
              1::bigint, 0.500),
             (910002::bigint, 0::float8, 38.5::float8, 0::float8, 1::bigint, 2::bigint,
              0::bigint, 0.000)$$,
    'online 09:00-12:00, on jobs 34.5 + 19.83 min, idle the rest, acceptance 1 of 2');
SELECT is((SELECT count(*) FROM dispatch.assistant_utilisation('2026-01-06', '2026-01-07')),
          0::bigint, 'a day without activity has no rows');

-- The heatmap's per-cell figures
SELECT results_eq(
    $$SELECT cell, requests, accepted, exhausted, unserved, idle_assistant_hours,
             peak_idle_assistants, p50_accept_s, p90_accept_s
        FROM dispatch.heatmap(7, '2026-01-05Z', '2026-01-06Z')$$,
    $$VALUES (608994908396584959::bigint, 3::bigint, 2::bigint, 1::bigint, 1::bigint, 1::bigint,
              1::bigint, 60::float8, 84::float8),
             (608994909537435647::bigint, 1::bigint, 1::bigint, 0::bigint, 0::bigint, 1::bigint,
              1::bigint, 10::float8, 10::float8)$$,
    'per cell over the range');

-- The feed's assistant state
UPDATE dispatch.assistants SET is_active = true WHERE user_id = 910002;
SELECT is(dispatch.assistant_state(910002), 'idle', 'active without offer or job: idle');
INSERT INTO dispatch.users (id, role, phone_number) OVERRIDING SYSTEM VALUE VALUES (910011, 'client', '+910011');
INSERT INTO dispatch.assistance_requests (id, client_id, service_type, vehicle_type, pickup,
    pickup_h3_r7, price, total_price, currency) OVERRIDING SYSTEM VALUE
VALUES (920005, 910011, 'towing', 'light', 'SRID=4326;POINT(3.042 36.7525)', 608994908396584959,
        '{}', 1500, 'DZD');
INSERT INTO dispatch.offers (assistance_id, assistant_id, round, distance_m, expires_at)
VALUES (920005, 910002, 1, 100, now() + interval '1 minute');
SELECT is(dispatch.assistant_state(910002), 'offered', 'an open offer: offered');
UPDATE dispatch.assistance_requests SET status = 'accepted', assistant_id = 910002 WHERE id = 920005;
SELECT is(dispatch.assistant_state(910002), 'busy', 'an accepted job: busy');
UPDATE dispatch.assistants SET is_active = false WHERE user_id = 910002;
SELECT is(dispatch.assistant_state(910002), 'offline', 'inactive: offline');
SELECT is((SELECT count(*) FROM dispatch.assistant_activity WHERE assistant_id = 910002
            AND at = now()), 3::bigint, 'creation, going active and going inactive are tracked');

-- Every analyst object is documented
SELECT isnt(obj_description('dispatch.offer_funnel'::regclass, 'pg_class'), NULL, 'offer_funnel has a comment');
SELECT isnt(obj_description('dispatch.assistant_activity'::regclass, 'pg_class'), NULL, 'assistant_activity has a comment');
SELECT isnt(obj_description('dispatch.cell_demand_supply(integer, timestamptz, timestamptz)'::regprocedure, 'pg_proc'), NULL, 'cell_demand_supply has a comment');
SELECT isnt(obj_description('dispatch.time_to_accept(integer, timestamptz, timestamptz)'::regprocedure, 'pg_proc'), NULL, 'time_to_accept has a comment');
SELECT isnt(obj_description('dispatch.assistant_utilisation(date, date)'::regprocedure, 'pg_proc'), NULL, 'assistant_utilisation has a comment');
SELECT isnt(obj_description('dispatch.heatmap(integer, timestamptz, timestamptz)'::regprocedure, 'pg_proc'), NULL, 'heatmap has a comment');
SELECT isnt(obj_description('dispatch.h3_parent(bigint, integer)'::regprocedure, 'pg_proc'), NULL, 'h3_parent has a comment');
SELECT has_column('dispatch', 'assistance_events', 'reason', 'events carry a reason');
SELECT has_column('dispatch', 'assistance_requests', 'pickup_h3_r8', 'requests carry an r8 cell');

SELECT * FROM finish();
ROLLBACK;
