-- Shifts open and close with the on-duty state; shift_report counts online and on-job minutes.
BEGIN;
SELECT plan(17);

INSERT INTO dispatch.users (id, role, name, phone_number) OVERRIDING SYSTEM VALUE
VALUES (901, 'assistant', 'A', '+1901'), (902, 'client', 'C', '+1902'),
       (903, 'assistant', 'B', '+1903');
INSERT INTO dispatch.assistants (user_id, service_type, vehicle_type, driving_license_cat,
    driving_license_num, driving_license_expiry, vehicle_registration_num, is_active)
VALUES (901, 'towing', 'light', 'c', 'x', current_date + 10, 1, true),
       (903, 'towing', 'light', 'c', 'y', current_date + 10, 2, false);

CREATE FUNCTION pg_temp.open_shifts(uid bigint) RETURNS bigint LANGUAGE sql AS
    $$ SELECT count(*) FROM dispatch.shifts WHERE assistant_id = uid AND ended_at IS NULL $$;
CREATE FUNCTION pg_temp.closed(uid bigint, why text) RETURNS bigint LANGUAGE sql AS
    $$ SELECT count(*) FROM dispatch.shifts WHERE assistant_id = uid AND end_reason = why $$;

SELECT is(pg_temp.open_shifts(901), 1::bigint, 'an assistant created active is on shift');
SELECT is(pg_temp.open_shifts(903), 0::bigint, 'an inactive one is not');

UPDATE dispatch.assistants SET is_active = false WHERE user_id = 901;
SELECT is(pg_temp.open_shifts(901), 0::bigint, 'going inactive closes the shift');
SELECT is(pg_temp.closed(901, 'inactive'), 1::bigint, '... as inactive');

INSERT INTO dispatch.positions (user_id, geog, h3_r7, h3_r8, h3_r9)
VALUES (901, ST_MakePoint(3.05, 36.75)::geography, 7, 0, 0);
SELECT is(dispatch.set_assistant_active(901, true), true, 'going active through the function');
SELECT is(pg_temp.open_shifts(901), 1::bigint, 'going active opens a new shift');
UPDATE dispatch.assistants SET vehicle_type = 'heavy' WHERE user_id = 901;
SELECT is(pg_temp.open_shifts(901), 1::bigint, 'other profile changes leave the shift alone');
UPDATE dispatch.assistants SET is_active = true WHERE user_id = 901;
SELECT is((SELECT count(*) FROM dispatch.shifts WHERE assistant_id = 901), 2::bigint,
          'staying active opens no second shift');

UPDATE dispatch.users SET is_disabled = true WHERE id = 901;
SELECT is(pg_temp.closed(901, 'disabled'), 1::bigint, 'disabling the account closes the shift');
UPDATE dispatch.users SET is_disabled = false WHERE id = 901;
SELECT is(pg_temp.open_shifts(901), 1::bigint, 'enabling an active assistant opens one again');

DELETE FROM dispatch.assistants WHERE user_id = 901;
SELECT is(pg_temp.closed(901, 'deleted'), 1::bigint, 'removing the profile closes the shift');

SELECT throws_ok(
    $$ INSERT INTO dispatch.shifts (assistant_id) VALUES (903), (903) $$,
    '23505', NULL, 'at most one open shift per assistant');

-- Accounting over a fixed timeline: a shift 08:00-12:00 (day D), a job 09:00-10:30 inside it,
-- one accepted before the shift (07:30-08:30, clipped, not counted as a job of this shift) and
-- one after it (13:00-13:30, not counted at all).
DELETE FROM dispatch.shifts WHERE assistant_id = 903;
INSERT INTO dispatch.shifts (id, assistant_id, started_at, ended_at, end_reason) OVERRIDING SYSTEM VALUE
VALUES (9001, 903, '2026-01-05 08:00Z', '2026-01-05 12:00Z', 'inactive');
INSERT INTO dispatch.assistance_requests (client_id, assistant_id, status, service_type,
    vehicle_type, pickup, pickup_h3_r7, price, total_price, currency, accepted_at, completed_at,
    canceled_at)
VALUES
    (902, 903, 'completed', 'towing', 'light', ST_MakePoint(3.05, 36.75)::geography, 7, '{}', 0,
     'DZD', '2026-01-05 09:00Z', '2026-01-05 10:30Z', NULL),
    (902, 903, 'canceled', 'towing', 'light', ST_MakePoint(3.05, 36.75)::geography, 7, '{}', 0,
     'DZD', '2026-01-05 07:30Z', NULL, '2026-01-05 08:30Z'),
    (902, 903, 'completed', 'towing', 'light', ST_MakePoint(3.05, 36.75)::geography, 7, '{}', 0,
     'DZD', '2026-01-05 13:00Z', '2026-01-05 13:30Z', NULL);

SELECT is((SELECT online_minutes FROM dispatch.shift_report WHERE shift_id = 9001), 240.0,
          'online minutes: start to end');
SELECT is((SELECT on_job_minutes FROM dispatch.shift_report WHERE shift_id = 9001), 120.0,
          'on-job minutes: 90 inside plus 30 clipped at the start');
SELECT is((SELECT jobs FROM dispatch.shift_report WHERE shift_id = 9001), 1,
          'jobs: those accepted during the shift');
SELECT is(jsonb_array_length(dispatch.list_shifts(903, since => '2026-01-05 12:00Z')), 1,
          'list_shifts keeps a shift that ended at since');
SELECT is(jsonb_array_length(dispatch.list_shifts(903, since => '2026-01-05 12:01Z')), 0,
          '... and leaves out one that ended before');

SELECT * FROM finish();
ROLLBACK;
