-- Accounts and assistants SQL: rate-limit windows, refresh rotation with reuse detection,
-- one-time code checks, going active, and the nearest-assistants query.
BEGIN;
SELECT plan(22);

SELECT has_table('dispatch', 'refresh_tokens', 'refresh tokens table');
SELECT has_table('dispatch', 'one_time_codes', 'one-time codes table');
SELECT has_table('dispatch', 'outbox', 'outbox table');
SELECT has_table('dispatch', 'rate_limits', 'rate-limit buckets table');

-- rate_limit_hit: allowed up to the limit, then the seconds left in the window
SELECT is(dispatch.rate_limit_hit(bucket_key => 't', max_hits => 2, window_seconds => 60), 0, 'first hit allowed');
SELECT is(dispatch.rate_limit_hit(bucket_key => 't', max_hits => 2, window_seconds => 60), 0, 'second hit allowed');
SELECT is(dispatch.rate_limit_hit(bucket_key => 't', max_hits => 2, window_seconds => 60), 60, 'third hit waits out the window');
UPDATE dispatch.rate_limits SET window_start = now() - interval '61 seconds' WHERE bucket = 't';
SELECT is(dispatch.rate_limit_hit(bucket_key => 't', max_hits => 2, window_seconds => 60), 0, 'a new window starts afresh');

-- refresh rotation
INSERT INTO dispatch.users (id, role, phone_number) OVERRIDING SYSTEM VALUE
VALUES (900001, 'client', '+900001'), (900002, 'assistant', '+900002'),
       (900003, 'assistant', '+900003'), (900004, 'assistant', '+900004');
INSERT INTO dispatch.refresh_tokens (user_id, family_id, token_hash, expires_at)
VALUES (900001, '00000000-0000-0000-0000-000000000001', '\x01', now() + interval '1 day');
SELECT is(dispatch.rotate_refresh_token('\x01', '\x02', now() + interval '1 day'), 'ok', 'a live token rotates');
SELECT is(dispatch.rotate_refresh_token('\x02', '\x03', now() + interval '1 day'), 'ok', 'its successor rotates');
SELECT is(dispatch.rotate_refresh_token('\x01', '\x04', now() + interval '1 day'), 'reused', 'a used token is a reuse');
SELECT is((SELECT count(*) FROM dispatch.refresh_tokens WHERE revoked_at IS NULL), 0::bigint, 'reuse revokes the family');
SELECT is(dispatch.rotate_refresh_token('\xff', '\x05', now() + interval '1 day'), 'unknown', 'unknown tokens are refused');

-- one-time codes
INSERT INTO dispatch.one_time_codes (user_id, purpose, target, code_hash, expires_at)
VALUES (900001, 'verify_email', 'a@b.co', '\xaa', now() + interval '15 minutes');
SELECT is(dispatch.check_code(900001, 'verify_email', '\xbb', 2), 'invalid', 'wrong code');
SELECT is(dispatch.check_code(900001, 'verify_email', '\xbb', 2), 'invalid', 'wrong code again');
SELECT is(dispatch.check_code(900001, 'verify_email', '\xaa', 2), 'exhausted', 'refused after the last allowed try');
UPDATE dispatch.one_time_codes SET attempts = 0, expires_at = now() - interval '1 second';
SELECT is(dispatch.check_code(900001, 'verify_email', '\xaa', 2), 'expired', 'expired code');
UPDATE dispatch.one_time_codes SET expires_at = now() + interval '1 minute';
SELECT is(dispatch.check_code(900001, 'verify_email', '\xaa', 2), 'ok', 'right code');

-- going active and the nearest-assistants list
INSERT INTO dispatch.assistants (user_id, service_type, vehicle_type, driving_license_cat,
    driving_license_num, driving_license_expiry, vehicle_registration_num)
VALUES (900002, 'towing', 'light', 'c', 'L2', current_date + 30, 2),
       (900003, 'towing', 'light', 'c', 'L3', current_date + 30, 3),
       (900004, 'repair', 'light', 'b', 'L4', current_date - 1, 4);
SELECT throws_ok('SELECT dispatch.set_assistant_active(900002, true)', 'DPA01', NULL, 'no position, no duty');
INSERT INTO dispatch.positions (user_id, geog, h3_r7, h3_r8, h3_r9)
VALUES (900002, 'SRID=4326;POINT(3.06 36.76)', 1, 1, 1),
       (900003, 'SRID=4326;POINT(3.059 36.754)', 1, 1, 1),
       (900004, 'SRID=4326;POINT(3.059 36.754)', 1, 1, 1);
SELECT throws_ok('SELECT dispatch.set_assistant_active(900004, true)', 'DPA02', NULL, 'expired licence, no duty');
SELECT dispatch.set_assistant_active(900002, true);
SELECT dispatch.set_assistant_active(900003, true);
SELECT results_eq(
    $$SELECT assistant_id FROM dispatch.active_assistants_near(origin_lat => 36.7538, origin_lng => 3.0588)
       WHERE assistant_id >= 900000$$,
    ARRAY[900003::bigint, 900002::bigint],
    'active assistants, nearest first');
SELECT ok(
    (SELECT distance_m BETWEEN 600 AND 900 FROM dispatch.active_assistants_near(
        origin_lat => 36.7538, origin_lng => 3.0588) WHERE assistant_id = 900002),
    'distance is geodesic metres');

SELECT * FROM finish();
ROLLBACK;
