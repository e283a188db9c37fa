-- Money: cost lines, invoices issued on completion, numbering from the counter row, rounding.
BEGIN;
SELECT plan(22);

SELECT has_table('dispatch', 'invoices', 'invoices table');
SELECT has_table('dispatch', 'invoice_counter', 'the invoice counter row');
SELECT is((SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = 'dispatch' AND c.relkind = 'S' AND c.relname LIKE '%invoice%'),
          0::bigint, 'invoice numbers do not come from a sequence');

INSERT INTO dispatch.users (id, role, name, phone_number) OVERRIDING SYSTEM VALUE
VALUES (801, 'client', 'Amel', '+1801'), (802, 'client', 'Badr', '+1802'),
       (803, 'assistant', 'Karim', '+1803'), (804, 'assistant', 'Nadia', '+1804');
INSERT INTO dispatch.assistants (user_id, service_type, vehicle_type, driving_license_cat,
    driving_license_num, driving_license_expiry, vehicle_registration_num, is_active)
VALUES (803, 'towing', 'light', 'c', 'x', current_date + 10, 1, true),
       (804, 'repair', 'light', 'c', 'x', current_date + 10, 1, true);
INSERT INTO dispatch.positions (user_id, geog, h3_r7, h3_r8, h3_r9)
VALUES (803, ST_MakePoint(3.05, 36.75)::geography, 7, 0, 0),
       (804, ST_MakePoint(3.05, 36.75)::geography, 7, 0, 0);
SELECT next_number AS first FROM dispatch.invoice_counter \gset

SELECT (dispatch.request_assistance(801, 36.75, 3.05, 7, 36.76, 3.05) -> 'assistance' ->> 'id')
    AS tow \gset
SELECT (dispatch.request_assistance(802, 36.75, 3.05, 7, service_type => 'repair')
    -> 'assistance' ->> 'id') AS fix \gset
SELECT dispatch.accept_assistance(:tow, 803) IS NOT NULL AS ok \gset
SELECT dispatch.accept_assistance(:fix, 804) IS NOT NULL AS ok \gset

SELECT throws_ok(format('SELECT dispatch.add_cost_line(%s, 803, %L, 1, 10)', :tow, 'Fuel'), 'DP024',
                 NULL, 'no cost line before the job is ongoing');
SELECT dispatch.update_assistance_status(:tow, 803, 'ongoing') IS NOT NULL AS ok \gset
SELECT throws_ok(format('SELECT dispatch.add_cost_line(%s, 804, %L, 1, 10)', :tow, 'Fuel'), 'DP001',
                 NULL, 'another assistant cannot add cost lines');
-- 3 x 333.3333 = 999.9999, rounded once to 1000.00; 0.5 x 0.005 = 0.0025 to 0.00.
SELECT is((dispatch.add_cost_line(:tow, 803, 'Straps', 3, 333.3333) ->> 'amount')::numeric, 1000.00,
          'a cost line is rounded once, to the currency''s minor unit');
SELECT dispatch.add_cost_line(:tow, 803, 'Toll', 0.5, 0.005) IS NOT NULL AS ok \gset

-- Bounds read from the columns' types (issue 23 D4): the invoice must always fit them.
SELECT is(dispatch.numeric_max('dispatch.invoices', 'total'), 9999999999.9999::numeric,
          'numeric(14, 4) holds up to 9999999999.9999');
SELECT ok(dispatch.numeric_max('dispatch.cost_lines', 'label') IS NULL, 'no bound for a text column');
-- 1000 x 9999999 = 9999999000, plus the quote (1555.50) and the lines so far: over the limit.
SELECT throws_ok(format('SELECT dispatch.add_cost_line(%s, 803, %L, 1000, 9999999)', :tow, 'Gold'),
                 'DP027', NULL, 'a line that takes the invoice past its column is refused');
-- A line stored before the bounds existed (1e6 x 1e7): completing refuses with a code, not a
-- numeric overflow, and the assistant can remove the line.
INSERT INTO dispatch.cost_lines (assistance_id, added_by, label, quantity, unit_price)
VALUES (:tow, 803, 'Old bounds', 1000000, 10000000) RETURNING id AS old_line \gset
SELECT throws_ok(format('SELECT dispatch.update_assistance_status(%s, 803, %L)', :tow, 'completed'),
                 'DP027', NULL, 'completion refuses an invoice its columns cannot hold');
SELECT throws_ok(format('SELECT dispatch.remove_cost_line(%s, 804, %s)', :tow, :old_line), 'DP001',
                 NULL, 'another assistant cannot remove a line');
SELECT throws_ok(format('SELECT dispatch.remove_cost_line(%s, 803, %s)', :fix, :old_line), 'DP001',
                 NULL, 'nor can this one on a job that is not its own');
SELECT lives_ok(format('SELECT dispatch.remove_cost_line(%s, 803, %s)', :tow, :old_line),
                'the assigned assistant removes the line');
SELECT throws_ok(format('SELECT dispatch.remove_cost_line(%s, 803, %s)', :tow, :old_line), 'DP028',
                 NULL, 'a line removed is gone');
SELECT ok(dispatch.get_invoice(:tow, 801) IS NULL, 'no invoice before completion');

SELECT dispatch.update_assistance_status(:tow, 803, 'completed') IS NOT NULL AS ok \gset
SELECT is((SELECT number FROM dispatch.invoices WHERE assistance_id = :tow), :first::bigint,
          'completion issues the next number');
SELECT results_eq(
    format($$SELECT l ->> 'label', (l ->> 'amount')::numeric
             FROM jsonb_array_elements(dispatch.get_invoice(%s, 801) -> 'lines') l$$, :tow),
    $$VALUES ('Base fare', 1500.00), ('Distance (1.110 km × 50 DZD/km)', 55.50),
             ('Straps', 1000.00), ('Toll', 0.00)$$,
    'lines: the quote''s, then the cost lines');
SELECT is((dispatch.get_invoice(:tow, 803) ->> 'total')::numeric, 2555.50,
          'the total is the sum of the rounded lines (the assistant sees it too)');
SELECT ok(dispatch.get_invoice(:tow, 802) IS NULL, 'another client does not see it');

-- A rolled-back completion gives its number back: the repair takes the next one.
SAVEPOINT before_fix;
SELECT dispatch.update_assistance_status(:fix, 804, 'ongoing') IS NOT NULL AS ok \gset
SELECT dispatch.update_assistance_status(:fix, 804, 'completed', 1750.555) IS NOT NULL AS ok \gset
ROLLBACK TO SAVEPOINT before_fix;
SELECT dispatch.update_assistance_status(:fix, 804, 'ongoing') IS NOT NULL AS ok \gset
SELECT dispatch.update_assistance_status(:fix, 804, 'completed', 1750.555) IS NOT NULL AS ok \gset
SELECT is((SELECT number FROM dispatch.invoices WHERE assistance_id = :fix), :first::bigint + 1,
          'a rolled-back completion leaves no gap');
SELECT results_eq(
    format($$SELECT l ->> 'label', (l ->> 'amount')::numeric
             FROM jsonb_array_elements(dispatch.get_invoice(%s, 802) -> 'lines') l$$, :fix),
    $$VALUES ('Callout fee', 1000.00), ('Repair work', 750.56)$$,
    'a repair''s final price becomes a line');
SELECT is((dispatch.get_invoice(:fix, 802) ->> 'total')::numeric, 1750.56, 'repair total');

SELECT * FROM finish();
ROLLBACK;
