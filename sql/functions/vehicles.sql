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
