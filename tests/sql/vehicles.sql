-- Vehicles: deleting one that a booking names (refused while open, forgotten once finished).
BEGIN;
SELECT plan(8);

SELECT fk_ok('dispatch', 'bookings', 'vehicle_id', 'dispatch', 'vehicles', 'id',
             'a booking''s vehicle is a foreign key');
SELECT volatility_is('dispatch', 'delete_vehicle', ARRAY['bigint', 'bigint'], 'volatile',
                     'delete_vehicle is volatile');

INSERT INTO dispatch.users (id, role, name, phone_number) OVERRIDING SYSTEM VALUE
VALUES (981, 'client', 'Owner', '+1981'), (982, 'client', 'Other', '+1982');
INSERT INTO dispatch.vehicles (owner_id, make, model, year, license_plate)
VALUES (981, 'Renault', 'Clio', 2019, 'AB-1') RETURNING id AS car \gset
SELECT (dispatch.create_booking(client_id => 981, pickup_lat => 36.75, pickup_lng => 3.05,
            pickup_cell_r7 => 608994908396584959, neighbour_cells_r7 => '{}',
            scheduled_for => now() + interval '2 hours', vehicle_id => :car) ->> 'id')::bigint
    AS booking \gset

SELECT is(dispatch.delete_vehicle(982, :car), false, 'another client''s vehicle is not theirs');
SELECT throws_ok(format('SELECT dispatch.delete_vehicle(981, %s)', :car), 'DP025', NULL,
                 'a vehicle a scheduled booking names is not deleted');
SELECT is((SELECT count(*) FROM dispatch.vehicles WHERE id = :car), 1::bigint, '... it is still there');

SELECT dispatch.cancel_booking(:booking, 981) IS NOT NULL AS ok \gset
SELECT is(dispatch.delete_vehicle(981, :car), true, 'once the booking is canceled, it goes');
SELECT is((SELECT vehicle_id FROM dispatch.bookings WHERE id = :booking), NULL::bigint,
          'the canceled booking forgets it: no dangling id');
SELECT throws_ok(format($$INSERT INTO dispatch.bookings (client_id, service_type, vehicle_type,
    vehicle_id, pickup, pickup_h3_r7, neighbour_cells_r7, scheduled_for) VALUES (981, 'towing',
    'light', %s, ST_MakePoint(3, 36)::geography, 0, '{}', now())$$, :car), '23503', NULL,
    'a booking cannot name a vehicle that does not exist');

SELECT * FROM finish();
ROLLBACK;
