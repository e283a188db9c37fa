-- Service zones: schema, geometry validation, the pickup's zone (smallest wins), pricing by zone,
-- the out-of-service refusal before anyone is notified, and the catalogue agreeing with the quote.
BEGIN;
SELECT plan(30);

SELECT has_table('dispatch', 'service_zones', 'service zones table');
SELECT has_table('dispatch', 'zone_tariffs', 'zone tariffs table');
SELECT has_index('dispatch', 'service_zones', 'service_zones_geom_idx', 'zones have a spatial index');
SELECT is((SELECT amname::text FROM pg_class c JOIN pg_am a ON a.oid = c.relam
            WHERE c.relname = 'service_zones_geom_idx'), 'gist', 'the spatial index is GiST');

-- A 10 x 10 km-ish city zone and a small centre inside it; an island zone elsewhere.
SELECT dispatch.create_zone('City', '{"type": "Polygon", "coordinates": [[[3.0, 36.7], [3.1, 36.7],
    [3.1, 36.8], [3.0, 36.8], [3.0, 36.7]]]}',
    true, '[{"service_type": "towing", "vehicle_type": "light", "base_fare": 1800, "per_km": 55}]')
    ->> 'id' AS city \gset
SELECT dispatch.create_zone('Centre', '{"type": "MultiPolygon", "coordinates": [[[[3.04, 36.74],
    [3.06, 36.74], [3.06, 36.76], [3.04, 36.76], [3.04, 36.74]]]]}',
    true, '[{"service_type": "towing", "vehicle_type": "light", "base_fare": 2500, "per_km": 70}]')
    ->> 'id' AS centre \gset
SELECT dispatch.create_zone('Closed', '{"type": "Polygon", "coordinates": [[[4.0, 36.0], [4.1, 36.0],
    [4.1, 36.1], [4.0, 36.1], [4.0, 36.0]]]}', false) ->> 'id' AS closed \gset

SELECT is((dispatch.zone_at(ST_MakePoint(3.05, 36.75)::geography)).name, 'Centre',
          'overlapping zones: the smallest covering the point wins');
SELECT is((dispatch.zone_at(ST_MakePoint(3.09, 36.71)::geography)).name, 'City',
          'outside the centre: the city');
SELECT is((dispatch.zone_at(ST_MakePoint(3.1, 36.75)::geography)).name, 'City',
          'a point on the boundary is inside');
SELECT is_empty('SELECT * FROM dispatch.zone_at(ST_MakePoint(2.0, 36.75)::geography)',
          'outside every zone: no zone');

SELECT is((dispatch.quote_price('towing', 'light', 10, NULL, NULL,
              ST_MakePoint(3.05, 36.75)::geography) ->> 'total')::numeric, 3200.00,
          'centre tariff: 2500 + 70/km');
SELECT is(dispatch.quote_price('towing', 'light', 10, NULL, NULL,
              ST_MakePoint(3.05, 36.75)::geography) -> 'zone',
          jsonb_build_object('id', :centre::bigint, 'name', 'Centre'), 'the quote names its zone');
SELECT is(dispatch.quote_price('towing', 'light', 10, NULL, NULL,
              ST_MakePoint(3.05, 36.75)::geography) -> 'lines' -> 0 ->> 'label',
          'Base fare (Centre)', 'the breakdown names the zone');
SELECT is((dispatch.quote_price('towing', 'light', 10, NULL, NULL,
              ST_MakePoint(3.09, 36.71)::geography) ->> 'total')::numeric, 2350.00,
          'city tariff: 1800 + 55/km');
SELECT is((dispatch.quote_price('towing', 'heavy', 10, NULL, NULL,
              ST_MakePoint(3.05, 36.75)::geography) ->> 'total')::numeric, 4500.00,
          'a pair without a zone row falls back to the default tariff');
SELECT is(dispatch.quote_price('towing', 'heavy', 10, NULL, NULL,
              ST_MakePoint(3.05, 36.75)::geography) ->> 'currency', 'DZD',
          'in the default tariff''s currency');
SELECT is((dispatch.quote_price('towing', 'light', 10, NULL, NULL,
              ST_MakePoint(2.0, 36.75)::geography) ->> 'total')::numeric, 2000.00,
          'outside every zone: the default tariff');
SELECT throws_ok($$SELECT dispatch.quote_price('towing', 'light', 1, NULL, NULL,
                     ST_MakePoint(4.05, 36.05)::geography)$$, 'DP020', NULL,
                 'a pickup in a zone without service is refused with DP020');

-- request_assistance: refused before matching, storing or notifying anyone.
INSERT INTO dispatch.users (id, role, name, phone_number) OVERRIDING SYSTEM VALUE
VALUES (901, 'client', 'Amel', '+1901'), (902, 'assistant', 'Karim', '+1902');
INSERT INTO dispatch.assistants (user_id, service_type, vehicle_type, driving_license_cat,
    driving_license_num, driving_license_expiry, vehicle_registration_num, is_active)
VALUES (902, 'towing', 'light', 'c', 'x', current_date + 10, 1, true);
INSERT INTO dispatch.positions (user_id, geog, h3_r7, h3_r8, h3_r9)
VALUES (902, ST_MakePoint(4.05, 36.05)::geography, 7, 0, 0);
SELECT throws_ok($$SELECT dispatch.request_assistance(901, 36.05, 4.05, 7)$$, 'DP020', NULL,
                 'request_assistance in a zone without service: DP020');
SELECT is((SELECT count(*) FROM dispatch.assistance_requests WHERE client_id = 901), 0::bigint,
          'and nothing was stored');
SELECT is(dispatch.request_assistance(901, 36.75, 3.05, 7) -> 'assistance' -> 'price_breakdown' -> 0,
          '{"label": "Base fare (Centre)", "amount": 2500.00}'::jsonb,
          'a request in the centre is priced by the centre tariff');

-- Geometry validation: the reason comes back.
SELECT throws_ok($$SELECT dispatch.create_zone('Bow tie', '{"type": "Polygon", "coordinates":
    [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}')$$, 'DP022',
    'The zone geometry is invalid: Self-intersection[0.5 0.5]', 'self-intersecting: DP022 with the reason');
SELECT throws_ok($$SELECT dispatch.create_zone('Point', '{"type": "Point", "coordinates": [0, 0]}')$$,
    'DP022', NULL, 'not a polygon: DP022');
SELECT throws_ok($$SELECT dispatch.create_zone('Open', '{"type": "Polygon", "coordinates":
    [[[0, 0], [1, 0], [1, 1]]]}')$$, 'DP022', NULL, 'a ring too short: DP022');
-- Edges of 180 degrees or more: the whole world (antipodal to geography, which raised) and a
-- strip drawn across the antimeridian (covering the other 358 degrees); 3-D positions.
SELECT throws_ok($$SELECT dispatch.create_zone('World', '{"type": "Polygon", "coordinates":
    [[[-180, -90], [180, -90], [180, 90], [-180, 90], [-180, -90]]]}')$$, 'DP022', NULL,
    'the whole-world polygon: DP022, not a geography error');
SELECT throws_ok($$SELECT dispatch.create_zone('Dateline', '{"type": "Polygon", "coordinates":
    [[[179.5, 0], [-179.5, 0], [-179.5, 1], [179.5, 1], [179.5, 0]]]}')$$, 'DP022', NULL,
    'a polygon across the antimeridian: DP022');
SELECT throws_ok($$SELECT dispatch.create_zone('High', '{"type": "Polygon", "coordinates":
    [[[0, 0, 5], [1, 0, 5], [1, 1, 5], [0, 0, 5]]]}')$$, 'DP022', NULL, '3-D positions: DP022');
SELECT throws_ok($$INSERT INTO dispatch.service_zones (name, geom) VALUES ('By hand',
    ST_Multi(ST_GeomFromText('POLYGON((0 0, 1 1, 1 0, 0 1, 0 0))', 4326)))$$, '23514', NULL,
    'an invalid shape inserted by hand is refused by a CHECK');

-- Zone management.
SELECT is(dispatch.update_zone(:closed, serviceable => true) ->> 'serviceable', 'true',
          'update_zone changes only what it is given');
SELECT is((dispatch.quote_price('towing', 'light', 0, NULL, NULL,
              ST_MakePoint(4.05, 36.05)::geography) ->> 'total')::numeric, 1500.00,
          'a zone made serviceable prices with the default tariff');
SELECT lives_ok(format('SELECT dispatch.delete_zone(%s)', :centre), 'delete_zone');
SELECT is((dispatch.zone_at(ST_MakePoint(3.05, 36.75)::geography)).name, 'City',
          'without the centre, the city covers its pickups');

SELECT * FROM finish();
ROLLBACK;
