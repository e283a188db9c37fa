-- A booking's vehicle_id was a bare bigint: deleting the vehicle left bookings pointing at nothing
-- (issue 23 D18). It becomes a foreign key. dispatch.delete_vehicle refuses while an open booking
-- or job uses the vehicle (409 VEHICLE_IN_USE); a finished booking forgets it.

-- Ids already left dangling by deleted vehicles point at nothing: they go first.
UPDATE dispatch.bookings b SET vehicle_id = NULL
 WHERE b.vehicle_id IS NOT NULL
   AND NOT EXISTS (SELECT 1 FROM dispatch.vehicles v WHERE v.id = b.vehicle_id);

ALTER TABLE dispatch.bookings
    ADD CONSTRAINT bookings_vehicle_fkey FOREIGN KEY (vehicle_id)
        REFERENCES dispatch.vehicles (id) ON DELETE SET NULL;
COMMENT ON CONSTRAINT bookings_vehicle_fkey ON dispatch.bookings IS
    'SET NULL: a finished booking (converted into a finished job, failed, canceled) keeps its '
    'vehicle_type and forgets a deleted vehicle; dispatch.delete_vehicle refuses the delete while '
    'the booking is open, so no open booking loses its vehicle.';

-- The foreign key's own lookups on vehicle delete, and delete_vehicle's open-booking check.
CREATE INDEX bookings_vehicle_idx ON dispatch.bookings (vehicle_id) WHERE vehicle_id IS NOT NULL;
COMMENT ON INDEX dispatch.bookings_vehicle_idx IS
    'Bookings of a vehicle, for bookings_vehicle_fkey (ON DELETE SET NULL) and '
    'dispatch.delete_vehicle.';
