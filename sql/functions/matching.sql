-- Matching: who can take a job right now, and the nearest of them (GiST KNN over positions).

CREATE OR REPLACE FUNCTION dispatch.setting_numeric(setting_key text)
RETURNS numeric
LANGUAGE plpgsql
STABLE
PARALLEL SAFE
AS $$
BEGIN
    -- plpgsql so the plan is cached per session (a SQL function reading a table is not inlined
    -- and would be re-planned on every call).
    RETURN (SELECT (s.value #>> '{}')::numeric FROM dispatch.settings s
             WHERE s.key = setting_numeric.setting_key);
END;
$$;
COMMENT ON FUNCTION dispatch.setting_numeric(text) IS
    'The numeric value of a row of dispatch.settings (surge_k, surge_cap, matching_radius_m, '
    'matching_max_results); NULL when the key is unknown.';

-- For the function files, re-applied on every migrate: CREATE OR REPLACE cannot change a function's
-- result columns or rename its parameters, so a file whose function changed so drops the older
-- definition first (once: the new one has the argument).
CREATE OR REPLACE FUNCTION dispatch.drop_function_lacking(signature text, argument text)
RETURNS void
LANGUAGE plpgsql
VOLATILE
AS $$
DECLARE
    fn regprocedure := to_regprocedure(signature);
BEGIN
    IF fn IS NOT NULL
       AND NOT EXISTS (SELECT 1 FROM pg_proc p
                        WHERE p.oid = fn AND drop_function_lacking.argument = ANY (p.proargnames))
    THEN
        EXECUTE format('DROP FUNCTION %s', fn);
    END IF;
END;
$$;
COMMENT ON FUNCTION dispatch.drop_function_lacking(text, text) IS
    'Migrations: drop the function of this signature if it exists without an argument (or result '
    'column) of this name, so that its file can create the new definition.';

-- Idle supply: active, enabled, licence valid today, a known position, and no open job.
CREATE OR REPLACE VIEW dispatch.available_assistants AS
SELECT a.user_id, a.service_type, a.vehicle_type, p.geog, p.h3_r7
FROM dispatch.assistants a
JOIN dispatch.positions p ON p.user_id = a.user_id
-- matchable is "active, not disabled, and no accepted or ongoing job", written by triggers in
-- the transaction that changes any of them (matchable.sql), so every snapshot sees it agree with
-- them: testing them again here cost a users lookup and an open-job probe per candidate, most
-- of a match's buffers (issue 10). The licence's expiry depends on the date, not on a write.
WHERE p.matchable  -- also what lets matching use the partial GiST index
  AND a.driving_license_expiry >= current_date;
COMMENT ON VIEW dispatch.available_assistants IS
    'Assistants who could take a job now: active, not disabled, licence unexpired, with a known '
    'position and no accepted or ongoing job.';

CREATE OR REPLACE FUNCTION dispatch.nearby_assistants(
    lat double precision,
    lng double precision,
    service_type text DEFAULT NULL,
    radius_m double precision DEFAULT NULL,
    max_results integer DEFAULT NULL
)
RETURNS TABLE (
    assistant_id bigint,
    distance_m double precision,
    assistant_service_type text,
    vehicle_type text
)
LANGUAGE sql
STABLE
PARALLEL SAFE
AS $$
    -- Exact geodesic (WGS84 spheroid) top-N in two index-driven steps, each touching O(N) rows
    -- whatever the number of assistants around:
    -- 1. the GiST index's KNN order (<->, sphere distance) yields N eligible candidates within
    --    the radius; the largest spheroid distance among them, M, bounds the true N-th nearest;
    -- 2. every eligible assistant within M (+1 %, more than the sphere/spheroid difference of
    --    at most 0.6 %) is re-ranked by spheroid distance. Step 2's only index condition is that
    --    bound: with the search radius as a second ST_DWithin the planner scanned the whole radius
    --    (6,000 predicate calls per request with 3,000 assistants within 5 km).
    WITH params AS (
        SELECT ST_SetSRID(ST_MakePoint(nearby_assistants.lng, nearby_assistants.lat), 4326)::geography
                   AS g,
               coalesce(nearby_assistants.radius_m,
                        dispatch.setting_numeric('matching_radius_m')::double precision) AS r,
               coalesce(nearby_assistants.max_results,
                        dispatch.setting_numeric('matching_max_results')::integer) AS n
    ), knn AS (
        SELECT ST_Distance(c.geog, params.g) AS d
        FROM params, LATERAL (
            SELECT v.geog
            FROM dispatch.available_assistants v
            WHERE (nearby_assistants.service_type IS NULL
                   OR v.service_type = nearby_assistants.service_type)
              AND ST_DWithin(v.geog, params.g, params.r)
            ORDER BY v.geog <-> params.g
            LIMIT params.n
        ) c
    ), bound AS (
        SELECT least(max(knn.d), params.r) * 1.01 AS b FROM knn, params GROUP BY params.r
    )
    SELECT v.user_id, x.d, v.service_type, v.vehicle_type
    FROM params, bound, dispatch.available_assistants v,
         LATERAL (SELECT ST_Distance(v.geog, params.g) AS d) x
    WHERE (nearby_assistants.service_type IS NULL OR v.service_type = nearby_assistants.service_type)
      AND ST_DWithin(v.geog, params.g, bound.b, false)
      AND x.d <= params.r
    ORDER BY x.d, v.user_id
    LIMIT (SELECT n FROM params)
$$;
COMMENT ON FUNCTION dispatch.nearby_assistants(double precision, double precision, text,
                                               double precision, integer) IS
    'Available assistants (see dispatch.available_assistants) of service_type (NULL = any) within '
    'radius_m metres of (lat, lng), nearest first by geodesic distance (WGS84), at most max_results. '
    'NULL radius_m / max_results take the settings matching_radius_m / matching_max_results.';

-- dispatch.trip_distance (etas.sql) prices trips now, by road where a graph covers both ends.
DROP FUNCTION IF EXISTS dispatch.route_distance_km(double precision, double precision,
                                                   double precision, double precision);
