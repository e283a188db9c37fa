-- Idle supply per H3 r7 cell behind surge pricing: kept exact by triggers on positions.
BEGIN;
SELECT plan(10);

UPDATE dispatch.settings SET value = '1.0' WHERE key = 'surge_k';
UPDATE dispatch.settings SET value = '3.0' WHERE key = 'surge_cap';
CREATE TEMP VIEW supply AS
SELECT h3_r7, idle_assistants FROM dispatch.cell_supply WHERE h3_r7 IN (77, 78, 79) AND idle_assistants <> 0;

INSERT INTO dispatch.users (id, role, name, phone_number) OVERRIDING SYSTEM VALUE
VALUES (901, 'assistant', 'A', '+1771'), (902, 'assistant', 'B', '+1772'),
       (903, 'client', 'C', '+1773'), (904, 'client', 'D', '+1774'), (905, 'client', 'E', '+1775'),
       (906, 'client', 'F', '+1776'), (907, 'assistant', 'G', '+1777');
INSERT INTO dispatch.assistants (user_id, service_type, vehicle_type, driving_license_cat,
    driving_license_num, driving_license_expiry, vehicle_registration_num, is_active)
VALUES (901, 'towing', 'light', 'c', 'x', current_date + 10, 1, true),
       (902, 'towing', 'light', 'c', 'x', current_date + 10, 1, true),
       (907, 'towing', 'light', 'c', 'x', current_date + 10, 1, false);
INSERT INTO dispatch.positions (user_id, geog, h3_r7, h3_r8, h3_r9)
VALUES (901, ST_MakePoint(3.05, 36.75)::geography, 77, 0, 0),
       (902, ST_MakePoint(3.06, 36.75)::geography, 78, 0, 0),
       (907, ST_MakePoint(3.06, 36.75)::geography, 78, 0, 0),
       (903, ST_MakePoint(3.06, 36.75)::geography, 78, 0, 0);
SELECT results_eq('SELECT * FROM supply ORDER BY 1', $$VALUES (77::bigint, 1), (78::bigint, 1)$$,
                  'new positions of active assistants count; inactive ones and clients do not');

-- Four requests waiting in cell 77.
INSERT INTO dispatch.assistance_requests (client_id, service_type, vehicle_type, pickup,
    pickup_h3_r7, price, total_price, currency)
SELECT id, 'towing', 'light', ST_MakePoint(3.05, 36.75)::geography, 77, '{}', 0, 'DZD'
FROM dispatch.users WHERE id BETWEEN 903 AND 906;
SELECT is(dispatch.surge_for_cells(ARRAY[77, 78]::bigint[]), 2.00,
          '2 idle, 4 waiting: 1 + (4/2 - 1)');

UPDATE dispatch.assistants SET is_active = true WHERE user_id = 907;
SELECT results_eq('SELECT * FROM supply ORDER BY 1', $$VALUES (77::bigint, 1), (78::bigint, 2)$$,
                  'going active adds one');
UPDATE dispatch.positions SET geog = ST_MakePoint(3.07, 36.75)::geography, h3_r7 = 79
 WHERE user_id = 907;
SELECT results_eq('SELECT * FROM supply ORDER BY 1',
                  $$VALUES (77::bigint, 1), (78::bigint, 1), (79::bigint, 1)$$,
                  'moving to another cell moves the count');
UPDATE dispatch.positions SET geog = ST_MakePoint(3.071, 36.75)::geography WHERE user_id = 907;
SELECT results_eq('SELECT * FROM supply ORDER BY 1',
                  $$VALUES (77::bigint, 1), (78::bigint, 1), (79::bigint, 1)$$,
                  'moving within a cell changes nothing');
UPDATE dispatch.assistance_requests SET status = 'accepted', assistant_id = 901 WHERE client_id = 903;
SELECT results_eq('SELECT * FROM supply ORDER BY 1', $$VALUES (78::bigint, 1), (79::bigint, 1)$$,
                  'a job makes its assistant busy');
UPDATE dispatch.assistance_requests SET status = 'completed' WHERE client_id = 903;
SELECT results_eq('SELECT * FROM supply ORDER BY 1',
                  $$VALUES (77::bigint, 1), (78::bigint, 1), (79::bigint, 1)$$,
                  'a finished job makes it idle again');
UPDATE dispatch.users SET is_disabled = true WHERE id = 902;
DELETE FROM dispatch.positions WHERE user_id = 907;
SELECT results_eq('SELECT * FROM supply ORDER BY 1', $$VALUES (77::bigint, 1)$$,
                  'disabled users and deleted positions leave');

-- A repair after writes that bypass the triggers.
UPDATE dispatch.cell_supply SET idle_assistants = 40 WHERE h3_r7 = 77;
SELECT dispatch.refresh_cell_supply();
SELECT results_eq('SELECT * FROM supply ORDER BY 1', $$VALUES (77::bigint, 1)$$,
                  'refresh_cell_supply re-counts from scratch');
SELECT is((dispatch.quote_price('towing', 'light', 0, 77, ARRAY[78]::bigint[]) ->> 'surge_multiplier')::numeric,
          3.00, 'quotes use the same surge (1 idle, 3 waiting: capped)');

SELECT * FROM finish();
ROLLBACK;
