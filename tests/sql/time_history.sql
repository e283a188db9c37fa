-- Position history partitions: daily, created ahead, default partition emptied into them, whole
-- partitions dropped after the retention.
BEGIN;
SELECT plan(15);

CREATE FUNCTION pg_temp.part(day date) RETURNS regclass LANGUAGE sql AS
    $$ SELECT to_regclass('dispatch.position_history_p' || to_char(day, 'YYYYMMDD')) $$;
CREATE FUNCTION pg_temp.utc_today() RETURNS date LANGUAGE sql AS
    $$ SELECT (now() AT TIME ZONE 'UTC')::date $$;

SELECT is((SELECT c.relkind::text FROM pg_class c WHERE c.oid = 'dispatch.position_history'::regclass),
          'p', 'position_history is a partitioned table');
SELECT ok(pg_temp.part(pg_temp.utc_today()) IS NOT NULL, 'today has its partition');
SELECT ok(pg_temp.part(pg_temp.utc_today() + 2) IS NOT NULL, 'two days ahead exist');

INSERT INTO dispatch.users (id, role, name, phone_number) OVERRIDING SYSTEM VALUE
VALUES (951, 'client', 'C', '+1951');
-- Ten days ahead: no daily partition yet, so the default partition catches it.
INSERT INTO dispatch.position_history (user_id, geog, h3_r9, recorded_at)
VALUES (951, ST_MakePoint(3.05, 36.75)::geography, 1, now() + interval '10 days'),
       (951, ST_MakePoint(3.05, 36.75)::geography, 1, now());
SELECT is((SELECT count(*) FROM dispatch.position_history_default), 1::bigint,
          'a row no partition covers lands in the default partition');

SELECT is(dispatch.maintain_position_history(premake_days => 3) -> 'created',
          jsonb_build_array('position_history_p' || to_char(pg_temp.utc_today() + 3, 'YYYYMMDD'),
                            'position_history_p' || to_char(pg_temp.utc_today() + 10, 'YYYYMMDD')),
          'maintenance creates the missing day ahead and the day found in the default partition');
SELECT is((SELECT count(*) FROM dispatch.position_history_default), 0::bigint,
          'the default partition was emptied');
SELECT is((SELECT count(*) FROM dispatch.position_history WHERE user_id = 951), 2::bigint,
          'no row was lost');
SELECT is((SELECT tableoid::regclass FROM dispatch.position_history
            WHERE user_id = 951 AND recorded_at > now() + interval '1 day'),
          pg_temp.part(pg_temp.utc_today() + 10), 'the moved row lives in its day''s partition');
SELECT is(dispatch.maintain_position_history(premake_days => 3) -> 'created', '[]'::jsonb,
          'a second run has nothing to do');

-- Seen from five days later with a retention of one day: today's partition and the next three
-- are older than kept, and go whole.
SELECT is(jsonb_array_length(dispatch.maintain_position_history(
              retention_days => 1, premake_days => 0, today => pg_temp.utc_today() + 5) -> 'dropped')
          >= 4, true, 'partitions older than the retention are dropped');
SELECT ok(pg_temp.part(pg_temp.utc_today()) IS NULL AND pg_temp.part(pg_temp.utc_today() + 3) IS NULL
          AND pg_temp.part(pg_temp.utc_today() + 5) IS NOT NULL AND pg_temp.part(pg_temp.utc_today() + 10) IS NOT NULL,
          'exactly the days before today - retention are gone');
SELECT throws_ok($$ SELECT dispatch.maintain_position_history(retention_days => 0) $$, 'DP009',
                 NULL, 'a retention below one day is refused');

-- Telematics: one row per user and instant; a tie keeps the batch's last point whole.
SELECT col_is_unique('dispatch', 'position_history', ARRAY['user_id', 'recorded_at'],
                     'one history row per user and recorded_at');
SELECT is(dispatch.store_telematics(951, ARRAY[36.1, 36.2], ARRAY[3.1, 3.2], ARRAY[1, 2]::bigint[],
                                    ARRAY[now(), now()], ARRAY[NULL, 40]::real[],
                                    ARRAY[NULL, 90]::real[]), 2, 'a batch of two points of one instant');
SELECT results_eq(
    $$SELECT count(*), max(h3_r9), max(speed_kmh), max(heading_deg)
        FROM dispatch.position_history WHERE user_id = 951 AND recorded_at = now()$$,
    $$VALUES (1::bigint, 2::bigint, 40::real, 90::real)$$,
    'the last point of the instant is kept whole, and only it');

SELECT * FROM finish();
ROLLBACK;
