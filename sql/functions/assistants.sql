-- Assistants: going active, and the list of active assistants nearest a point.

CREATE OR REPLACE FUNCTION dispatch.set_assistant_active(assistant_id bigint, active boolean)
RETURNS boolean
LANGUAGE plpgsql
VOLATILE
AS $$
DECLARE
    expiry date;
BEGIN
    SELECT a.driving_license_expiry INTO expiry
      FROM dispatch.assistants a WHERE a.user_id = assistant_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'This account has no assistant profile.' USING ERRCODE = 'DPA03';
    END IF;
    IF active THEN
        IF NOT EXISTS (SELECT 1 FROM dispatch.positions p WHERE p.user_id = assistant_id) THEN
            RAISE EXCEPTION 'Send your position (/api/profile/update-location/) before going active.'
                USING ERRCODE = 'DPA01';
        END IF;
        IF expiry <= current_date THEN
            RAISE EXCEPTION 'Your driving licence has expired; update it before going active.'
                USING ERRCODE = 'DPA02';
        END IF;
    END IF;
    UPDATE dispatch.assistants SET is_active = active, updated_at = now()
     WHERE user_id = assistant_id;
    RETURN active;
END;
$$;
COMMENT ON FUNCTION dispatch.set_assistant_active(bigint, boolean) IS
    'Switch an assistant on or off duty; going active needs a known position (DPA01) and an '
    'unexpired licence (DPA02); DPA03 when the user has no assistant profile.';

CREATE OR REPLACE FUNCTION dispatch.active_assistants_near(
    origin_lat double precision DEFAULT NULL,
    origin_lng double precision DEFAULT NULL,
    wanted_service text DEFAULT NULL,
    radius_m double precision DEFAULT NULL,
    max_results integer DEFAULT 50,
    exclude_user_id bigint DEFAULT NULL
)
RETURNS TABLE (
    assistant_id bigint,
    name text,
    service_type text,
    vehicle_type text,
    lat double precision,
    lng double precision,
    distance_m double precision,
    position_updated_at timestamptz
)
LANGUAGE sql
STABLE
AS $$
    WITH origin AS (
        SELECT CASE WHEN origin_lat IS NULL OR origin_lng IS NULL THEN NULL::geography
                    ELSE ST_SetSRID(ST_MakePoint(origin_lng, origin_lat), 4326)::geography
               END AS geog
    )
    SELECT u.id, u.name, a.service_type, a.vehicle_type,
           ST_Y(p.geog::geometry), ST_X(p.geog::geometry),
           ST_Distance(p.geog, o.geog), p.updated_at
      FROM dispatch.assistants a
      JOIN dispatch.users u ON u.id = a.user_id
      JOIN dispatch.positions p ON p.user_id = a.user_id
      CROSS JOIN origin o
     WHERE a.is_active
       AND NOT u.is_disabled
       AND a.driving_license_expiry > current_date
       AND (wanted_service IS NULL OR a.service_type = wanted_service)
       AND (radius_m IS NULL OR o.geog IS NULL OR ST_DWithin(p.geog, o.geog, radius_m))
       AND (exclude_user_id IS NULL OR u.id <> exclude_user_id)
     ORDER BY ST_Distance(p.geog, o.geog) NULLS LAST, u.id
     LIMIT greatest(max_results, 0)
$$;
COMMENT ON FUNCTION dispatch.active_assistants_near(
    double precision, double precision, text, double precision, integer, bigint) IS
    'Active assistants with an unexpired licence and a known position, nearest first by geodesic '
    'distance (metres) from the origin (unordered by distance when no origin is given).';

CREATE OR REPLACE FUNCTION dispatch.track_assistant_activity() RETURNS trigger
LANGUAGE plpgsql
VOLATILE
AS $$
BEGIN
    IF TG_OP = 'INSERT' OR NEW.is_active IS DISTINCT FROM OLD.is_active THEN
        INSERT INTO dispatch.assistant_activity (assistant_id, is_active) VALUES (NEW.user_id, NEW.is_active);
    END IF;
    RETURN NULL;
END;
$$;
COMMENT ON FUNCTION dispatch.track_assistant_activity() IS
    'Trigger: append to dispatch.assistant_activity when an assistant profile is created or its '
    'is_active changes.';

CREATE OR REPLACE TRIGGER assistants_track_activity AFTER INSERT OR UPDATE OF is_active
    ON dispatch.assistants
    FOR EACH ROW EXECUTE FUNCTION dispatch.track_assistant_activity();
