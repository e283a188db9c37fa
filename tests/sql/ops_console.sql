-- The console's SQL (ops_console.sql): the road network of a box by zoom, capped, and a
-- dispatcher's chat message, stored and emitted on the job's channel.
BEGIN;
SELECT plan(12);

INSERT INTO dispatch.users (id, role, name, phone_number) OVERRIDING SYSTEM VALUE
VALUES (930001, 'dispatcher', 'Nora', '+930001'), (930002, 'client', 'Carla', '+930002');
INSERT INTO roads.regions (id, name, source, sha256, edges, vertices, area, area_km2)
OVERRIDING SYSTEM VALUE
VALUES (9301, 'pgtap-console', 'tests/sql/ops_console.sql', 'x', 3, 4,
        ST_MakeEnvelope(29.99, 9.99, 30.03, 10.03, 4326), 19.6);
INSERT INTO roads.vertices (id, region_id, osm_node, main, geom) OVERRIDING SYSTEM VALUE
VALUES (931001, 9301, 1, true, ST_SetSRID(ST_MakePoint(30.00, 10.00), 4326)),
       (931002, 9301, 2, true, ST_SetSRID(ST_MakePoint(30.01, 10.00), 4326)),
       (931003, 9301, 3, true, ST_SetSRID(ST_MakePoint(30.01, 10.01), 4326)),
       (931004, 9301, 4, false, ST_SetSRID(ST_MakePoint(30.02, 10.02), 4326));
INSERT INTO roads.edges (id, region_id, source, target, cost, reverse_cost, length_m, highway,
                         osm_way, main, geom) OVERRIDING SYSTEM VALUE
VALUES (932001, 9301, 931001, 931002, 60, 60, 1000, 'primary', 1, true,
        ST_GeomFromText('LINESTRING(30.00 10.00, 30.005 10.00000001, 30.01 10.00)', 4326)),
       (932002, 9301, 931002, 931003, 80, 80, 1200, 'residential', 2, true,
        ST_GeomFromText('LINESTRING(30.01 10.00, 30.01 10.01)', 4326)),
       (932003, 9301, 931003, 931004, 70, 70, 1100, 'primary', 3, false,
        ST_GeomFromText('LINESTRING(30.01 10.01, 30.02 10.02)', 4326));

CREATE FUNCTION pg_temp.roads(zoom integer, max_edges integer DEFAULT 4000) RETURNS jsonb
LANGUAGE sql AS $$
    SELECT dispatch.console_roads(930001, ARRAY[29.99, 9.99, 30.03, 10.03]::float8[], zoom, max_edges)
$$;

SELECT is(jsonb_array_length(pg_temp.roads(16) -> 'features'), 2,
          'zoomed in: every edge of the main piece in the box');
SELECT is(jsonb_array_length(pg_temp.roads(11) -> 'features'), 1, 'zoomed out: the busier classes only');
SELECT is(pg_temp.roads(16) -> 'features' -> 0 -> 'properties' ->> 'highway', 'primary',
          'busiest first');
SELECT is(jsonb_array_length(pg_temp.roads(16) -> 'features' -> 0 -> 'geometry' -> 'coordinates'), 2,
          'simplified to about a pixel: the middle point is dropped');
SELECT is((pg_temp.roads(16, 1) ->> 'truncated')::boolean, true, 'capped: truncated says so');
SELECT is(jsonb_array_length(pg_temp.roads(16, 1) -> 'features'), 1, 'capped: at most max_edges');
SELECT is(pg_temp.roads(16) ->> 'attribution', '© OpenStreetMap contributors', 'attributed');
SELECT throws_ok($$SELECT dispatch.console_roads(930001, ARRAY[30.0, 10.0, 29.0, 11.0]::float8[])$$,
                 'DP009', NULL, 'a box upside down is refused');
SELECT throws_ok($$SELECT dispatch.console_roads(930002, ARRAY[29.0, 9.0, 30.0, 10.0]::float8[])$$,
                 'DP046', NULL, 'dispatchers only');

INSERT INTO dispatch.assistance_requests (id, client_id, status, service_type, vehicle_type, pickup,
    pickup_h3_r7, price, total_price, currency) OVERRIDING SYSTEM VALUE
VALUES (93501, 930002, 'requested', 'towing', 'light', ST_MakePoint(30.0, 10.0)::geography, 7,
        '{}', 1500, 'DZD');
SELECT is(dispatch.dispatch_post_chat(93501, 930001, 'On the way') ->> 'sender_role', 'dispatcher',
          'a dispatcher writes in a job''s chat');
SELECT is((SELECT message ->> 'message' FROM dispatch.events
            WHERE topic = 'assistance:93501' ORDER BY batch_id DESC, position DESC LIMIT 1),
          'On the way', 'emitted on the job''s channel');
SELECT throws_ok($$SELECT dispatch.dispatch_post_chat(93599, 930001, 'x')$$, 'DP001', NULL,
                 'an unknown job');

SELECT * FROM finish();
ROLLBACK;
