-- Pricing: seeded tariffs, the surge formula and cap, supply_demand, quote_price lines and errors.
BEGIN;
SELECT plan(17);

SELECT results_eq(
    $$SELECT service_type, vehicle_type, base_fare, per_km, currency FROM dispatch.tariffs
      ORDER BY service_type DESC, vehicle_type DESC$$,
    $$VALUES ('towing', 'light', 1500.00, 50.00, 'DZD'), ('towing', 'heavy', 3000.00, 150.00, 'DZD'),
             ('repair', 'light', 1000.00, 0.00, 'DZD'), ('repair', 'heavy', 2000.00, 0.00, 'DZD')$$,
    'tariffs are seeded as the contract says');
SELECT volatility_is('dispatch', 'quote_price',
    ARRAY['text', 'text', 'double precision', 'bigint', 'bigint[]', 'geography'], 'stable');
SELECT ok(obj_description('dispatch.quote_price(text, text, double precision, bigint, bigint[], geography)'::regprocedure, 'pg_proc') IS NOT NULL,
    'quote_price is documented');

SELECT is(dispatch.surge_multiplier(4, 2, 0.5, 2.0), 1.00, 'demand below supply: no surge');
SELECT is(dispatch.surge_multiplier(2, 5, 0.5, 2.0), 1.75, '1 + k (demand/supply - 1)');
SELECT is(dispatch.surge_multiplier(1, 9, 0.5, 2.0), 2.00, 'capped');
SELECT is(dispatch.surge_multiplier(0, 1, 0.5, 2.0), 2.00, 'demand without supply: the cap');
SELECT is(dispatch.surge_multiplier(0, 0), 1.00, 'no demand: 1');

SELECT is(dispatch.quote_price('towing', 'light', 10),
    '{"total": 2000.00, "currency": "DZD", "surge_multiplier": 1.0, "final_price_on_completion": false,
      "zone": null,
      "lines": [{"label": "Base fare", "amount": 1500.00},
                {"label": "Distance (10.000 km × 50 DZD/km)", "amount": 500.00}]}'::jsonb,
    'towing light: 1500 + 50/km, itemised');
SELECT is((dispatch.quote_price('towing', 'heavy', 2.5) ->> 'total')::numeric, 3375.00,
          'towing heavy: 3000 + 150/km');
SELECT is(dispatch.quote_price('repair', 'light', 7) -> 'lines',
          '[{"label": "Callout fee", "amount": 1000.00}]'::jsonb, 'repair: the callout fee only');

-- Surge from live data: cell 42 has one idle assistant and three open requests, cell 43 one more
-- idle assistant. Alone: 1 + 0.5 * (3/1 - 1) = 2.0; with its neighbour 43: 1 + 0.5 * (3/2 - 1).
INSERT INTO dispatch.users (id, role, name, phone_number) OVERRIDING SYSTEM VALUE
SELECT i, CASE WHEN i < 3 THEN 'assistant' ELSE 'client' END, 'u' || i, '+1666' || i
FROM generate_series(1, 5) i;
INSERT INTO dispatch.assistants (user_id, service_type, vehicle_type, driving_license_cat,
    driving_license_num, driving_license_expiry, vehicle_registration_num, is_active)
SELECT i, 'towing', 'light', 'c', 'x', current_date + 1, 1, true FROM generate_series(1, 2) i;
INSERT INTO dispatch.positions (user_id, geog, h3_r7, h3_r8, h3_r9)
VALUES (1, ST_MakePoint(1, 1)::geography, 42, 0, 0), (2, ST_MakePoint(1, 1)::geography, 43, 0, 0);
INSERT INTO dispatch.assistance_requests (client_id, service_type, vehicle_type, pickup,
    pickup_h3_r7, price, total_price, currency)
SELECT i, 'towing', 'light', ST_MakePoint(1, 1)::geography, 42, '{}', 0, 'DZD'
FROM generate_series(3, 5) i;

SELECT results_eq(
    $$SELECT h3_r7, idle_assistants, open_requests, surge_multiplier FROM dispatch.supply_demand
      WHERE h3_r7 IN (42, 43) ORDER BY h3_r7$$,
    $$VALUES (42::bigint, 1::bigint, 3::bigint, 2.00), (43, 1, 0, 1.00)$$,
    'supply_demand per cell');
SELECT is(dispatch.quote_price('towing', 'light', 10, 42, ARRAY[43::bigint]) -> 'lines' -> 2,
          '{"label": "Surge × 1.25", "amount": 500.00}'::jsonb,
          'the surge over the pickup cell and its neighbours is its own line');
SELECT is((dispatch.quote_price('towing', 'light', 10, 42) ->> 'total')::numeric, 4000.00,
          'the pickup cell alone surges to the cap');
SELECT throws_ok($$SELECT dispatch.quote_price('towing', 'medium', 1)$$, 'DP009', NULL,
                 'an unknown tariff is refused with DP009');
SELECT throws_ok($$SELECT dispatch.quote_price('towing', 'light', -1)$$, 'DP009', NULL,
                 'a negative distance is refused with DP009');
-- 1500 + 50/km x 200,000,000 km: more than total_price's numeric(12, 2) holds.
SELECT throws_ok($$SELECT dispatch.quote_price('towing', 'light', 200000000)$$, 'DP029', NULL,
                 'a total the request''s column cannot hold is refused with DP029');

SELECT * FROM finish();
ROLLBACK;
