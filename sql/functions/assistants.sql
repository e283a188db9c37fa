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

-- active_assistants_near gained ETA columns (issue 25): an older definition cannot be replaced.
SELECT dispatch.drop_function_lacking(
    'dispatch.active_assistants_near(double precision, double precision, text, double precision, '
    'integer, bigint)', 'eta_s');

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
    position_updated_at timestamptz,
    eta_s integer,
    eta_source text
)
LANGUAGE plpgsql
STABLE
AS $$
#variable_conflict use_column
DECLARE
    origin geography;
    n      integer := greatest(max_results, 0);
    k      integer := greatest(max_results, 0);
    ids    bigint[];
    places geography[];
    ds     double precision[];
BEGIN
    IF origin_lat IS NOT NULL AND origin_lng IS NOT NULL THEN
        origin := ST_SetSRID(ST_MakePoint(origin_lng, origin_lat), 4326)::geography;
        -- Where a road graph covers the origin: the soonest by road among more of the nearest,
        -- as the offer rounds rank (etas.sql).
        IF roads.covers(origin::geometry) THEN
            k := n * greatest(dispatch.setting_numeric('roads_preselect_factor'), 1)::integer;
        END IF;
    END IF;
    WITH chosen AS (
        SELECT a.user_id, p.geog, ST_Distance(p.geog, origin) AS d
          FROM dispatch.assistants a
          JOIN dispatch.users u ON u.id = a.user_id
          JOIN dispatch.positions p ON p.user_id = a.user_id
         WHERE a.is_active
           AND NOT u.is_disabled
           AND a.driving_license_expiry > current_date
           AND (wanted_service IS NULL OR a.service_type = wanted_service)
           AND (radius_m IS NULL OR origin IS NULL OR ST_DWithin(p.geog, origin, radius_m))
           AND (exclude_user_id IS NULL OR u.id <> exclude_user_id)
         ORDER BY ST_Distance(p.geog, origin) NULLS LAST, u.id
         LIMIT k
    )
    SELECT array_agg(c.user_id ORDER BY c.d NULLS LAST, c.user_id),
           array_agg(c.geog ORDER BY c.d NULLS LAST, c.user_id),
           array_agg(c.d ORDER BY c.d NULLS LAST, c.user_id)
      INTO ids, places, ds
      FROM chosen c;
    IF ids IS NULL THEN
        RETURN;
    END IF;
    RETURN QUERY
    WITH ranked AS (
        SELECT r.assistant_id AS id, r.eta_s, r.eta_source, r.rank_s, NULL::bigint AS i
          FROM dispatch.rank_by_eta(origin, ids, places, ds, n) r
         WHERE origin IS NOT NULL
        UNION ALL
        SELECT u.id, NULL, NULL, NULL, u.i
          FROM unnest(ids) WITH ORDINALITY AS u(id, i)
         WHERE origin IS NULL AND u.i <= n
    )
    SELECT u.id, u.name, a.service_type, a.vehicle_type,
           ST_Y(p.geog::geometry), ST_X(p.geog::geometry),
           ST_Distance(p.geog, origin), p.updated_at, x.eta_s, x.eta_source
      FROM ranked x
      JOIN dispatch.users u ON u.id = x.id
      JOIN dispatch.assistants a ON a.user_id = x.id
      JOIN dispatch.positions p ON p.user_id = x.id
     ORDER BY x.eta_source = 'straight_line', x.rank_s, x.i, u.id;
END;
$$;
COMMENT ON FUNCTION dispatch.active_assistants_near(
    double precision, double precision, text, double precision, integer, bigint) IS
    'Active assistants with an unexpired licence and a known position, soonest first from the '
    'origin with their geodesic distance (metres) and ETA: by road time where a graph covers the '
    'origin, else by the straight line (dispatch.rank_by_eta); by id when no origin is given '
    '(distance and ETA NULL).';

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
