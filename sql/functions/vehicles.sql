-- Fleet: the clients' vehicles as the API shows them, and a request's vehicle class.

CREATE OR REPLACE FUNCTION dispatch.vehicle_json(v dispatch.vehicles)
RETURNS jsonb
LANGUAGE sql
STABLE
AS $$
    SELECT jsonb_build_object(
        'id', v.id,
        'make', v.make,
        'model', v.model,
        'year', v.year,
        'license_plate', v.license_plate,
        'licensePlate', v.license_plate,
        'vin', v.vin,
        'fuel_type', v.fuel_type,
        'fuelType', v.fuel_type,
        'vehicle_class', v.vehicle_class,
        'vehicleClass', v.vehicle_class,
        'created_at', dispatch.iso_utc(v.created_at),
        'createdAt', dispatch.iso_utc(v.created_at),
        'updated_at', dispatch.iso_utc(v.updated_at),
        'updatedAt', dispatch.iso_utc(v.updated_at)
    )
$$;
COMMENT ON FUNCTION dispatch.vehicle_json(dispatch.vehicles) IS
    'The API''s vehicle object (snake_case and camelCase names) for a dispatch.vehicles row.';

CREATE OR REPLACE FUNCTION dispatch.vehicle_class_for(client_id bigint, vehicle_id bigint)
RETURNS text
LANGUAGE plpgsql
STABLE
AS $$
DECLARE
    found_class text;
BEGIN
    SELECT v.vehicle_class INTO found_class FROM dispatch.vehicles v
    WHERE v.id = vehicle_class_for.vehicle_id AND v.owner_id = vehicle_class_for.client_id;
    IF NOT FOUND THEN
        -- Another client's vehicle is as unknown as a missing one.
        RAISE EXCEPTION 'Vehicle not found.' USING ERRCODE = 'DP021';
    END IF;
    RETURN found_class;
END;
$$;
COMMENT ON FUNCTION dispatch.vehicle_class_for(bigint, bigint) IS
    'The class (light|heavy) of a client''s own vehicle, which becomes a request''s vehicle_type. '
    'DP021 when the vehicle does not exist or belongs to someone else.';

CREATE OR REPLACE FUNCTION dispatch.delete_vehicle(owner_id bigint, vehicle_id bigint)
RETURNS boolean
LANGUAGE plpgsql
VOLATILE
AS $$
DECLARE
    found_id   bigint;
    booking    dispatch.bookings;
BEGIN
    -- The row lock waits for a booking being made with this vehicle (the foreign key's check
    -- holds KEY SHARE on it) and keeps new ones out until this transaction ends; a booking that
    -- loses the race fails on bookings_vehicle_fkey (404 VEHICLE_NOT_FOUND).
    SELECT v.id INTO found_id FROM dispatch.vehicles v
     WHERE v.id = delete_vehicle.vehicle_id AND v.owner_id = delete_vehicle.owner_id
       FOR UPDATE;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    -- Open: still scheduled, or converted into a request that is not finished.
    SELECT b.* INTO booking FROM dispatch.bookings b
      LEFT JOIN dispatch.assistance_requests r ON r.id = b.assistance_id
     WHERE b.vehicle_id = found_id
       AND (b.status = 'scheduled'
            OR (b.status = 'converted' AND r.status IN ('requested', 'accepted', 'ongoing')))
     ORDER BY b.scheduled_for, b.id
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'This vehicle is used by an open booking or job; cancel it first.'
            USING ERRCODE = 'DP025',
                  DETAIL = jsonb_build_object('booking_id', booking.id,
                                              'assistance_id', booking.assistance_id)::text;
    END IF;
    DELETE FROM dispatch.vehicles v WHERE v.id = found_id;  -- finished bookings: SET NULL
    RETURN true;
END;
$$;
COMMENT ON FUNCTION dispatch.delete_vehicle(bigint, bigint) IS
    'A client deletes its own vehicle: false when there is no such vehicle of theirs; DP025 while '
    'a booking that names it is scheduled, or converted into a request still requested, accepted '
    'or ongoing (booking_id and assistance_id in DETAIL). Finished bookings forget it '
    '(bookings_vehicle_fkey ON DELETE SET NULL): no booking is left with a dangling id.';
