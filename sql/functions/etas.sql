-- ETAs: how long an assistant needs to reach a pickup, by road where an imported graph covers
-- the pickup (roads.sql), else by the straight line at straight_line_speed_kmh. Offer rounds rank
-- and cut their candidates by it; an accepted job keeps its assistant's ETA fresh.

CREATE OR REPLACE FUNCTION dispatch.straight_line_eta_s(distance_m double precision)
RETURNS double precision
LANGUAGE sql
STABLE
PARALLEL SAFE
AS $$
    SELECT distance_m / (dispatch.setting_numeric('straight_line_speed_kmh')::double precision / 3.6)
$$;
COMMENT ON FUNCTION dispatch.straight_line_eta_s(double precision) IS
    'A straight-line ETA: metres over straight_line_speed_kmh, in seconds (unrounded).';

CREATE OR REPLACE FUNCTION dispatch.road_times_matrix(pickups geography[], places geography[])
RETURNS TABLE (pickup integer, place integer, seconds double precision)
LANGUAGE plpgsql
-- VOLATILE: a call over its time budget sets a session setting (the planner may evaluate a stable
-- function early to estimate, which would run it twice).
VOLATILE
AS $$
DECLARE
    ps      integer[];
    os      integer[];
    times   double precision[];
    started timestamptz;
    paused  text := current_setting('dispatch.roads_paused_until', true);
BEGIN
    IF coalesce(cardinality(places), 0) = 0
       OR NOT EXISTS (SELECT 1 FROM unnest(pickups) p WHERE roads.covers(p::geometry)) THEN
        RETURN;
    END IF;
    -- Paused on this session: a recent routing call was over its time budget.
    IF coalesce(paused, '') <> '' AND paused::timestamptz > clock_timestamp() THEN
        RETURN;
    END IF;
    started := clock_timestamp();
    -- A failing graph (dropped mid-run, pgRouting missing, a bad edge) must not fail the caller:
    -- it ranks by the straight line instead, and says so (eta_source).
    BEGIN
        SELECT array_agg(m.dest), array_agg(m.ord), array_agg(m.seconds)
          INTO ps, os, times
          FROM roads.times_matrix(ARRAY(SELECT p::geometry FROM unnest(pickups) p),
                                  ARRAY(SELECT p::geometry FROM unnest(places) p)) m;
    EXCEPTION WHEN OTHERS THEN
        RAISE WARNING 'road ranking failed, ranking by the straight line: %', SQLERRM;
        RETURN;
    END;
    -- The work budget (roads_max_edges) bounds a call before it runs; this catches what it
    -- cannot (a loaded server, a pathological box): the answer stands, and the session ranks by
    -- the straight line for roads_pause_s. A call for several pickups has a budget for each.
    IF clock_timestamp() - started
       > make_interval(secs => dispatch.setting_numeric('roads_time_budget_ms')
                               * cardinality(pickups) / 1000.0) THEN
        PERFORM set_config('dispatch.roads_paused_until',
                           (clock_timestamp() + make_interval(
                                secs => dispatch.setting_numeric('roads_pause_s')))::text,
                           false);
        RAISE WARNING 'road ranking took % (over roads_time_budget_ms): straight line on this '
                      'session for roads_pause_s', clock_timestamp() - started;
    END IF;
    RETURN QUERY SELECT * FROM unnest(ps, os, times);
END;
$$;
COMMENT ON FUNCTION dispatch.road_times_matrix(geography[], geography[]) IS
    'Road travel times in seconds from each place to each pickup (roads.times_matrix: one routing '
    'call), seconds NULL where a place cannot be routed, no rows for a pickup no graph covers; no '
    'rows at all when the call is over its work budget, routing fails, or road ranking is paused '
    'on this session (a call over roads_time_budget_ms per pickup pauses it for roads_pause_s).';

CREATE OR REPLACE FUNCTION dispatch.road_times(pickup geography, places geography[])
RETURNS double precision[]
LANGUAGE sql
VOLATILE  -- dispatch.road_times_matrix may pause road ranking on this session
AS $$
    SELECT array_agg(t.seconds ORDER BY t.place)
    FROM dispatch.road_times_matrix(ARRAY[pickup], places) t
$$;
COMMENT ON FUNCTION dispatch.road_times(geography, geography[]) IS
    'Road travel times in seconds from each place to the pickup (dispatch.road_times_matrix with '
    'one pickup), NULL where a place cannot be routed; NULL altogether when no graph covers the '
    'pickup, the call is over its work budget, routing fails, or road ranking is paused on this '
    'session.';

CREATE OR REPLACE FUNCTION dispatch.rank_by_eta(
    pickup geography,
    ids bigint[],
    places geography[],
    distances double precision[],
    max_results integer
)
RETURNS TABLE (
    assistant_id bigint,
    distance_m   double precision,
    eta_s        integer,
    eta_source   text,
    rank_s       double precision
)
LANGUAGE plpgsql
STABLE
AS $$
DECLARE
    times double precision[];
    speed double precision;  -- metres a second
BEGIN
    -- No graph covers the pickup (a city without imported roads, or this part of one): the
    -- straight line, without the routing call's set-up (a SQL function planned on every call,
    -- the coverage test again, a settings read per candidate: more than the KNN search itself,
    -- ~1.5 ms of a dense request under load). The same answer as the general query below with
    -- every time NULL.
    IF roads.covers(pickup::geometry) THEN
        times := dispatch.road_times(pickup, places);
    END IF;
    IF times IS NULL THEN
        speed := dispatch.setting_numeric('straight_line_speed_kmh')::double precision / 3.6;
        RETURN QUERY
        SELECT u.id, u.d, round(u.d / speed)::integer, 'straight_line'::text, u.d / speed
        FROM unnest(ids, distances) AS u(id, d)
        ORDER BY u.d, u.id
        LIMIT max_results;
        RETURN;
    END IF;
    -- Those the roads reach first, by road time; then any the roads could not route, by the
    -- straight line (they are not dropped: an assistant off the graph may still be the answer).
    RETURN QUERY
    SELECT u.id, u.d,
           round(coalesce(times[u.i], dispatch.straight_line_eta_s(u.d)))::integer,
           CASE WHEN times[u.i] IS NULL THEN 'straight_line' ELSE 'road' END,
           coalesce(times[u.i], dispatch.straight_line_eta_s(u.d))
    FROM unnest(ids, distances) WITH ORDINALITY AS u(id, d, i)
    ORDER BY times[u.i] IS NULL, coalesce(times[u.i], u.d), u.d, u.id
    LIMIT max_results;
END;
$$;
COMMENT ON FUNCTION dispatch.rank_by_eta(geography, bigint[], geography[], double precision[],
                                         integer) IS
    'The first max_results of candidates (ids at places, distances metres from the pickup) by '
    'travel time to the pickup: road time where a graph covers it, else straight-line. eta_s is '
    'rounded seconds, rank_s the unrounded key.';

CREATE OR REPLACE FUNCTION dispatch.assistant_eta(assistant_id bigint, pickup geography,
                                                  OUT eta_s integer, OUT eta_source text)
LANGUAGE plpgsql
STABLE
AS $$
DECLARE
    place geography;
BEGIN
    SELECT p.geog INTO place FROM dispatch.positions p WHERE p.user_id = assistant_eta.assistant_id;
    IF place IS NULL THEN
        RETURN;
    END IF;
    SELECT r.eta_s, r.eta_source INTO eta_s, eta_source
      FROM dispatch.rank_by_eta(pickup, ARRAY[assistant_id], ARRAY[place],
                                ARRAY[ST_Distance(place, pickup)], 1) r;
END;
$$;
COMMENT ON FUNCTION dispatch.assistant_eta(bigint, geography) IS
    'One assistant''s ETA to a pickup from their last position (NULLs without one).';

CREATE OR REPLACE FUNCTION dispatch.trip_distance(
    pickup geography,
    dropoff geography,
    OUT km double precision,
    OUT source text
)
LANGUAGE plpgsql
STABLE
AS $$
DECLARE
    metres double precision;
BEGIN
    source := 'straight_line';
    IF dropoff IS NULL THEN
        km := 0;
        RETURN;
    END IF;
    IF roads.covers(pickup::geometry) AND roads.covers(dropoff::geometry) THEN
        BEGIN
            SELECT r.metres INTO metres FROM roads.route(pickup::geometry, dropoff::geometry) r;
        EXCEPTION WHEN OTHERS THEN
            RAISE WARNING 'road distance failed, pricing by the straight line: %', SQLERRM;
            metres := NULL;
        END;
        IF metres IS NOT NULL THEN
            km := metres / 1000.0;
            source := 'road';
            RETURN;
        END IF;
    END IF;
    km := ST_Distance(pickup, dropoff) / 1000.0;
END;
$$;
COMMENT ON FUNCTION dispatch.trip_distance(geography, geography) IS
    'The distance that prices a trip: the length of the fastest road route where graphs cover '
    'both ends (source road), else geodesic (source straight_line); 0 km without a dropoff.';

CREATE OR REPLACE FUNCTION dispatch.eta_frame(request dispatch.assistance_requests)
RETURNS jsonb
LANGUAGE sql
STABLE
AS $$
    SELECT jsonb_build_object('type', 'eta', 'assistance_id', request.id,
                              'assistant_id', request.assistant_id,
                              'eta_s', request.eta_s, 'eta_source', request.eta_source,
                              'at', dispatch.iso_utc(request.eta_at))
$$;
COMMENT ON FUNCTION dispatch.eta_frame(dispatch.assistance_requests) IS
    'The {type: eta, assistance_id, assistant_id, eta_s, eta_source, at} frame of a job''s channel.';

CREATE OR REPLACE FUNCTION dispatch.set_job_eta(request dispatch.assistance_requests)
RETURNS dispatch.assistance_requests
LANGUAGE plpgsql
VOLATILE
AS $$
DECLARE
    eta record;
    req dispatch.assistance_requests;
BEGIN
    IF request.status = 'accepted' THEN
        eta := dispatch.assistant_eta(request.assistant_id, request.pickup);
    END IF;
    UPDATE dispatch.assistance_requests r
       SET eta_s = eta.eta_s, eta_source = eta.eta_source,
           eta_at = CASE WHEN request.status = 'accepted' THEN now() END
     WHERE r.id = request.id
    RETURNING * INTO req;
    RETURN req;
END;
$$;
COMMENT ON FUNCTION dispatch.set_job_eta(dispatch.assistance_requests) IS
    'Internal (request row locked): store the ETA of an accepted job''s assistant now (NULLs for '
    'any other status); returns the row.';

CREATE OR REPLACE FUNCTION dispatch.refresh_etas(max_jobs integer DEFAULT 100)
RETURNS integer
LANGUAGE plpgsql
VOLATILE
AS $$
DECLARE
    req     dispatch.assistance_requests;
    before  integer;
    changed integer := 0;
BEGIN
    -- Accepted jobs whose ETA is older than eta_refresh_s and whose assistant moved since.
    -- SKIP LOCKED: every server process runs this; each job is refreshed by one of them, and a
    -- job being started or canceled right now waits for the next pass.
    FOR req IN
        SELECT r.* FROM dispatch.assistance_requests r
        JOIN dispatch.positions p ON p.user_id = r.assistant_id
        WHERE r.status = 'accepted'
          AND (r.eta_at IS NULL
               OR (r.eta_at < now() - make_interval(secs => dispatch.setting_numeric('eta_refresh_s'))
                   AND p.updated_at > r.eta_at))
        ORDER BY r.eta_at NULLS FIRST
        LIMIT max_jobs
        FOR UPDATE OF r SKIP LOCKED
    LOOP
        before := req.eta_s;
        req := dispatch.set_job_eta(req);
        IF req.eta_s IS DISTINCT FROM before THEN
            PERFORM dispatch.emit_many(ARRAY['assistance:' || req.id, 'dispatch'],
                                       ARRAY[dispatch.eta_frame(req),
                                             dispatch.eta_frame(req) || jsonb_build_object(
                                                 'pickup', dispatch.point_json(req.pickup))]);
            changed := changed + 1;
        END IF;
    END LOOP;
    RETURN changed;
END;
$$;
COMMENT ON FUNCTION dispatch.refresh_etas(integer) IS
    'Recompute the ETA of up to max_jobs accepted jobs whose assistant moved since it was last '
    'computed (at most every eta_refresh_s); a changed ETA is announced as an eta frame to '
    'assistance:<id> and (with the pickup, for the feed''s area filter) to dispatch. Returns how many changed. Safe to run in every process.';
