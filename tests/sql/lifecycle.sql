-- Lifecycle: constraints backing the rules, the functions' transitions, refusals and events.
BEGIN;
SELECT plan(20);

SELECT has_table('dispatch', 'assistance_requests', 'assistance requests table');
SELECT has_table('dispatch', 'assistance_events', 'transition log table');
SELECT has_table('dispatch', 'ratings', 'ratings table');
SELECT has_index('dispatch', 'assistance_requests', 'assistance_one_open_per_client',
                 'one open request per client');
SELECT has_index('dispatch', 'assistance_requests', 'assistance_one_open_per_assistant',
                 'one open job per assistant');
SELECT ok(
    (SELECT bool_and(obj_description(p.oid, 'pg_proc') IS NOT NULL)
       FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
      WHERE n.nspname = 'dispatch'),
    'every function in the dispatch schema carries a comment');

INSERT INTO dispatch.users (id, role, name, phone_number) OVERRIDING SYSTEM VALUE
VALUES (1, 'client', 'Amel', '+1881'), (2, 'client', 'Badr', '+1882'),
       (3, 'assistant', 'Karim', '+1883'), (4, 'assistant', 'Nadia', '+1884');
INSERT INTO dispatch.assistants (user_id, service_type, vehicle_type, driving_license_cat,
    driving_license_num, driving_license_expiry, vehicle_registration_num, is_active)
VALUES (3, 'towing', 'light', 'c', 'x', current_date + 10, 1, true),
       (4, 'towing', 'light', 'c', 'x', current_date + 10, 1, true);
INSERT INTO dispatch.positions (user_id, geog, h3_r7, h3_r8, h3_r9)
VALUES (3, ST_MakePoint(3.05, 36.75)::geography, 7, 0, 0),
       (4, ST_MakePoint(3.06, 36.75)::geography, 7, 0, 0);

SELECT is(
    jsonb_array_length(dispatch.request_assistance(1, 36.75, 3.05, 7) -> 'nearby_assistants'), 2,
    'a request is matched with both idle assistants');
SELECT id AS job FROM dispatch.assistance_requests WHERE client_id = 1 \gset
SELECT throws_ok($$SELECT dispatch.request_assistance(1, 36.75, 3.05, 7)$$, 'DP002', NULL,
                 'a second open request is refused with DP002');
SELECT throws_ok(
    $$INSERT INTO dispatch.assistance_requests (client_id, service_type, vehicle_type, pickup,
          pickup_h3_r7, price, total_price, currency)
      VALUES (1, 'towing', 'light', ST_MakePoint(0, 0)::geography, 0, '{}', 0, 'DZD')$$,
    '23505', NULL, 'the partial unique index refuses a second open request too');
SELECT throws_ok(
    $$UPDATE dispatch.assistance_requests SET status = 'lost' WHERE client_id = 1$$,
    '23514', NULL, 'unknown statuses are refused by a CHECK');
SELECT throws_ok(format('SELECT dispatch.accept_assistance(%s, 1)', :job), 'DP008', NULL,
                 'a client cannot accept');
SELECT is(dispatch.accept_assistance(:job, 3) ->> 'status', 'accepted', 'an assistant accepts');
SELECT throws_ok(format('SELECT dispatch.accept_assistance(%s, 4)', :job), 'DP003', NULL,
                 'a second accept is refused with DP003');
SELECT throws_ok(format('SELECT dispatch.update_assistance_status(%s, 1, %L)', :job, 'ongoing'),
                 'DP008', NULL, 'the client may only cancel');
SELECT throws_ok(format('SELECT dispatch.update_assistance_status(%s, 4, %L)', :job, 'ongoing'),
                 'DP001', NULL, 'another assistant is not a party');
SELECT throws_ok(format('SELECT dispatch.update_assistance_status(%s, 3, %L)', :job, 'completed'),
                 'DP007', NULL, 'accepted cannot jump to completed');
SELECT throws_ok(format('SELECT dispatch.rate_assistance(%s, 1, 5)', :job), 'DP010', NULL,
                 'only completed jobs are rated');
SELECT is(dispatch.update_assistance_status(:job, 3, 'ongoing') ->> 'status', 'ongoing', 'ongoing');
SELECT is(dispatch.update_assistance_status(:job, 3, 'completed') ->> 'status', 'completed',
          'completed');
SELECT results_eq(
    format('SELECT actor_id, from_status, to_status FROM dispatch.assistance_events
             WHERE assistance_id = %s ORDER BY id', :job),
    $$VALUES (1::bigint, NULL::text, 'requested'::text), (3, 'requested', 'accepted'),
             (3, 'accepted', 'ongoing'), (3, 'ongoing', 'completed')$$,
    'every transition is logged with who, from and to');

SELECT * FROM finish();
ROLLBACK;
