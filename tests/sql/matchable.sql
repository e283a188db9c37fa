-- positions.matchable follows every change that decides whether an assistant can be offered a job.
BEGIN;
SELECT plan(14);

SELECT has_index('dispatch', 'positions', 'positions_matchable_geog_idx',
                 'partial GiST index over matchable positions');

INSERT INTO dispatch.users (id, role, name, phone_number) OVERRIDING SYSTEM VALUE
VALUES (801, 'assistant', 'A', '+1661'), (802, 'client', 'C', '+1662'), (803, 'assistant', 'B', '+1663');
INSERT INTO dispatch.assistants (user_id, service_type, vehicle_type, driving_license_cat,
    driving_license_num, driving_license_expiry, vehicle_registration_num, is_active)
VALUES (801, 'towing', 'light', 'c', 'x', current_date + 10, 1, true),
       (803, 'towing', 'light', 'c', 'x', current_date + 10, 1, true);
INSERT INTO dispatch.positions (user_id, geog, h3_r7, h3_r8, h3_r9)
VALUES (801, ST_MakePoint(3.05, 36.75)::geography, 7, 0, 0),
       (802, ST_MakePoint(3.05, 36.75)::geography, 7, 0, 0),
       (803, ST_MakePoint(3.05, 36.75)::geography, 7, 0, 0);

CREATE FUNCTION pg_temp.m(uid bigint) RETURNS boolean LANGUAGE sql AS
    $$ SELECT matchable FROM dispatch.positions WHERE user_id = uid $$;

SELECT ok(pg_temp.m(801), 'an active assistant''s new position is matchable');
SELECT ok(NOT pg_temp.m(802), 'a client''s position never is');
UPDATE dispatch.assistants SET is_active = false WHERE user_id = 801;
SELECT ok(NOT pg_temp.m(801), 'going inactive clears it');
UPDATE dispatch.assistants SET is_active = true WHERE user_id = 801;
SELECT ok(pg_temp.m(801), 'going active sets it');
UPDATE dispatch.users SET is_disabled = true WHERE id = 801;
SELECT ok(NOT pg_temp.m(801), 'a disabled user is not matchable');
UPDATE dispatch.users SET is_disabled = false WHERE id = 801;

INSERT INTO dispatch.assistance_requests (id, client_id, service_type, vehicle_type, pickup,
    pickup_h3_r7, price, total_price, currency) OVERRIDING SYSTEM VALUE
VALUES (701, 802, 'towing', 'light', ST_MakePoint(3.05, 36.75)::geography, 7, '{}', 0, 'DZD');
SELECT ok(pg_temp.m(801), 'an open request elsewhere changes nothing');
UPDATE dispatch.assistance_requests SET status = 'accepted', assistant_id = 801 WHERE id = 701;
SELECT ok(NOT pg_temp.m(801), 'accepting a job clears it');
UPDATE dispatch.assistance_requests SET status = 'completed' WHERE id = 701;
SELECT ok(pg_temp.m(801), 'finishing the job sets it again');

-- Row triggers (0054): a job created with its assistant, a reassignment (both assistants), and a
-- round's bookkeeping on a job nobody holds (no trigger call at all).
SET LOCAL track_functions = 'all';
INSERT INTO dispatch.assistance_requests (id, client_id, service_type, vehicle_type, pickup,
    pickup_h3_r7, price, total_price, currency, status, assistant_id) OVERRIDING SYSTEM VALUE
VALUES (702, 802, 'towing', 'light', ST_MakePoint(3.05, 36.75)::geography, 7, '{}', 0, 'DZD',
        'accepted', 801);
SELECT ok(NOT pg_temp.m(801), 'a job created with its assistant clears it');
UPDATE dispatch.assistance_requests SET assistant_id = 803 WHERE id = 702;
SELECT ok(pg_temp.m(801) AND NOT pg_temp.m(803),
          'reassigning frees the old assistant and takes the new one');
UPDATE dispatch.assistance_requests SET status = 'canceled' WHERE id = 702;
SELECT ok(pg_temp.m(803), 'canceling an assigned job frees its assistant');
INSERT INTO dispatch.assistance_requests (id, client_id, service_type, vehicle_type, pickup,
    pickup_h3_r7, price, total_price, currency) OVERRIDING SYSTEM VALUE
VALUES (703, 802, 'towing', 'light', ST_MakePoint(3.05, 36.75)::geography, 7, '{}', 0, 'DZD');
UPDATE dispatch.assistance_requests SET offer_round = 2, status = 'canceled' WHERE id = 703;
SELECT ok(pg_temp.m(801) AND pg_temp.m(803), 'a job nobody held changes nobody');
SELECT is((SELECT calls FROM pg_stat_xact_user_functions
            WHERE schemaname = 'dispatch' AND funcname = 'matchable_from_job'), 3::bigint,
          'the trigger ran for the three changes of an assistant''s job, not for that one');

SELECT * FROM finish();
ROLLBACK;
