-- Offer rounds (contract, "Offers"): who is offered a request, when, and how a search ends.
-- The state lives in dispatch.offers, dispatch.offer_rounds and the request's round columns;
-- every function here runs in its caller's transaction with the request's row locked, so each
-- offer is sent exactly once whatever the number of callers (and the offers primary key backs it).

CREATE OR REPLACE FUNCTION dispatch.offer_round_radius_m(round_number integer)
RETURNS double precision
LANGUAGE sql
STABLE
AS $$
    SELECT least(dispatch.setting_numeric('matching_radius_m')
                 * power(dispatch.setting_numeric('offer_radius_growth'),
                         greatest(offer_round_radius_m.round_number, 1) - 1),
                 dispatch.setting_numeric('offer_max_radius_m'))::double precision
$$;
COMMENT ON FUNCTION dispatch.offer_round_radius_m(integer) IS
    'Search radius of round k in metres: matching_radius_m * offer_radius_growth^(k-1), at most '
    'offer_max_radius_m.';

CREATE OR REPLACE FUNCTION dispatch.offer_round_ends_at()
RETURNS timestamptz
LANGUAGE sql
STABLE
AS $$
    -- At least 100 ms, so that an offer always expires after it was sent.
    SELECT now() + make_interval(secs => greatest(dispatch.setting_numeric('offer_timeout_s'), 0.1))
$$;
COMMENT ON FUNCTION dispatch.offer_round_ends_at() IS
    'When a round starting now ends: now() + offer_timeout_s (database clock).';

CREATE OR REPLACE FUNCTION dispatch.preselect_candidates(
    assistance_id bigint,
    pickup geography,
    service_type text,
    radius_m double precision,
    k integer
)
RETURNS TABLE (assistant_id bigint, place geography, distance_m double precision, moved_at timestamptz)
LANGUAGE plpgsql
STABLE
AS $$
BEGIN
    -- plpgsql so the plan is cached per session. dispatch.nearby_assistants' exact top-k (KNN for
    -- k candidates, then a spheroid re-rank of everyone within the largest of their distances
    -- + 1 %; that bound is the re-rank's only index condition, so it touches O(k) rows whatever
    -- the density), leaving out whoever already had an offer of this request in any state:
    -- nobody is offered the same request twice.
    RETURN QUERY
    WITH knn AS (
        SELECT ST_Distance(v.geog, preselect_candidates.pickup) AS d
        FROM dispatch.available_assistants v
        WHERE v.service_type = preselect_candidates.service_type
          AND ST_DWithin(v.geog, preselect_candidates.pickup, preselect_candidates.radius_m)
          -- No request yet (round 1 inside request_assistance): nobody to leave out, and the
          -- test is skipped at run time (the plan is cached generic: it must not depend on it).
          AND (preselect_candidates.assistance_id IS NULL
               OR NOT EXISTS (SELECT 1 FROM dispatch.offers o
                               WHERE o.assistance_id = preselect_candidates.assistance_id
                                 AND o.assistant_id = v.user_id))
          -- Holding an exclusive offer of an assignment batch (assignment.sql): nothing else
          -- until it is answered or expires.
          AND NOT EXISTS (SELECT 1 FROM dispatch.offers x
                           WHERE x.assistant_id = v.user_id AND x.expires_at > now()
                             AND x.batch_id IS NOT NULL AND x.state = 'open')
        ORDER BY v.geog <-> preselect_candidates.pickup
        LIMIT preselect_candidates.k
    ), bound AS (
        SELECT least(max(knn.d), preselect_candidates.radius_m) * 1.01 AS b FROM knn
    )
    SELECT v.user_id, v.geog, x.d, p.updated_at
    FROM bound, dispatch.available_assistants v
    JOIN dispatch.positions p ON p.user_id = v.user_id,
         LATERAL (SELECT ST_Distance(v.geog, preselect_candidates.pickup) AS d) x
    WHERE v.service_type = preselect_candidates.service_type
      AND ST_DWithin(v.geog, preselect_candidates.pickup, bound.b, false)
      AND x.d <= preselect_candidates.radius_m
      AND (preselect_candidates.assistance_id IS NULL
           OR NOT EXISTS (SELECT 1 FROM dispatch.offers o
                           WHERE o.assistance_id = preselect_candidates.assistance_id
                             AND o.assistant_id = v.user_id))
      AND NOT EXISTS (SELECT 1 FROM dispatch.offers x
                       WHERE x.assistant_id = v.user_id AND x.expires_at > now()
                         AND x.batch_id IS NOT NULL AND x.state = 'open')
    ORDER BY x.d, v.user_id
    LIMIT preselect_candidates.k;
END;
$$;
COMMENT ON FUNCTION dispatch.preselect_candidates(bigint, geography, text, double precision, integer) IS
    'The k geodesically nearest available assistants of service_type within radius_m metres of '
    'pickup never offered request assistance_id (exact, nearest first), with their place and when '
    'their position last changed: what offer_candidates ranks.';

CREATE OR REPLACE FUNCTION dispatch.preselect_factor(pickup geography)
RETURNS integer
LANGUAGE plpgsql
STABLE
AS $$
BEGIN
    -- Where a road graph covers the pickup, the straight line only preselects: the cut is by
    -- road time among roads_preselect_factor times as many (etas.sql, dispatch.rank_by_eta).
    IF roads.covers(pickup::geometry) THEN
        RETURN greatest(dispatch.setting_numeric('roads_preselect_factor'), 1)::integer;
    END IF;
    RETURN 1;
END;
$$;
COMMENT ON FUNCTION dispatch.preselect_factor(geography) IS
    'How many times N candidates the straight line preselects for a pickup: roads_preselect_factor '
    'where a road graph covers it, else 1.';

-- offer_candidates gained its ETA columns (issue 25): an older definition cannot be replaced.
SELECT dispatch.drop_function_lacking(
    'dispatch.offer_candidates(bigint, geography, text, double precision, integer)', 'rank_s');

CREATE OR REPLACE FUNCTION dispatch.offer_candidates(
    assistance_id bigint,
    pickup geography,
    service_type text,
    radius_m double precision,
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
    ids    bigint[];
    places geography[];
    ds     double precision[];
BEGIN
    SELECT array_agg(n.assistant_id ORDER BY n.distance_m, n.assistant_id),
           array_agg(n.place ORDER BY n.distance_m, n.assistant_id),
           array_agg(n.distance_m ORDER BY n.distance_m, n.assistant_id)
      INTO ids, places, ds
      FROM dispatch.preselect_candidates(assistance_id, pickup, service_type, radius_m,
                                         max_results * dispatch.preselect_factor(pickup)) n;
    IF ids IS NULL THEN
        RETURN;
    END IF;
    RETURN QUERY SELECT * FROM dispatch.rank_by_eta(pickup, ids, places, ds, max_results);
END;
$$;
COMMENT ON FUNCTION dispatch.offer_candidates(bigint, geography, text, double precision, integer) IS
    'The max_results available assistants of service_type within radius_m metres of pickup who '
    'were never offered request assistance_id and hold no open exclusive offer of an assignment '
    'batch, soonest first: by road travel time where a graph '
    'covers the pickup (among the straight-line nearest roads_preselect_factor x max_results), '
    'else by geodesic distance; each with distance_m, eta_s, eta_source and the ranking key rank_s.';

CREATE OR REPLACE FUNCTION dispatch.offer_frame(request dispatch.assistance_requests)
RETURNS jsonb
LANGUAGE plpgsql
STABLE
AS $$
BEGIN
    -- The offer is the same for everyone but for the distance: built once per batch.
    RETURN jsonb_build_object(
        'type', 'new_assistance_request',
        'assistance_id', request.id,
        'service_type', request.service_type,
        'assistance_type', request.service_type,
        'vehicle_type', request.vehicle_type,
        'description', request.description,
        'pickup_location', dispatch.point_json(request.pickup),
        'dropoff_location', dispatch.point_json(request.dropoff),
        'distance_km', round(request.distance_km::numeric, 3),
        'total_price', request.total_price,
        'currency', request.currency,
        'offer_round', request.offer_round,
        'expires_at', dispatch.iso_utc(request.round_ends_at),
        'client', (SELECT jsonb_build_object('id', c.id, 'name', c.name)
                     FROM dispatch.users c WHERE c.id = request.client_id));
END;
$$;
COMMENT ON FUNCTION dispatch.offer_frame(dispatch.assistance_requests) IS
    'The new_assistance_request frame of a request''s current round, without the distance.';

CREATE OR REPLACE FUNCTION dispatch.insert_offers(
    request dispatch.assistance_requests,
    candidates jsonb
)
RETURNS integer
LANGUAGE plpgsql
VOLATILE
AS $$
BEGIN
    -- A duplicate here would be a bug (the caller holds the request's lock and left out everyone
    -- already offered): the primary key makes it an error rather than a second offer.
    INSERT INTO dispatch.offers (assistance_id, assistant_id, round, distance_m, expires_at, eta_s,
                                 eta_source)
    SELECT request.id, (c ->> 'assistant_id')::bigint, request.offer_round,
           (c ->> 'distance_m')::double precision, request.round_ends_at, (c ->> 'eta_s')::integer,
           c ->> 'eta_source'
    FROM jsonb_array_elements(candidates) c;
    RETURN jsonb_array_length(candidates);
END;
$$;
COMMENT ON FUNCTION dispatch.insert_offers(dispatch.assistance_requests, jsonb) IS
    'Internal: record offers of the request''s current round to candidates ([{assistant_id, '
    'distance (km), distance_m, eta_s, eta_source}]), announcing nothing (dispatch.offer_batch). '
    'Returns the count.';

CREATE OR REPLACE FUNCTION dispatch.offer_batch(
    request dispatch.assistance_requests,
    candidates jsonb,
    OUT topics text[],
    OUT frames jsonb[]
)
LANGUAGE plpgsql
STABLE
AS $$
DECLARE
    frame jsonb;
BEGIN
    IF jsonb_array_length(candidates) = 0 THEN
        RETURN;
    END IF;
    frame := dispatch.offer_frame(request);
    SELECT array_agg('assistant:' || (c ->> 'assistant_id')) || ARRAY['dispatch'],
           array_agg(frame || jsonb_build_object('distance', c -> 'distance', 'eta_s', c -> 'eta_s',
                                                 'eta_source', c -> 'eta_source'))
               || ARRAY[jsonb_build_object(
                      'type', 'offer',
                      'assistance_id', request.id,
                      'round', request.offer_round,
                      'assistant_ids', jsonb_agg((c ->> 'assistant_id')::bigint),
                      'expires_at', dispatch.iso_utc(request.round_ends_at))]
      INTO topics, frames
      FROM jsonb_array_elements(candidates) c;
END;
$$;
COMMENT ON FUNCTION dispatch.offer_batch(dispatch.assistance_requests, jsonb) IS
    'Internal: the frames announcing offers to candidates: new_assistance_request (with the '
    'assistant''s distance, eta_s and eta_source) to each assistant:<id>, then one {type: offer, assistance_id, round, assistant_ids, expires_at} to '
    'dispatch (NULL arrays for no candidate).';

CREATE OR REPLACE FUNCTION dispatch.send_offers(
    request dispatch.assistance_requests,
    candidates jsonb
)
RETURNS integer
LANGUAGE plpgsql
VOLATILE
AS $$
DECLARE
    batch record;
BEGIN
    IF jsonb_array_length(candidates) = 0 THEN
        RETURN 0;
    END IF;
    batch := dispatch.offer_batch(request, candidates);
    PERFORM dispatch.emit_many(batch.topics, batch.frames);
    RETURN dispatch.insert_offers(request, candidates);
END;
$$;
COMMENT ON FUNCTION dispatch.send_offers(dispatch.assistance_requests, jsonb) IS
    'Internal: record offers of the request''s current round to candidates (dispatch.insert_offers) '
    'and emit their frames (dispatch.offer_batch) as one batch. Returns the count.';

-- candidates_json's last parameter became sooner_than_s (issue 25): a renamed parameter cannot be
-- replaced in place.
SELECT dispatch.drop_function_lacking(
    'dispatch.candidates_json(bigint, geography, text, double precision, double precision)',
    'sooner_than_s');

CREATE OR REPLACE FUNCTION dispatch.candidates_json(
    assistance_id bigint,
    pickup geography,
    service_type text,
    radius_m double precision,
    sooner_than_s double precision DEFAULT NULL
)
RETURNS jsonb
LANGUAGE plpgsql
STABLE
AS $$
BEGIN
    -- plpgsql so the plan is cached per session: as a (non-inlinable) SQL function the KNN query
    -- inside was planned again on every call, 4.4 ms of a request's ~8.5 ms in the database.
    RETURN (
    SELECT coalesce(jsonb_agg(jsonb_build_object('assistant_id', n.assistant_id,
                                                 'distance', round((n.distance_m / 1000)::numeric, 3),
                                                 'distance_m', n.distance_m,
                                                 'eta_s', n.eta_s,
                                                 'eta_source', n.eta_source)
                              ORDER BY n.eta_source = 'straight_line', n.rank_s, n.distance_m,
                                       n.assistant_id), '[]')
    FROM dispatch.offer_candidates(candidates_json.assistance_id, candidates_json.pickup,
                                   candidates_json.service_type, candidates_json.radius_m,
                                   dispatch.setting_numeric('matching_max_results')::integer) n
    WHERE candidates_json.sooner_than_s IS NULL OR n.rank_s < candidates_json.sooner_than_s
    );
END;
$$;
COMMENT ON FUNCTION dispatch.candidates_json(bigint, geography, text, double precision,
                                            double precision) IS
    'dispatch.offer_candidates (N = matching_max_results) as [{assistant_id, distance (km), '
    'distance_m, eta_s, eta_source}], optionally only those sooner than sooner_than_s (the '
    'ranking key, seconds).';

CREATE OR REPLACE FUNCTION dispatch.start_offer_round(request dispatch.assistance_requests)
RETURNS dispatch.assistance_requests
LANGUAGE plpgsql
VOLATILE
AS $$
DECLARE
    req        dispatch.assistance_requests;
    radius     double precision := dispatch.offer_round_radius_m(request.offer_round + 1);
    candidates jsonb;
    sent       integer;
BEGIN
    candidates := dispatch.candidates_json(request.id, request.pickup, request.service_type, radius);
    UPDATE dispatch.assistance_requests r
       SET offer_round = r.offer_round + 1, round_ends_at = dispatch.offer_round_ends_at(),
           round_radius_m = radius, arrivals_checked_at = now(), arrivals_key = NULL,
           searching = true
     WHERE r.id = request.id
    RETURNING * INTO req;
    sent := dispatch.send_offers(req, candidates);
    INSERT INTO dispatch.offer_rounds (assistance_id, round, ends_at, radius_m, offered)
    VALUES (req.id, req.offer_round, req.round_ends_at, radius, sent);
    RETURN req;
END;
$$;
COMMENT ON FUNCTION dispatch.start_offer_round(dispatch.assistance_requests) IS
    'Internal (request row locked): start the next round, offering it to the next nearest '
    'eligible assistants never offered this request, within that round''s radius.';

CREATE OR REPLACE FUNCTION dispatch.close_round_offers(assistance_id bigint)
RETURNS integer
LANGUAGE plpgsql
VOLATILE
AS $$
BEGIN
    RETURN dispatch.close_offers(assistance_id, NULL, 'expired', 'expired');  -- offers_answers.sql
END;
$$;
COMMENT ON FUNCTION dispatch.close_round_offers(bigint) IS
    'Internal: expire the open offers of a request whose round ended (dispatch.close_offers): '
    'each assistant gets {type: offer_withdrawn, assistance_id, reason: expired}, the dispatchers '
    'an "offer" frame per offer.';

CREATE OR REPLACE FUNCTION dispatch.advance_offer_round(request dispatch.assistance_requests)
RETURNS void
LANGUAGE plpgsql
VOLATILE
AS $$
DECLARE
    exhausted jsonb;
BEGIN
    PERFORM dispatch.close_round_offers(request.id);
    IF request.offer_round < dispatch.setting_numeric('offer_max_rounds') THEN
        PERFORM dispatch.start_offer_round(request);
        RETURN;
    END IF;
    UPDATE dispatch.assistance_requests r
       SET searching = false, round_ends_at = NULL, exhausted_at = now()
     WHERE r.id = request.id;
    exhausted := jsonb_build_object('type', 'search_exhausted', 'assistance_id', request.id);
    PERFORM dispatch.emit_many(ARRAY['assistance:' || request.id, 'dispatch'],
                               ARRAY[exhausted, exhausted]);
END;
$$;
COMMENT ON FUNCTION dispatch.advance_offer_round(dispatch.assistance_requests) IS
    'Internal (request row locked): expire the current round''s open offers, then start the next '
    'round, or after offer_max_rounds exhaust the search (searching false, exhausted_at, '
    '{type: search_exhausted, assistance_id} to assistance:<id> and dispatch).';

CREATE OR REPLACE FUNCTION dispatch.arrivals_key(request dispatch.assistance_requests, k integer)
RETURNS integer
LANGUAGE plpgsql
STABLE
AS $$
BEGIN
    RETURN (SELECT hashtext(coalesce(string_agg(s.assistant_id || '@' || s.moved_at, ','
                                                ORDER BY s.assistant_id), ''))
              FROM dispatch.preselect_candidates(request.id, request.pickup, request.service_type,
                                                 request.round_radius_m, k) s);
END;
$$;
COMMENT ON FUNCTION dispatch.arrivals_key(dispatch.assistance_requests, integer) IS
    'Internal: a hash of the request''s straight-line preselection now (who, and when each last '
    'moved): unchanged since the last look for arrivals, there is nothing new to route.';

CREATE OR REPLACE FUNCTION dispatch.offer_to_arrivals(request dispatch.assistance_requests)
RETURNS integer
LANGUAGE plpgsql
VOLATILE
AS $$
DECLARE
    n_max      integer := dispatch.setting_numeric('matching_max_results')::integer;
    factor     integer;
    key        integer;
    offered    integer;
    farthest   double precision;
    candidates jsonb;
    sent       integer;
BEGIN
    -- An assistant who became eligible (or came within reach) during the round joins it when the
    -- round start would have picked them: anyone within the radius while the round reached fewer
    -- than N, else anyone sooner than the latest assistant the round reached (by road time, or
    -- by the straight line, as each was ranked).
    -- Road ranking costs a routing call; when the straight-line preselection is who it was at
    -- the last look, nobody new, nobody moved, there is nothing to route (hashtext: a collision
    -- only delays a newcomer to the next change of the set).
    factor := dispatch.preselect_factor(request.pickup);
    IF factor > 1 THEN
        key := dispatch.arrivals_key(request, n_max * factor);
        IF key = request.arrivals_key THEN
            UPDATE dispatch.assistance_requests r SET arrivals_checked_at = now()
             WHERE r.id = request.id;
            RETURN 0;
        END IF;
    END IF;
    SELECT count(*),
           max(CASE WHEN o.eta_source = 'road' THEN o.eta_s
                    ELSE dispatch.straight_line_eta_s(o.distance_m) END)
      INTO offered, farthest
      FROM dispatch.offers o
     WHERE o.assistance_id = request.id AND o.round = request.offer_round;
    candidates := dispatch.candidates_json(
        request.id, request.pickup, request.service_type, request.round_radius_m,
        CASE WHEN offered < n_max THEN NULL ELSE farthest END);
    sent := dispatch.send_offers(request, candidates);
    IF sent > 0 THEN
        UPDATE dispatch.offer_rounds x SET arrivals = x.arrivals + sent
         WHERE x.assistance_id = request.id AND x.round = request.offer_round;
        IF factor > 1 THEN  -- those just offered leave the preselection
            key := dispatch.arrivals_key(request, n_max * factor);
        END IF;
    END IF;
    UPDATE dispatch.assistance_requests r SET arrivals_checked_at = now(), arrivals_key = key
     WHERE r.id = request.id;
    RETURN sent;
END;
$$;
COMMENT ON FUNCTION dispatch.offer_to_arrivals(dispatch.assistance_requests) IS
    'Internal (request row locked): offer the current round to assistants who became eligible '
    'within its reach since it started (expiring with the round). Returns the number offered.';

CREATE OR REPLACE FUNCTION dispatch.advance_offer_rounds(max_requests integer DEFAULT 100)
RETURNS integer
LANGUAGE plpgsql
VOLATILE
AS $$
DECLARE
    req     dispatch.assistance_requests;
    changed integer := 0;
BEGIN
    -- Due rounds, oldest deadline first. SKIP LOCKED: concurrent drivers (every server process)
    -- take disjoint requests, and a request being accepted or declined right now waits its turn.
    FOR req IN
        SELECT * FROM dispatch.assistance_requests r
         WHERE r.searching AND r.round_ends_at <= now() AND r.status = 'requested'
         ORDER BY r.round_ends_at
         LIMIT max_requests
         FOR UPDATE SKIP LOCKED
    LOOP
        PERFORM dispatch.advance_offer_round(req);
        changed := changed + 1;
    END LOOP;
    -- Supply arriving: each searching request is checked once per offer_arrival_check_s (in all,
    -- not per process), so the cost follows the number of searching requests, not positions.
    FOR req IN
        SELECT * FROM dispatch.assistance_requests r
         WHERE r.searching AND r.status = 'requested' AND r.round_ends_at > now()
           AND r.arrivals_checked_at
               <= now() - make_interval(secs => dispatch.setting_numeric('offer_arrival_check_s'))
         ORDER BY r.arrivals_checked_at
         LIMIT max_requests
         FOR UPDATE SKIP LOCKED
    LOOP
        IF dispatch.offer_to_arrivals(req) > 0 THEN
            changed := changed + 1;
        END IF;
    END LOOP;
    RETURN changed;
END;
$$;
COMMENT ON FUNCTION dispatch.advance_offer_rounds(integer) IS
    'The round driver (every server process calls it several times a second; safe from any '
    'number of sessions): advance up to max_requests requests whose round ended (next round or '
    'search_exhausted), then offer running rounds to newly eligible assistants within reach. '
    'Returns the number of requests that changed.';

-- Whenever a request leaves 'requested' (accepted, assigned, canceled) its search stops, whichever
-- function made the change (its open offers are withdrawn by offers_answers.sql's trigger).

CREATE OR REPLACE FUNCTION dispatch.requests_stop_search() RETURNS trigger
LANGUAGE plpgsql
VOLATILE
AS $$
BEGIN
    NEW.searching := false;
    NEW.round_ends_at := NULL;
    NEW.assigning := false;
    NEW.queued_at := NULL;
    RETURN NEW;
END;
$$;
COMMENT ON FUNCTION dispatch.requests_stop_search() IS
    'Trigger: a request leaving requested stops searching (rounds and assignment batches).';

CREATE OR REPLACE TRIGGER assistance_stop_search BEFORE UPDATE OF status ON dispatch.assistance_requests
    FOR EACH ROW WHEN (OLD.status = 'requested' AND NEW.status <> 'requested')
    EXECUTE FUNCTION dispatch.requests_stop_search();

-- dispatch.offers has no foreign keys (docs/decisions/0003-offers-lean-writes.md); their ON DELETE
-- CASCADE stays, as these statement triggers on the referenced tables.

CREATE OR REPLACE FUNCTION dispatch.offers_of_deleted_requests() RETURNS trigger
LANGUAGE plpgsql
VOLATILE
AS $$
BEGIN
    DELETE FROM dispatch.offers o USING old_rows r WHERE o.assistance_id = r.id;
    RETURN NULL;
END;
$$;
COMMENT ON FUNCTION dispatch.offers_of_deleted_requests() IS
    'Trigger: deleting assistance requests deletes their offers (the cascade of a foreign key).';

CREATE OR REPLACE FUNCTION dispatch.offers_of_deleted_users() RETURNS trigger
LANGUAGE plpgsql
VOLATILE
AS $$
BEGIN
    DELETE FROM dispatch.offers o USING old_rows u WHERE o.assistant_id = u.id;
    RETURN NULL;
END;
$$;
COMMENT ON FUNCTION dispatch.offers_of_deleted_users() IS
    'Trigger: deleting users deletes the offers made to them (the cascade of a foreign key).';

CREATE OR REPLACE FUNCTION dispatch.offers_truncated() RETURNS trigger
LANGUAGE plpgsql
VOLATILE
AS $$
BEGIN
    -- DELETE, not TRUNCATE: a TRUNCATE that lists dispatch.offers too holds it open here (and has
    -- emptied it already: AFTER TRUNCATE triggers run once every listed table is truncated).
    DELETE FROM dispatch.offers;
    RETURN NULL;
END;
$$;
COMMENT ON FUNCTION dispatch.offers_truncated() IS
    'Trigger: truncating users or assistance requests empties the offers too (TRUNCATE ... '
    'CASCADE reached them through foreign keys).';

CREATE OR REPLACE TRIGGER assistance_delete_offers AFTER DELETE ON dispatch.assistance_requests
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION dispatch.offers_of_deleted_requests();
CREATE OR REPLACE TRIGGER users_delete_offers AFTER DELETE ON dispatch.users
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION dispatch.offers_of_deleted_users();
CREATE OR REPLACE TRIGGER assistance_truncate_offers AFTER TRUNCATE ON dispatch.assistance_requests
    FOR EACH STATEMENT EXECUTE FUNCTION dispatch.offers_truncated();
CREATE OR REPLACE TRIGGER users_truncate_offers AFTER TRUNCATE ON dispatch.users
    FOR EACH STATEMENT EXECUTE FUNCTION dispatch.offers_truncated();
COMMENT ON TRIGGER assistance_delete_offers ON dispatch.assistance_requests IS
    'The ON DELETE CASCADE of the foreign key dispatch.offers does not have.';
COMMENT ON TRIGGER users_delete_offers ON dispatch.users IS
    'The ON DELETE CASCADE of the foreign key dispatch.offers does not have.';
