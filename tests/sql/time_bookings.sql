-- Bookings: validation, activation into exactly one request, the open-request rule, cancelling.
-- (Two concurrent activators need two sessions: tests/scheduling/test_booking_activation.py.)
BEGIN;
SELECT plan(18);

INSERT INTO dispatch.users (id, role, name, phone_number) OVERRIDING SYSTEM VALUE
VALUES (971, 'client', 'C1', '+1971'), (972, 'client', 'C2', '+1972'),
       (973, 'assistant', 'A', '+1973');

CREATE FUNCTION pg_temp.book(uid bigint, ahead interval) RETURNS bigint LANGUAGE sql AS $$
    SELECT (dispatch.create_booking(client_id => uid, pickup_lat => 36.75, pickup_lng => 3.05,
                                    pickup_cell_r7 => 608994908396584959,
                                    neighbour_cells_r7 => '{}', scheduled_for => now() + ahead)
            ->> 'id')::bigint
$$;

SELECT throws_ok($$ SELECT pg_temp.book(971, interval '14 minutes') $$, 'DP030', NULL,
                 'less than 15 minutes ahead is refused');
SELECT throws_ok($$ SELECT pg_temp.book(971, interval '31 days') $$, 'DP030', NULL,
                 'more than booking_max_ahead_days ahead is refused');
SELECT throws_ok($$ SELECT pg_temp.book(973, interval '1 hour') $$, 'DP008', NULL,
                 'only clients book');
SELECT throws_ok(
    $$ SELECT dispatch.create_booking(client_id => 971, pickup_lat => 36.75, pickup_lng => 3.05,
           pickup_cell_r7 => 1, neighbour_cells_r7 => '{}', scheduled_for => now() + interval '1 hour',
           vehicle_id => 424242) $$,
    'DP031', NULL, 'an unknown vehicle is refused');

SELECT lives_ok($$ SELECT pg_temp.book(971, interval '2 hours') $$, 'a booking two hours ahead');
SELECT is((SELECT status FROM dispatch.bookings WHERE client_id = 971), 'scheduled', '... is scheduled');
SELECT is(dispatch.activate_due_bookings(), 0, 'nothing is due yet');

-- A lead time of three hours makes it due now.
UPDATE dispatch.settings SET value = '10800' WHERE key = 'booking_lead_time_s';
SELECT is(dispatch.activate_due_bookings(), 1, 'the due booking is handled');
SELECT is((SELECT status FROM dispatch.bookings WHERE client_id = 971), 'converted', '... converted');
SELECT is((SELECT count(*) FROM dispatch.assistance_requests WHERE client_id = 971), 1::bigint,
          '... into one assistance request');
SELECT is((SELECT r.idempotency_key FROM dispatch.assistance_requests r
             JOIN dispatch.bookings b ON b.assistance_id = r.id WHERE b.client_id = 971),
          'booking:' || (SELECT id FROM dispatch.bookings WHERE client_id = 971),
          'the request carries the booking''s idempotency key');
SELECT is(dispatch.activate_due_bookings(), 0, 'a second activation finds nothing');
SELECT is((SELECT count(*) FROM dispatch.assistance_requests WHERE client_id = 971), 1::bigint,
          '... and creates nothing');

-- The client's request is open: a second booking due now fails, documented as OPEN_REQUEST_EXISTS.
SELECT pg_temp.book(971, interval '1 hour');
SELECT is(dispatch.activate_due_bookings(), 1, 'the second booking is handled');
SELECT is((SELECT failure_code FROM dispatch.bookings WHERE client_id = 971 AND status = 'failed'),
          'OPEN_REQUEST_EXISTS', 'and fails because the client has an open request');

-- Cancelling.
UPDATE dispatch.settings SET value = '600' WHERE key = 'booking_lead_time_s';
SELECT is(dispatch.cancel_booking(pg_temp.book(972, interval '1 hour'), 972) ->> 'status', 'canceled',
          'a scheduled booking can be canceled by its client');
SELECT throws_ok(
    format('SELECT dispatch.cancel_booking(%s, 972)',
           (SELECT id FROM dispatch.bookings WHERE client_id = 971 AND status = 'converted')),
    'DP032', NULL, 'another client''s booking is not found');
SELECT throws_ok(
    format('SELECT dispatch.cancel_booking(%s, 971)',
           (SELECT id FROM dispatch.bookings WHERE client_id = 971 AND status = 'converted')),
    'DP033', NULL, 'a converted booking cannot be canceled');

SELECT * FROM finish();
ROLLBACK;
