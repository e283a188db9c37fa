-- Routing over road graphs on a synthetic square far from other test data (around lat 10, lng 20):
-- covers, snap, times_to (one-way, same edge, off the roads, over budget), route, rank_by_eta,
-- trip_distance, road_times surviving a broken graph; then the analysts' travel_time, isochrone
-- and coverage. Every expected number follows from the costs below (snap legs at 10 km/h).
--
--   D (20.00, 10.01) --e3 70/70 s, 1100 m-- C (20.01, 10.01)      e3 is drawn C -> D
--   |                                        ^                     e4 is drawn D -> A
--   e4 90/90 s, 1300 m                       e2 80 s, one-way B -> C, 1200 m
--   |                                        |      e5 (not main) at lng 20.011, 10.000-10.005
--   A (20.00, 10.00) --e1 60/60 s, 1000 m-- B (20.01, 10.00)
--
-- P: the middle of e2 (20.01, 10.005); Q: the middle of e4 (20.00, 10.005).
BEGIN;
SELECT plan(52);

INSERT INTO roads.regions (id, name, source, sha256, edges, vertices, area, area_km2)
OVERRIDING SYSTEM VALUE
VALUES (9001, 'pgtap-square', 'tests/sql/roads.sql', 'x', 5, 6,
        ST_MakeEnvelope(19.99, 9.99, 20.03, 10.03, 4326), 19.6);
INSERT INTO roads.vertices (id, region_id, osm_node, main, geom) OVERRIDING SYSTEM VALUE
VALUES (901001, 9001, 1, true, ST_SetSRID(ST_MakePoint(20.00, 10.00), 4326)),
       (901002, 9001, 2, true, ST_SetSRID(ST_MakePoint(20.01, 10.00), 4326)),
       (901003, 9001, 3, true, ST_SetSRID(ST_MakePoint(20.01, 10.01), 4326)),
       (901004, 9001, 4, true, ST_SetSRID(ST_MakePoint(20.00, 10.01), 4326)),
       (901005, 9001, 5, false, ST_SetSRID(ST_MakePoint(20.011, 10.000), 4326)),
       (901006, 9001, 6, false, ST_SetSRID(ST_MakePoint(20.011, 10.005), 4326));
INSERT INTO roads.edges (id, region_id, source, target, cost, reverse_cost, length_m, highway,
                         osm_way, main, geom) OVERRIDING SYSTEM VALUE
VALUES (902001, 9001, 901001, 901002, 60, 60, 1000, 'residential', 1, true,
        ST_GeomFromText('LINESTRING(20.00 10.00, 20.01 10.00)', 4326)),
       (902002, 9001, 901002, 901003, 80, -1, 1200, 'residential', 2, true,
        ST_GeomFromText('LINESTRING(20.01 10.00, 20.01 10.01)', 4326)),
       (902003, 9001, 901003, 901004, 70, 70, 1100, 'residential', 3, true,
        ST_GeomFromText('LINESTRING(20.01 10.01, 20.00 10.01)', 4326)),
       (902004, 9001, 901004, 901001, 90, 90, 1300, 'residential', 4, true,
        ST_GeomFromText('LINESTRING(20.00 10.01, 20.00 10.00)', 4326)),
       (902005, 9001, 901005, 901006, 10, 10, 550, 'residential', 5, false,
        ST_GeomFromText('LINESTRING(20.011 10.00, 20.011 10.005)', 4326));

CREATE FUNCTION pg_temp.pt(lng double precision, lat double precision) RETURNS geometry
LANGUAGE sql IMMUTABLE AS $$ SELECT ST_SetSRID(ST_MakePoint(lng, lat), 4326) $$;
-- A time or length rounded to a microsecond / micrometre: the fractions are floating point.
CREATE FUNCTION pg_temp.r(x double precision) RETURNS numeric
LANGUAGE sql IMMUTABLE AS $$ SELECT round(x::numeric, 6) $$;

-- covers
SELECT ok(roads.covers(pg_temp.pt(20.01, 10.005)), 'covers: a point in the region''s area');
SELECT ok(NOT roads.covers(pg_temp.pt(21, 10)), 'covers: a point outside every area');

-- snap
SELECT is((SELECT (edge_id, pg_temp.r(fraction), pg_temp.r(snap_m))::text
             FROM roads.snap(pg_temp.pt(20.01, 10.005))),
          '(902002,0.500000,0.000000)', 'snap: a point on an edge, half way along, 0 m off');
SELECT is((SELECT (edge_id, pg_temp.r(fraction))::text FROM roads.snap(pg_temp.pt(20.0108, 10.002))),
          '(902002,0.200000)',
          'snap: the nearest main edge (e2, 88 m), never the nearer edge that is not main (e5, 22 m)');
SELECT ok((SELECT abs(snap_m - ST_Distance(pg_temp.pt(20.0108, 10.002)::geography,
                                           pg_temp.pt(20.01, 10.002)::geography)) < 0.01
             FROM roads.snap(pg_temp.pt(20.0108, 10.002))),
          'snap: the distance is the geodesic one to the foot on the edge');
SELECT is_empty($$SELECT * FROM roads.snap(pg_temp.pt(20.0135, 10.005))$$,
                'snap: 384 m from the main roads (beyond roads_snap_max_m 250), 274 m from e5: none');

-- times_to
SELECT is((SELECT pg_temp.r(seconds) FROM roads.times_to(pg_temp.pt(20.00, 10.005),
                                                         ARRAY[pg_temp.pt(20.01, 10.005)])),
          155.000000, 'times_to P -> Q: up e2 40 + C->D 70 + half of e4 45 (e2 is one-way)');
SELECT is((SELECT pg_temp.r(seconds) FROM roads.times_to(pg_temp.pt(20.01, 10.005),
                                                         ARRAY[pg_temp.pt(20.00, 10.005)])),
          145.000000, 'times_to Q -> P: half of e4 45 + A->B 60 + half of e2 40 (one-way asymmetry)');
SELECT is((SELECT pg_temp.r(seconds) FROM roads.times_to(pg_temp.pt(20.00, 10.0025),
                                                         ARRAY[pg_temp.pt(20.00, 10.0075)])),
          45.000000, 'times_to on one edge: along it, half of e4''s 90 s');
SELECT is((SELECT pg_temp.r(seconds) FROM roads.times_to(pg_temp.pt(20.01, 10.0025),
                                                         ARRAY[pg_temp.pt(20.01, 10.0075)])),
          260.000000, 'times_to back along a one-way edge: round the square, 20 + 220 + 20');
SELECT is((SELECT pg_temp.r(seconds) FROM roads.times_to(pg_temp.pt(20.00, 10.005),
                                                         ARRAY[pg_temp.pt(20.0108, 10.002)])),
          pg_temp.r(64 + 70 + 45 + (SELECT snap_m FROM roads.snap(pg_temp.pt(20.0108, 10.002)))
                    / (10 / 3.6)),
          'times_to from off the edge: the snap leg at 10 km/h + 0.8 of e2 64 + 70 + 45');
SELECT results_eq(
    $$SELECT ord, pg_temp.r(seconds) FROM roads.times_to(pg_temp.pt(20.01, 10.005),
          ARRAY[pg_temp.pt(20.00, 10.02), pg_temp.pt(20.00, 10.005)]) ORDER BY ord$$,
    $$VALUES (1, NULL::numeric), (2, 145.000000)$$,
    'times_to: an origin off the roads gets NULL seconds, the others their time');
SELECT is_empty($$SELECT * FROM roads.times_to(pg_temp.pt(20.00, 10.02),
                                               ARRAY[pg_temp.pt(20.00, 10.005)])$$,
                'times_to: a destination off the roads, no rows');
-- times_matrix: every destination in one routing call, each pair as times_to would give it
SELECT results_eq(
    $$SELECT dest, ord, pg_temp.r(seconds) FROM roads.times_matrix(
          ARRAY[pg_temp.pt(20.01, 10.005), pg_temp.pt(20.00, 10.005), pg_temp.pt(20.00, 10.02)],
          ARRAY[pg_temp.pt(20.00, 10.005), pg_temp.pt(20.01, 10.005), pg_temp.pt(20.01, 10.0075)])
      ORDER BY dest, ord$$,
    $$VALUES (1, 1, 145.000000), (1, 2, 0.000000), (1, 3, 280.000000),
             (2, 1, 0.000000), (2, 2, 155.000000), (2, 3, 135.000000)$$,
    'times_matrix: Q -> P 145, P -> Q 155, back along one-way e2 280 (20 + 220 + 40), on the same spot 0; the '
    'destination off the roads has no rows');
SELECT results_eq(
    $$SELECT m.ord, pg_temp.r(m.seconds) FROM roads.times_matrix(
          ARRAY[pg_temp.pt(20.00, 10.0025), pg_temp.pt(20.01, 10.005)],
          ARRAY[pg_temp.pt(20.00, 10.0075), pg_temp.pt(20.0108, 10.002)]) m
      WHERE m.dest = 2 ORDER BY m.ord$$,
    $$SELECT t.ord, pg_temp.r(t.seconds) FROM roads.times_to(pg_temp.pt(20.01, 10.005),
          ARRAY[pg_temp.pt(20.00, 10.0075), pg_temp.pt(20.0108, 10.002)]) t ORDER BY t.ord$$,
    'times_matrix: a destination''s column is its times_to, whatever the other destinations');
SELECT is_empty($$SELECT * FROM roads.times_matrix(ARRAY[pg_temp.pt(20.00, 10.02)],
                                                   ARRAY[pg_temp.pt(20.00, 10.005)])$$,
                'times_matrix: no destination on the roads, no rows');
SELECT value AS budget FROM dispatch.settings WHERE key = 'roads_max_edges' \gset
UPDATE dispatch.settings SET value = '0' WHERE key = 'roads_max_edges';
SELECT is_empty($$SELECT * FROM roads.times_to(pg_temp.pt(20.01, 10.005),
                                               ARRAY[pg_temp.pt(20.00, 10.005)])$$,
                'times_to over the work budget (roads_max_edges 0): no rows');
UPDATE dispatch.settings SET value = :'budget' WHERE key = 'roads_max_edges';

-- route
SELECT is((SELECT (pg_temp.r(seconds), pg_temp.r(metres))::text
             FROM roads.route(pg_temp.pt(20.00, 10.005), pg_temp.pt(20.01, 10.005))),
          '(145.000000,2250.000000)', 'route Q -> P: 145 s over 650 + 1000 + 600 m');
SELECT is((SELECT (pg_temp.r(seconds), pg_temp.r(metres))::text
             FROM roads.route(pg_temp.pt(20.01, 10.005), pg_temp.pt(20.00, 10.005))),
          '(155.000000,2350.000000)', 'route P -> Q: 155 s over 600 + 1100 + 650 m');
SELECT is((SELECT (pg_temp.r(seconds), pg_temp.r(metres))::text
             FROM roads.route(pg_temp.pt(20.01, 10.0075), pg_temp.pt(20.01, 10.0025))),
          '(260.000000,4000.000000)', 'route back along a one-way edge: round the square');
SELECT is((SELECT pg_temp.r(seconds) FROM roads.route(pg_temp.pt(20.0108, 10.002),
                                                      pg_temp.pt(20.00, 10.005))),
          (SELECT pg_temp.r(seconds) FROM roads.times_to(pg_temp.pt(20.00, 10.005),
                                                         ARRAY[pg_temp.pt(20.0108, 10.002)])),
          'route and times_to agree, snap leg included');
SELECT ok((SELECT seconds IS NULL AND metres IS NULL
             FROM roads.route(pg_temp.pt(20.00, 10.02), pg_temp.pt(20.01, 10.005))),
          'route from off the roads: NULLs');

-- rank_by_eta: N (on e2 above P, 278 m) is nearest as the crow flies, but the one-way sends it
-- round the square (20 + 220 + 40 = 280 s); Q (1096 m) drives 145 s; O (384 m) is off the roads.
SELECT results_eq(
    $$SELECT assistant_id, eta_s, eta_source FROM dispatch.rank_by_eta(
          pg_temp.pt(20.01, 10.005)::geography, ARRAY[1, 2, 3]::bigint[],
          ARRAY[pg_temp.pt(20.01, 10.0075), pg_temp.pt(20.00, 10.005),
                pg_temp.pt(20.0135, 10.005)]::geography[],
          ARRAY(SELECT ST_Distance(g::geography, pg_temp.pt(20.01, 10.005)::geography)
                FROM unnest(ARRAY[pg_temp.pt(20.01, 10.0075), pg_temp.pt(20.00, 10.005),
                                  pg_temp.pt(20.0135, 10.005)]) WITH ORDINALITY u(g, i)
                ORDER BY i), 10)$$,
    $$VALUES (2::bigint, 145, 'road'), (1, 280, 'road'),
             (3, round(dispatch.straight_line_eta_s(ST_Distance(
                 ST_MakePoint(20.0135, 10.005)::geography,
                 ST_MakePoint(20.01, 10.005)::geography)))::integer, 'straight_line')$$,
    'rank_by_eta: road order beats geodesic order; the unroutable one comes last, straight_line');

-- trip_distance
SELECT is((SELECT (pg_temp.r(km), source)::text
             FROM dispatch.trip_distance(pg_temp.pt(20.00, 10.005)::geography,
                                         pg_temp.pt(20.01, 10.005)::geography)),
          '(2.250000,road)', 'trip_distance: the fastest route''s length where graphs cover both');
SELECT is((SELECT (pg_temp.r(km), source)::text
             FROM dispatch.trip_distance(pg_temp.pt(20.00, 10.005)::geography,
                                         pg_temp.pt(20.10, 10.005)::geography)),
          (SELECT (pg_temp.r(ST_Distance(pg_temp.pt(20.00, 10.005)::geography,
                                         pg_temp.pt(20.10, 10.005)::geography) / 1000),
                   'straight_line')::text),
          'trip_distance: a dropoff outside every graph, geodesic');
SELECT is((SELECT (km, source)::text
             FROM dispatch.trip_distance(pg_temp.pt(20.00, 10.005)::geography, NULL)),
          '(0,straight_line)', 'trip_distance without a dropoff: 0 km');

-- road_times: a broken graph is no error, only no road times.
SELECT is(ARRAY(SELECT pg_temp.r(t) FROM unnest(dispatch.road_times(pg_temp.pt(20.01, 10.005)::geography,
                              ARRAY[pg_temp.pt(20.00, 10.005)::geography])) t),
          ARRAY[145.000000], 'road_times: the road time of each place');
ALTER TABLE roads.edges RENAME TO edges_away;
SELECT is(dispatch.road_times(pg_temp.pt(20.01, 10.005)::geography,
                              ARRAY[pg_temp.pt(20.00, 10.005)::geography]),
          NULL, 'road_times without a usable edges table: NULL, not an error');
ALTER TABLE roads.edges_away RENAME TO edges;
SELECT is(ARRAY(SELECT pg_temp.r(t) FROM unnest(dispatch.road_times(pg_temp.pt(20.01, 10.005)::geography,
                              ARRAY[pg_temp.pt(20.00, 10.005)::geography])) t),
          ARRAY[145.000000], 'road_times again once the table is back');
-- The time budget: a call over roads_time_budget_ms keeps its answer and pauses road ranking on
-- this session for roads_pause_s; a new session (here: the setting cleared) routes again.
UPDATE dispatch.settings SET value = '0' WHERE key = 'roads_time_budget_ms';
SELECT is(ARRAY(SELECT pg_temp.r(t) FROM unnest(dispatch.road_times(pg_temp.pt(20.01, 10.005)::geography,
                              ARRAY[pg_temp.pt(20.00, 10.005)::geography])) t),
          ARRAY[145.000000], 'road_times over its time budget: the answer stands');
SELECT is(dispatch.road_times(pg_temp.pt(20.01, 10.005)::geography,
                              ARRAY[pg_temp.pt(20.00, 10.005)::geography]),
          NULL, 'road_times right after a call over budget: paused, NULL');
UPDATE dispatch.settings SET value = '100' WHERE key = 'roads_time_budget_ms';
SELECT set_config('dispatch.roads_paused_until', '', false);
SELECT is(ARRAY(SELECT pg_temp.r(t) FROM unnest(dispatch.road_times(pg_temp.pt(20.01, 10.005)::geography,
                              ARRAY[pg_temp.pt(20.00, 10.005)::geography])) t),
          ARRAY[145.000000], 'road_times once the pause is over');

-- travel_time
SELECT is((SELECT (pg_temp.r(seconds), pg_temp.r(metres), source)::text
             FROM roads.travel_time(10.005, 20.00, 10.005, 20.01)),
          '(145.000000,2250.000000,road)', 'travel_time by road where a graph covers both ends');
SELECT is((SELECT (pg_temp.r(seconds), pg_temp.r(metres), source)::text
             FROM roads.travel_time(10.005, 20.00, 10.005, 20.10)),
          (SELECT (pg_temp.r(dispatch.straight_line_eta_s(d)), pg_temp.r(d), 'straight_line')::text
             FROM ST_Distance(pg_temp.pt(20.00, 10.005)::geography,
                              pg_temp.pt(20.10, 10.005)::geography) d),
          'travel_time by the straight line elsewhere');

-- isochrone: from P in 100 s, up e2 to C (40 s) and 60 of e3's 70 s towards D; to P in 100 s,
-- from B (40 s) and A (100 s).
SELECT is(roads.isochrone(10.02, 20.00, 100), NULL, 'isochrone off the roads: NULL');
SELECT is(roads.isochrone(10.005, 20.01, 100) ->> 'type', 'Polygon', 'isochrone: a GeoJSON polygon');
SELECT ok(abs(ST_Area(ST_GeomFromGeoJSON(roads.isochrone(10.005, 20.01, 100)))
              - 0.5 * 0.005 * 0.01 * 6 / 7) < 1e-9,
          'isochrone from P: the triangle P, C and 6/7 of the way from C to D');
SELECT ok(ST_Contains(ST_GeomFromGeoJSON(roads.isochrone(10.005, 20.01, 100)),
                      pg_temp.pt(20.008, 10.009))
          AND NOT ST_Intersects(ST_GeomFromGeoJSON(roads.isochrone(10.005, 20.01, 100)),
                                pg_temp.pt(20.009, 10.004)),
          'isochrone from P: north of it, not behind the one-way');
SELECT ok(abs(ST_Area(ST_GeomFromGeoJSON(roads.isochrone(10.005, 20.01, 100, 'to')))
              - 0.5 * 0.005 * 0.01) < 1e-9, 'isochrone to P: the triangle P, B, A');
SELECT ok(ST_Contains(ST_GeomFromGeoJSON(roads.isochrone(10.005, 20.01, 100, 'to')),
                      pg_temp.pt(20.008, 10.001)), 'isochrone to P: south of it');
SELECT throws_ok($$SELECT roads.isochrone(10.005, 20.01, 100, 'both')$$, 'DP009', NULL,
                 'isochrone: an unknown direction is DP009');

-- coverage: a zone round the square holds the four main edges (4600 m; e5 is not main).
INSERT INTO dispatch.service_zones (name, geom)
VALUES ('pgtap square', ST_Multi(ST_MakeEnvelope(19.995, 9.995, 20.015, 10.015, 4326)))
RETURNING id AS zone \gset
SELECT is(roads.coverage(:zone, 60) - 'zone_id',
          '{"seconds": 60, "share": 0, "covered_km": 0, "road_km": 4.6, "idle_assistants": 0}'::jsonb,
          'coverage without idle assistants: nothing covered');
INSERT INTO dispatch.users (id, role, name, phone_number) OVERRIDING SYSTEM VALUE
VALUES (9101, 'assistant', 'on e4', '+19101'), (9102, 'assistant', 'on e2', '+19102');
INSERT INTO dispatch.assistants (user_id, service_type, vehicle_type, driving_license_cat,
    driving_license_num, driving_license_expiry, vehicle_registration_num, is_active)
VALUES (9101, 'towing', 'light', 'c', 'x', current_date + 10, 1, true);
INSERT INTO dispatch.positions (user_id, geog, h3_r7, h3_r8, h3_r9)
VALUES (9101, pg_temp.pt(20.00, 10.005)::geography, 0, 0, 0);
-- From Q in 60 s: all of e4 (45 s each way), 15 of e1's 60 s (250 m), 15 of e3's 70 s (235.71 m).
SELECT is((SELECT (pg_temp.r((c ->> 'covered_km')::float8 * 1000), pg_temp.r((c ->> 'share')::float8),
                   c ->> 'idle_assistants')::text
             FROM roads.coverage(:zone, 60) c),
          (SELECT (pg_temp.r(1300 + 250 + 1100 * 15 / 70.0), pg_temp.r((1300 + 250 + 1100 * 15 / 70.0) / 4600),
                   '1')::text),
          'coverage of one assistant at Q: 1785.71 of 4600 m');
INSERT INTO dispatch.assistants (user_id, service_type, vehicle_type, driving_license_cat,
    driving_license_num, driving_license_expiry, vehicle_registration_num, is_active)
VALUES (9102, 'repair', 'light', 'c', 'x', current_date + 10, 1, true);
INSERT INTO dispatch.positions (user_id, geog, h3_r7, h3_r8, h3_r9)
VALUES (9102, pg_temp.pt(20.01, 10.005)::geography, 0, 0, 0);
-- And from P: the top half of e2 (not the bottom: one-way), 20 more of e3's 70 s from C.
SELECT is((SELECT (pg_temp.r((c ->> 'covered_km')::float8 * 1000), pg_temp.r((c ->> 'share')::float8),
                   c ->> 'idle_assistants')::text
             FROM roads.coverage(:zone, 60) c),
          (SELECT (pg_temp.r(2700), pg_temp.r(2700 / 4600.0), '2')::text),
          'coverage of two: 1300 + 250 + 600 + 1100 x 35/70 = 2700 of 4600 m');
SELECT is(roads.coverage(:zone, 1000) ->> 'share', '1', 'coverage in 1000 s: all of it');
SELECT is(roads.coverage(-1, 60), NULL, 'coverage of an unknown zone: NULL');
SELECT throws_ok($$SELECT roads.coverage(1, -1)$$, 'DP009', NULL, 'coverage: negative seconds are DP009');
SELECT throws_ok($$SELECT roads.isochrone(10.005, 20.01, NULL)$$, 'DP009', NULL,
                 'isochrone: NULL seconds are DP009');

-- An assignment batch by road (dispatch.assignment_pairs): R1 at Q, R2 at P; A1 a quarter up e4
-- from A, A2 a quarter up the one-way e2 from B. One routing call for the batch; when the batch's
-- box is over roads_max_edges but each request's own is not, one call a request, same times.
UPDATE dispatch.assistants SET is_active = false WHERE user_id = 9101;
UPDATE dispatch.settings SET value = '"assignment"' WHERE key = 'offer_policy';
INSERT INTO dispatch.users (id, role, name, phone_number) OVERRIDING SYSTEM VALUE
VALUES (9201, 'client', 'R1', '+19201'), (9202, 'client', 'R2', '+19202'),
       (9211, 'assistant', 'A1', '+19211'), (9212, 'assistant', 'A2', '+19212');
INSERT INTO dispatch.assistants (user_id, service_type, vehicle_type, driving_license_cat,
    driving_license_num, driving_license_expiry, vehicle_registration_num, is_active)
VALUES (9211, 'towing', 'light', 'c', 'x', current_date + 10, 1, true),
       (9212, 'towing', 'light', 'c', 'x', current_date + 10, 1, true);
INSERT INTO dispatch.positions (user_id, geog, h3_r7, h3_r8, h3_r9)
VALUES (9211, pg_temp.pt(20.00, 10.0025)::geography, 0, 0, 0),
       (9212, pg_temp.pt(20.01, 10.0025)::geography, 0, 0, 0);
SELECT (dispatch.request_assistance(9201, 10.005, 20.00, 0) -> 'assistance' ->> 'id')::bigint AS r1
\gset
SELECT (dispatch.request_assistance(9202, 10.005, 20.01, 0) -> 'assistance' ->> 'id')::bigint AS r2
\gset
SELECT results_eq(
    format($$SELECT assistance_id = %s, assistant_id, pg_temp.r(cost_s), eta_source
               FROM dispatch.assignment_pairs(ARRAY[%s, %s]::bigint[], 'towing')
              ORDER BY 1 DESC, 2$$, :r1, :r1, :r2),
    $$VALUES (true, 9211::bigint, 22.500000, 'road'), (true, 9212::bigint, 175.000000, 'road'),
             (false, 9211::bigint, 122.500000, 'road'), (false, 9212::bigint, 20.000000, 'road')$$,
    'assignment_pairs by road: A1 -> Q 22.5 along e4, A2 -> Q 60 + 70 + 45, A1 -> P 22.5 + 60 + '
    '40, A2 -> P 20 along e2');
-- R1 was offered to A2 before, R2 to A1: each request keeps one candidate, and their boxes are
-- thin where the batch's covers the square's middle.
INSERT INTO dispatch.offers (assistance_id, assistant_id, round, distance_m, sent_at, expires_at,
                             state, closed_at)
VALUES (:r1, 9212, 1, 1, now() - interval '1 min', now() - interval '30 s', 'declined', now()),
       (:r2, 9211, 1, 1, now() - interval '1 min', now() - interval '30 s', 'declined', now());
UPDATE dispatch.settings SET value = '10' WHERE key = 'roads_box_margin_m';
UPDATE dispatch.settings SET value = '0.05' WHERE key = 'roads_max_edges';
SELECT ok(roads.routing_box(ARRAY[pg_temp.pt(20.00, 10.005), pg_temp.pt(20.01, 10.005),
                                  pg_temp.pt(20.00, 10.0025), pg_temp.pt(20.01, 10.0025)]) IS NULL
          AND roads.routing_box(ARRAY[pg_temp.pt(20.00, 10.005), pg_temp.pt(20.00, 10.0025)])
              IS NOT NULL,
          'the batch''s box is over the budget, each request''s is not');
SELECT results_eq(
    format($$SELECT assistance_id = %s, assistant_id, pg_temp.r(cost_s), eta_source
               FROM dispatch.assignment_pairs(ARRAY[%s, %s]::bigint[], 'towing')
              ORDER BY 1 DESC, 2$$, :r1, :r1, :r2),
    $$VALUES (true, 9211::bigint, 22.500000, 'road'), (false, 9212::bigint, 20.000000, 'road')$$,
    'over the batch''s budget, one routing call a request: the same road times');
UPDATE dispatch.settings SET value = :'budget' WHERE key = 'roads_max_edges';

SELECT ok(NOT EXISTS (
    SELECT 1 FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
    WHERE n.nspname = 'roads' AND obj_description(p.oid, 'pg_proc') IS NULL),
    'every roads function has a COMMENT');

SELECT * FROM finish();
ROLLBACK;
