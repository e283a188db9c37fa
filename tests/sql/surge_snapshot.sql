-- The idle-supply snapshot behind surge pricing: refreshed, read while fresh, bypassed when stale.
BEGIN;
SELECT plan(7);

UPDATE dispatch.settings SET value = '1.0' WHERE key = 'surge_k';
UPDATE dispatch.settings SET value = '3.0' WHERE key = 'surge_cap';
INSERT INTO dispatch.users (id, role, name, phone_number) OVERRIDING SYSTEM VALUE
VALUES (901, 'assistant', 'A', '+1771'), (902, 'assistant', 'B', '+1772'),
       (903, 'client', 'C', '+1773'), (904, 'client', 'D', '+1774'), (905, 'client', 'E', '+1775'),
       (906, 'client', 'F', '+1776');
INSERT INTO dispatch.assistants (user_id, service_type, vehicle_type, driving_license_cat,
    driving_license_num, driving_license_expiry, vehicle_registration_num, is_active)
VALUES (901, 'towing', 'light', 'c', 'x', current_date + 10, 1, true),
       (902, 'towing', 'light', 'c', 'x', current_date + 10, 1, true);
INSERT INTO dispatch.positions (user_id, geog, h3_r7, h3_r8, h3_r9)
VALUES (901, ST_MakePoint(3.05, 36.75)::geography, 77, 0, 0),
       (902, ST_MakePoint(3.06, 36.75)::geography, 78, 0, 0);
-- Four requests waiting in cell 77.
INSERT INTO dispatch.assistance_requests (client_id, service_type, vehicle_type, pickup,
    pickup_h3_r7, price, total_price, currency)
SELECT id, 'towing', 'light', ST_MakePoint(3.05, 36.75)::geography, 77, '{}', 0, 'DZD'
FROM dispatch.users WHERE id BETWEEN 903 AND 906;

DELETE FROM dispatch.cell_supply_refreshed;
SELECT is(dispatch.surge_for_cells(ARRAY[77, 78]::bigint[]), 2.00,
          'without a snapshot supply is counted live (2 idle, 4 waiting: 1 + (4/2 - 1))');
SELECT ok(dispatch.refresh_cell_supply(0), 'a refresh re-counts');
SELECT results_eq($$SELECT h3_r7, idle_assistants FROM dispatch.cell_supply
                    WHERE h3_r7 IN (77, 78) ORDER BY 1$$,
                  $$VALUES (77::bigint, 1), (78::bigint, 1)$$, 'idle assistants per cell');
SELECT ok(NOT dispatch.refresh_cell_supply(60), 'a fresh snapshot is not re-counted');
-- Prove the fresh snapshot is what pricing reads: pretend cell 77 has 4 idle assistants.
UPDATE dispatch.cell_supply SET idle_assistants = 4 WHERE h3_r7 = 77;
SELECT is(dispatch.surge_for_cells(ARRAY[77, 78]::bigint[]), 1.00,
          'a fresh snapshot is read (5 idle, 4 waiting: no surge)');
UPDATE dispatch.cell_supply_refreshed SET refreshed_at = now() - interval '1 hour';
SELECT is(dispatch.surge_for_cells(ARRAY[77, 78]::bigint[]), 2.00, 'a stale snapshot is ignored');
SELECT is((dispatch.quote_price('towing', 'light', 0, 77, ARRAY[78]::bigint[]) ->> 'surge_multiplier')::numeric,
          2.00, 'quotes use the same surge');

SELECT * FROM finish();
ROLLBACK;
