-- Matching: nearby_assistants eligibility, order, radius and limit, the GiST KNN plan; trip distances.
BEGIN;
SELECT plan(14);

SELECT has_function('dispatch', 'nearby_assistants',
    ARRAY['double precision', 'double precision', 'text', 'double precision', 'integer']);
SELECT function_lang_is('dispatch', 'nearby_assistants',
    ARRAY['double precision', 'double precision', 'text', 'double precision', 'integer'], 'sql');
SELECT volatility_is('dispatch', 'nearby_assistants',
    ARRAY['double precision', 'double precision', 'text', 'double precision', 'integer'], 'stable');
SELECT ok(obj_description('dispatch.nearby_assistants(double precision, double precision, text, double precision, integer)'::regprocedure, 'pg_proc') IS NOT NULL,
    'nearby_assistants is documented');

-- Around (10, 10): ids 1..6 by distance, with one of each kind of ineligible assistant.
INSERT INTO dispatch.users (id, role, name, phone_number) OVERRIDING SYSTEM VALUE
SELECT i, CASE WHEN i = 100 THEN 'client' ELSE 'assistant' END, 'u' || i, '+1555' || i
FROM unnest(ARRAY[1, 2, 3, 4, 5, 6, 7, 100]) i;
SELECT setval(pg_get_serial_sequence('dispatch.users', 'id'), 1000);
INSERT INTO dispatch.assistants (user_id, service_type, vehicle_type, driving_license_cat,
    driving_license_num, driving_license_expiry, vehicle_registration_num, is_active)
VALUES (1, 'towing', 'light', 'c', 'x', current_date + 10, 1, true),
       (2, 'repair', 'light', 'c', 'x', current_date + 10, 1, true),
       (3, 'towing', 'light', 'c', 'x', current_date + 10, 1, false),      -- inactive
       (4, 'towing', 'light', 'c', 'x', current_date - 1, 1, true),       -- licence expired
       (5, 'towing', 'heavy', 'c', 'x', current_date, 1, true),           -- valid through today
       (6, 'towing', 'light', 'c', 'x', current_date + 10, 1, true),      -- busy below
       (7, 'towing', 'light', 'c', 'x', current_date + 10, 1, true);      -- 20 km away
INSERT INTO dispatch.positions (user_id, geog, h3_r7, h3_r8, h3_r9)
SELECT id, ST_SetSRID(ST_MakePoint(10 + dlng, 10), 4326)::geography, 0, 0, 0
FROM (VALUES (1, 0.01), (2, 0.02), (3, 0.005), (4, 0.005), (5, 0.03), (6, 0.001), (7, 0.18))
     AS v (id, dlng);
INSERT INTO dispatch.assistance_requests (client_id, assistant_id, status, service_type,
    vehicle_type, pickup, pickup_h3_r7, price, total_price, currency)
VALUES (100, 6, 'accepted', 'towing', 'light', ST_MakePoint(10, 10)::geography, 0, '{}', 0, 'DZD');

SELECT results_eq(
    $$SELECT assistant_id FROM dispatch.nearby_assistants(10, 10, 'towing', 10000, 10)$$,
    ARRAY[1::bigint, 5],
    'towing: active, licence valid, not busy, within the radius, nearest first');
SELECT results_eq(
    $$SELECT assistant_id FROM dispatch.nearby_assistants(10, 10)$$,
    ARRAY[1::bigint, 2, 5],
    'NULL service type matches any; the radius and limit default to the settings');
SELECT results_eq(
    $$SELECT assistant_id FROM dispatch.nearby_assistants(10, 10, NULL, 30000, 2)$$,
    ARRAY[1::bigint, 2], 'max_results limits the answer');
SELECT results_eq(
    $$SELECT assistant_id FROM dispatch.nearby_assistants(10, 10, 'towing', 30000, 10)$$,
    ARRAY[1::bigint, 5, 7], 'a wider radius reaches further');
SELECT ok(
    (SELECT abs(distance_m - ST_Distance(ST_MakePoint(10.01, 10)::geography,
                                         ST_MakePoint(10, 10)::geography)) < 1e-6
       FROM dispatch.nearby_assistants(10, 10, 'towing', 10000, 1)),
    'distance_m is the geodesic distance');
SELECT is_empty(
    $$SELECT * FROM dispatch.nearby_assistants(10, 10, 'towing', 500, 10)$$,
    'nobody within 500 m');

-- The plan: with many positions (so that the planner has a real choice), the KNN ordering runs on the GiST index.
INSERT INTO dispatch.users (role, name, phone_number)
SELECT 'assistant', 'bulk', '+1777' || i FROM generate_series(1, 3000) i;
INSERT INTO dispatch.assistants (user_id, service_type, vehicle_type, driving_license_cat,
    driving_license_num, driving_license_expiry, vehicle_registration_num, is_active)
SELECT id, 'towing', 'light', 'c', 'x', current_date + 10, 1, true
FROM dispatch.users WHERE name = 'bulk';
INSERT INTO dispatch.positions (user_id, geog, h3_r7, h3_r8, h3_r9)
SELECT id, ST_SetSRID(ST_MakePoint(-20 + (id % 97) * 0.37, 20 + (id % 89) * 0.41), 4326)::geography,
       0, 0, 0
FROM dispatch.users WHERE name = 'bulk';
ANALYZE dispatch.positions;
ANALYZE dispatch.assistants;
ANALYZE dispatch.users;

CREATE FUNCTION pg_temp.plan_of(query text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    line text;
    plan text := '';
BEGIN
    FOR line IN EXECUTE 'EXPLAIN (COSTS OFF) ' || query LOOP
        plan := plan || line || E'\n';
    END LOOP;
    RETURN plan;
END;
$$;
SELECT matches(
    pg_temp.plan_of('SELECT * FROM dispatch.nearby_assistants(25, -5, ''towing'', 10000, 10)'),
    'Index Scan using positions_matchable_geog_idx on positions[^\n]*\n[^\n]*Index Cond: \(geog && _st_expand[^\n]*\n\s*Order By: \(geog <-> ',
    'the KNN (<->) ordering and the radius bound run on the GiST index');
SELECT doesnt_match(
    pg_temp.plan_of('SELECT * FROM dispatch.nearby_assistants(25, -5, ''towing'', 10000, 10)'),
    'Seq Scan on positions', 'positions are never scanned sequentially');

SELECT is((SELECT (km, source)::text FROM dispatch.trip_distance(ST_MakePoint(10, 10)::geography,
                                                                  ST_MakePoint(10.01, 10)::geography)),
          (SELECT (ST_Distance(ST_MakePoint(10, 10)::geography, ST_MakePoint(10.01, 10)::geography)
                   / 1000, 'straight_line')::text),
          'trip distance without a road graph: the geodesic km');
SELECT is((SELECT (km, source)::text FROM dispatch.trip_distance(ST_MakePoint(10, 10)::geography, NULL)),
          '(0,straight_line)', 'no dropoff: 0 km');

SELECT * FROM finish();
ROLLBACK;
