-- The assistance lifecycle: create (price + match + notify), accept, transitions, rating, views.
-- Every change runs in the caller's transaction, records a row in dispatch.assistance_events and
-- announces itself through dispatch.emit, so a rolled-back change announces nothing.

CREATE OR REPLACE FUNCTION dispatch.iso_utc(ts timestamptz)
RETURNS text
LANGUAGE sql
STABLE  -- as to_char: declared IMMUTABLE it was not inlined but called (36 calls a cycle)
PARALLEL SAFE
AS $$
    SELECT to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
$$;
COMMENT ON FUNCTION dispatch.iso_utc(timestamptz) IS
    'A timestamp as ISO 8601 in UTC with a Z suffix and milliseconds, as the API writes times.';

CREATE OR REPLACE FUNCTION dispatch.point_json(geog geography)
RETURNS jsonb
LANGUAGE sql
STABLE  -- as jsonb_build_object: declared IMMUTABLE it was not inlined but called
PARALLEL SAFE
AS $$
    SELECT CASE WHEN geog IS NULL THEN NULL
                ELSE jsonb_build_object('lat', ST_Y(geog::geometry), 'lng', ST_X(geog::geometry))
           END
$$;
COMMENT ON FUNCTION dispatch.point_json(geography) IS
    'A point as {"lat", "lng"}; NULL for NULL.';

CREATE OR REPLACE FUNCTION dispatch.assistance_json(request dispatch.assistance_requests)
RETURNS jsonb
LANGUAGE plpgsql
STABLE
AS $$
BEGIN
    -- plpgsql so the plan is cached per session (a non-inlined SQL function is re-planned
    -- on every call).
    RETURN (
    SELECT jsonb_build_object(
            'id', request.id,
            'status', request.status,
            'service_type', request.service_type,
            'vehicle_type', request.vehicle_type,
            'description', request.description,
            'client', (SELECT jsonb_build_object('id', c.id, 'name', c.name, 'phone', c.phone_number,
                                                 'phone_number', c.phone_number)
                         FROM dispatch.users c WHERE c.id = request.client_id),
            -- The assistant's position only while the job is accepted or ongoing: a finished
            -- or canceled job must not let its client follow the assistant afterwards.
            'assistant', (SELECT jsonb_build_object('id', s.id, 'name', s.name, 'phone', s.phone_number,
                                                    'phone_number', s.phone_number,
                                                    'lat', ST_Y(p.geog::geometry),
                                                    'lng', ST_X(p.geog::geometry))
                            FROM dispatch.users s
                            LEFT JOIN dispatch.positions p
                                   ON p.user_id = s.id AND request.status IN ('accepted', 'ongoing')
                            WHERE s.id = request.assistant_id),
            'pickup_lat', ST_Y(request.pickup::geometry),
            'pickup_lng', ST_X(request.pickup::geometry),
            'dropoff_lat', ST_Y(request.dropoff::geometry),
            'dropoff_lng', ST_X(request.dropoff::geometry),
            'pickupLocation', dispatch.point_json(request.pickup),
            'dropoffLocation', dispatch.point_json(request.dropoff),
            'distance_km', round(request.distance_km::numeric, 3),
            'distance_source', request.distance_source,
            -- The assistant's ETA to the pickup while they are on their way (etas.sql).
            'eta_s', CASE WHEN request.status = 'accepted' THEN request.eta_s END,
            'eta_source', CASE WHEN request.status = 'accepted' THEN request.eta_source END,
            'total_price', request.total_price,
            'currency', request.currency,
            'surge_multiplier', request.price -> 'surge_multiplier',
            'price_breakdown', request.price -> 'lines',
            'searching', request.searching,
            'offer_round', request.offer_round,
            'rating', (SELECT r.rating FROM dispatch.ratings r WHERE r.assistance_id = request.id),
            'comment', (SELECT r.comment FROM dispatch.ratings r WHERE r.assistance_id = request.id),
            'created_at', dispatch.iso_utc(request.created_at),
            'updated_at', dispatch.iso_utc(request.updated_at),
            'createdAt', dispatch.iso_utc(request.created_at),
            'updatedAt', dispatch.iso_utc(request.updated_at)
        )
    );
END;
$$;
COMMENT ON FUNCTION dispatch.assistance_json(dispatch.assistance_requests) IS
    'The API''s assistance object (both renditions'' field names) for a request row.';

CREATE OR REPLACE FUNCTION dispatch.status_message(request dispatch.assistance_requests)
RETURNS jsonb
LANGUAGE plpgsql
STABLE
AS $$
BEGIN
    -- plpgsql so the plan is cached per session (a non-inlined SQL function is re-planned
    -- on every call).
    RETURN (
    SELECT jsonb_build_object(
            'type', 'status',
            'assistance_id', request.id,
            'status', request.status,
            -- Position only while accepted or ongoing (as in assistance_json).
            'assistant', (SELECT jsonb_build_object('id', s.id, 'name', s.name,
                                                    'phone_number', s.phone_number,
                                                    'lat', ST_Y(p.geog::geometry),
                                                    'lng', ST_X(p.geog::geometry))
                            FROM dispatch.users s
                            LEFT JOIN dispatch.positions p
                                   ON p.user_id = s.id AND request.status IN ('accepted', 'ongoing')
                            WHERE s.id = request.assistant_id),
            'client', (SELECT jsonb_build_object('id', c.id, 'name', c.name)
                         FROM dispatch.users c WHERE c.id = request.client_id),
            'eta_s', CASE WHEN request.status = 'accepted' THEN request.eta_s END,
            'eta_source', CASE WHEN request.status = 'accepted' THEN request.eta_source END
        )
    );
END;
$$;
COMMENT ON FUNCTION dispatch.status_message(dispatch.assistance_requests) IS
    'The WebSocket "status" frame for a request: {type, assistance_id, status, assistant|null, '
    'client, eta_s, eta_source} (the ETA while accepted, else null).';

-- Record a transition and announce it on the request's channel (internal helper).
CREATE OR REPLACE FUNCTION dispatch.record_transition(
    request dispatch.assistance_requests,
    actor_id bigint,
    from_status text,
    and_topics text[] DEFAULT NULL,
    and_frames jsonb[] DEFAULT NULL
)
RETURNS void
LANGUAGE plpgsql
VOLATILE
AS $$
DECLARE
    status jsonb := dispatch.status_message(request);
BEGIN
    INSERT INTO dispatch.assistance_events (assistance_id, actor_id, actor_role, from_status, to_status)
    SELECT request.id, u.id, u.role, record_transition.from_status, request.status
    FROM dispatch.users u WHERE u.id = record_transition.actor_id;
    -- One batch: the request's channel, the dispatchers' feed (ops_feed.sql) and the caller's.
    PERFORM dispatch.emit_many(
        ARRAY['assistance:' || request.id, 'dispatch'] || and_topics,
        ARRAY[status, dispatch.feed_status_frame(request, from_status, status)] || and_frames);
END;
$$;
COMMENT ON FUNCTION dispatch.record_transition(dispatch.assistance_requests, bigint, text, text[],
                                              jsonb[]) IS
    'Internal: write the transition to dispatch.assistance_events and emit the status frame to '
    'topic assistance:<id> (and request_created/status to topic dispatch), followed in the same '
    'batch by and_frames to and_topics (NULL: none).';

CREATE OR REPLACE FUNCTION dispatch.request_assistance(
    client_id bigint,
    pickup_lat double precision,
    pickup_lng double precision,
    pickup_cell_r7 bigint,
    dropoff_lat double precision DEFAULT NULL,
    dropoff_lng double precision DEFAULT NULL,
    service_type text DEFAULT 'towing',
    vehicle_type text DEFAULT 'light',
    description text DEFAULT '',
    neighbour_cells_r7 bigint[] DEFAULT NULL,
    idempotency_key text DEFAULT NULL,
    idempotency_fingerprint text DEFAULT NULL,
    pickup_cell_r8 bigint DEFAULT NULL
)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
-- Generic plans for every statement inside (matching, pricing, surge): with custom plans each
-- request re-planned them all, ~4.5 ms of its ~8 ms (see the Benchmarks section of the README).
SET plan_cache_mode = force_generic_plan
AS $$
#variable_conflict use_column
DECLARE
    caller_role text;
    existing    dispatch.assistance_requests;
    req         dispatch.assistance_requests;
    trip        record;
    quote       jsonb;
    matched     jsonb;
    candidates  jsonb;
    radius      double precision;
    pickup      geography := ST_SetSRID(ST_MakePoint(pickup_lng, pickup_lat), 4326)::geography;
    dropoff     geography;
    sent        integer;
    offers      record;
    by_batch    boolean;
BEGIN
    -- Serialises one client's concurrent requests (a retry racing its original, say).
    SELECT u.role INTO caller_role FROM dispatch.users u
    WHERE u.id = request_assistance.client_id FOR NO KEY UPDATE;
    IF caller_role IS DISTINCT FROM 'client' THEN
        RAISE EXCEPTION 'Only clients can request assistance.' USING ERRCODE = 'DP008';
    END IF;

    IF request_assistance.idempotency_key IS NOT NULL THEN
        SELECT * INTO existing FROM dispatch.assistance_requests r
        WHERE r.client_id = request_assistance.client_id
          AND r.idempotency_key = request_assistance.idempotency_key;
        IF FOUND THEN
            IF existing.idempotency_fingerprint IS DISTINCT FROM request_assistance.idempotency_fingerprint
            THEN
                RAISE EXCEPTION 'This Idempotency-Key was already used for a different request.'
                    USING ERRCODE = 'DP012';
            END IF;
            RETURN jsonb_build_object('assistance', dispatch.assistance_json(existing),
                                      'nearby_assistants', existing.matched_assistants,
                                      'replayed', true);
        END IF;
    END IF;

    SELECT * INTO existing FROM dispatch.assistance_requests r
    WHERE r.client_id = request_assistance.client_id
      AND r.status IN ('requested', 'accepted', 'ongoing');
    IF FOUND THEN
        RAISE EXCEPTION 'You already have an open assistance request.'
            USING ERRCODE = 'DP002', DETAIL = jsonb_build_object('assistance_id', existing.id)::text;
    END IF;

    IF (dropoff_lat IS NULL) <> (dropoff_lng IS NULL) THEN
        RAISE EXCEPTION 'A dropoff needs both lat and lng.' USING ERRCODE = 'DP009';
    END IF;
    IF dropoff_lat IS NOT NULL THEN
        dropoff := ST_SetSRID(ST_MakePoint(dropoff_lng, dropoff_lat), 4326)::geography;
    END IF;
    -- By road where graphs cover both ends (etas.sql); the quote says which.
    trip := dispatch.trip_distance(pickup, dropoff);
    quote := dispatch.quote_price(request_assistance.service_type, request_assistance.vehicle_type,
                                  trip.km, request_assistance.pickup_cell_r7,
                                  request_assistance.neighbour_cells_r7, pickup)
             || jsonb_build_object('distance_source', trip.source);

    -- Round 1 (sql/functions/offers.sql): the N soonest eligible assistants within the first
    -- round's radius; the response's nearby_assistants are exactly the offers sent.
    -- Under offer_policy assignment (assignment.sql) there is no round 1: the request waits for
    -- the next batch, which offers it to one assistant.
    by_batch := dispatch.offer_policy() = 'assignment';
    radius := CASE WHEN NOT by_batch THEN dispatch.offer_round_radius_m(1) END;
    candidates := CASE WHEN by_batch THEN '[]'::jsonb
                       ELSE dispatch.candidates_json(NULL, pickup, request_assistance.service_type,
                                                     radius) END;
    SELECT coalesce(jsonb_agg(c - 'distance_m' ORDER BY i), '[]') INTO matched
    FROM jsonb_array_elements(candidates) WITH ORDINALITY AS e(c, i);

    INSERT INTO dispatch.assistance_requests AS r
        (client_id, service_type, vehicle_type, description, pickup, dropoff, pickup_h3_r7,
         distance_km, price, total_price, currency, matched_assistants, idempotency_key,
         idempotency_fingerprint, searching, offer_round, round_ends_at, round_radius_m,
         arrivals_checked_at, pickup_h3_r8, distance_source, assigning, queued_at)
    VALUES
        (request_assistance.client_id, request_assistance.service_type,
         request_assistance.vehicle_type, coalesce(request_assistance.description, ''),
         pickup, dropoff, request_assistance.pickup_cell_r7, trip.km, quote,
         (quote ->> 'total')::numeric, quote ->> 'currency', matched,
         request_assistance.idempotency_key, request_assistance.idempotency_fingerprint,
         true, CASE WHEN by_batch THEN 0 ELSE 1 END,
         CASE WHEN NOT by_batch THEN dispatch.offer_round_ends_at() END, radius,
         CASE WHEN NOT by_batch THEN now() END,
         request_assistance.pickup_cell_r8, trip.source, by_batch,
         CASE WHEN by_batch THEN now() END)
    RETURNING * INTO req;

    -- One batch: the request's status and feed frames, then its offers (dispatch.offer_batch).
    sent := dispatch.insert_offers(req, candidates);
    offers := dispatch.offer_batch(req, candidates);
    PERFORM dispatch.record_transition(req, request_assistance.client_id, NULL,
                                       offers.topics, offers.frames);
    IF NOT by_batch THEN
        INSERT INTO dispatch.offer_rounds (assistance_id, round, ends_at, radius_m, offered)
        VALUES (req.id, 1, req.round_ends_at, radius, sent);
    END IF;

    RETURN jsonb_build_object('assistance', dispatch.assistance_json(req),
                              'nearby_assistants', matched,
                              'replayed', false);
END;
$$;
COMMENT ON FUNCTION dispatch.request_assistance(bigint, double precision, double precision, bigint,
    double precision, double precision, text, text, text, bigint[], text, text, bigint) IS
    'A client asks for help: prices the job (dispatch.quote_price with the pickup cell and its '
    'neighbours), stores the request and starts offer round 1: the N nearest eligible assistants '
    '(dispatch.offer_candidates) get an offer and new_assistance_request on topic assistant:<id> '
    '(under offer_policy assignment: no round 1, the request waits for the next assignment '
    'batch and nearby_assistants is empty). '
    'Returns {assistance, '
    'nearby_assistants, replayed}. With an idempotency_key already used by this client it returns '
    'that request instead (DP012 if the fingerprint differs). DP002 when an open request exists.';

-- Internal: lock an assistant's profile and check they can take a job now. Shared by an
-- assistant's accept and a dispatcher's assign/reassign; only the wording (and the code for an
-- unknown assistant) follows who asks.
CREATE OR REPLACE FUNCTION dispatch.lock_job_taker(
    assistant_id bigint,
    service_type text,
    by_dispatcher boolean
)
RETURNS dispatch.assistants
LANGUAGE plpgsql
VOLATILE
AS $$
#variable_conflict use_column
DECLARE
    profile  dispatch.assistants;
    disabled boolean;
    busy_id  bigint;
BEGIN
    -- Locking the profile serialises one assistant's concurrent accepts and assigns, so the
    -- open-job check below sees the other one's outcome; every taker locks the profile before
    -- the request, which rules out deadlocks.
    SELECT a.* INTO profile FROM dispatch.assistants a
    WHERE a.user_id = lock_job_taker.assistant_id FOR UPDATE;
    IF NOT FOUND AND by_dispatcher THEN
        RAISE EXCEPTION 'Assistant not found.' USING ERRCODE = 'DP045';
    ELSIF NOT FOUND THEN
        RAISE EXCEPTION 'Only assistants can accept assistance requests.' USING ERRCODE = 'DP008';
    END IF;
    SELECT u.is_disabled INTO disabled FROM dispatch.users u WHERE u.id = profile.user_id;
    IF NOT profile.is_active OR disabled THEN
        RAISE EXCEPTION '%', CASE WHEN by_dispatcher THEN 'This assistant is not active.'
                                  ELSE 'Go active before accepting assistance requests.' END
            USING ERRCODE = 'DP005';
    END IF;
    IF profile.driving_license_expiry < current_date THEN
        RAISE EXCEPTION '%', CASE WHEN by_dispatcher
                                  THEN 'This assistant''s driving licence has expired.'
                                  ELSE 'Your driving licence has expired.' END
            USING ERRCODE = 'DP005';
    END IF;
    IF lock_job_taker.service_type IS NOT NULL
       AND profile.service_type <> lock_job_taker.service_type THEN
        RAISE EXCEPTION 'This request needs a % assistant.', lock_job_taker.service_type
            USING ERRCODE = 'DP005';
    END IF;
    SELECT r.id INTO busy_id FROM dispatch.assistance_requests r
    WHERE r.assistant_id = profile.user_id AND r.status IN ('accepted', 'ongoing');
    IF FOUND THEN
        RAISE EXCEPTION '%', CASE WHEN by_dispatcher THEN 'This assistant already has an open job.'
                                  ELSE 'You already have an open job.' END
            USING ERRCODE = 'DP004', DETAIL = jsonb_build_object('assistance_id', busy_id)::text;
    END IF;
    RETURN profile;
END;
$$;
COMMENT ON FUNCTION dispatch.lock_job_taker(bigint, text, boolean) IS
    'Internal: lock the assistant''s profile and raise unless they could take a job (of '
    'service_type, when given) now: DP008 (accept) / DP045 (dispatcher) no such assistant, DP005 '
    'inactive, licence expired or other service type, DP004 an open job. Returns the profile.';

CREATE OR REPLACE FUNCTION dispatch.accept_assistance(assistance_id bigint, assistant_id bigint)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
AS $$
#variable_conflict use_column
DECLARE
    profile     dispatch.assistants;
    offer_state text;
    offer_ends  timestamptz;
    req         dispatch.assistance_requests;
BEGIN
    profile := dispatch.lock_job_taker(accept_assistance.assistant_id, NULL, false);

    -- Only an offer opens the door (contract, "Offers"). The request's row is locked first, as
    -- the round driver and decline do, so the offer read below cannot expire meanwhile. Without
    -- an offer the answer is the same for an unknown request as for a known one.
    PERFORM 1 FROM dispatch.assistance_requests r WHERE r.id = accept_assistance.assistance_id
    FOR UPDATE;
    SELECT o.state, o.expires_at INTO offer_state, offer_ends FROM dispatch.offers o
    WHERE o.assistance_id = accept_assistance.assistance_id
      AND o.assistant_id = profile.user_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'You were not offered this request.' USING ERRCODE = 'DP014';
    ELSIF offer_state = 'expired'
          -- An open offer past its expires_at has expired even though the round driver has not
          -- closed it yet: the clock decides, not the driver's next pass. clock_timestamp(), not
          -- now(): the transaction may have started before the lock above was granted.
          OR (offer_state = 'open' AND offer_ends <= clock_timestamp()) THEN
        RAISE EXCEPTION 'Your offer for this request has expired.' USING ERRCODE = 'DP015';
    ELSIF offer_state = 'declined' THEN
        RAISE EXCEPTION 'You declined this request.' USING ERRCODE = 'DP016';
    ELSIF offer_state <> 'open' THEN
        -- Withdrawn: someone else took it, or the client canceled; take_request says which.
        SELECT * INTO req FROM dispatch.assistance_requests r
        WHERE r.id = accept_assistance.assistance_id;
        IF req.status = 'requested' THEN
            RAISE EXCEPTION 'Your offer for this request has expired.' USING ERRCODE = 'DP015';
        END IF;
    END IF;

    req := dispatch.take_request(accept_assistance.assistance_id, profile.user_id, profile.user_id,
                                 'accepted');
    RETURN dispatch.assistance_json(req);
END;
$$;
COMMENT ON FUNCTION dispatch.accept_assistance(bigint, bigint) IS
    'An assistant holding an open offer takes the request (dispatch.take_request): exactly one of '
    'any number of concurrent accepts wins (DP003 for the others). DP014 never offered (or unknown '
    'request), DP015 offer expired (closed by the driver, or open past its expires_at by the '
    'clock), DP016 offer declined, DP005 inactive / licence expired, DP004 '
    'the assistant has an open job, DP006 request canceled or completed.';

CREATE OR REPLACE FUNCTION dispatch.update_assistance_status(
    assistance_id bigint,
    actor_id bigint,
    new_status text,
    total_price numeric DEFAULT NULL
)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
AS $$
#variable_conflict use_column
DECLARE
    req        dispatch.assistance_requests;
    old_status text;
    by_client  boolean;
    final_ok   boolean;
    quoted     numeric;
BEGIN
    IF new_status IS NULL
       OR new_status NOT IN ('requested', 'accepted', 'ongoing', 'completed', 'canceled') THEN
        RAISE EXCEPTION 'Unknown status.' USING ERRCODE = 'DP009';
    END IF;
    SELECT * INTO req FROM dispatch.assistance_requests r
    WHERE r.id = update_assistance_status.assistance_id FOR UPDATE;
    IF NOT FOUND OR update_assistance_status.actor_id NOT IN (req.client_id, coalesce(req.assistant_id, -1))
    THEN
        RAISE EXCEPTION 'Assistance request not found.' USING ERRCODE = 'DP001';
    END IF;
    by_client := req.client_id = update_assistance_status.actor_id;
    old_status := req.status;

    IF by_client AND new_status <> 'canceled' THEN
        RAISE EXCEPTION 'Clients can only cancel an assistance request.' USING ERRCODE = 'DP008';
    END IF;
    IF old_status IN ('completed', 'canceled') THEN
        RAISE EXCEPTION 'This assistance request is already %.', old_status USING ERRCODE = 'DP006';
    END IF;
    IF NOT (
        (by_client AND new_status = 'canceled')
        OR (NOT by_client AND (old_status, new_status) IN (('accepted', 'ongoing'),
                                                          ('ongoing', 'completed'),
                                                          ('accepted', 'canceled'),
                                                          ('ongoing', 'canceled')))
    ) THEN
        RAISE EXCEPTION 'Cannot go from % to %.', old_status, new_status USING ERRCODE = 'DP007';
    END IF;

    IF update_assistance_status.total_price IS NOT NULL THEN
        SELECT t.final_price_on_completion INTO final_ok FROM dispatch.tariffs t
        WHERE t.service_type = req.service_type AND t.vehicle_type = req.vehicle_type;
        quoted := (req.price ->> 'total')::numeric;
        IF by_client OR new_status <> 'completed' OR NOT coalesce(final_ok, false) THEN
            RAISE EXCEPTION 'total_price is only set by the assistant when completing repair work.'
                USING ERRCODE = 'DP009';
        END IF;
        IF update_assistance_status.total_price < quoted THEN
            RAISE EXCEPTION 'total_price cannot be below the quoted % %.', quoted, req.currency
                USING ERRCODE = 'DP009';
        END IF;
    END IF;

    UPDATE dispatch.assistance_requests AS r
       SET status = new_status,
           updated_at = now(),
           started_at = CASE WHEN new_status = 'ongoing' THEN now() ELSE r.started_at END,
           completed_at = CASE WHEN new_status = 'completed' THEN now() ELSE r.completed_at END,
           canceled_at = CASE WHEN new_status = 'canceled' THEN now() ELSE r.canceled_at END,
           total_price = coalesce(round(update_assistance_status.total_price, 2), r.total_price),
           price = CASE
               WHEN update_assistance_status.total_price IS NULL THEN r.price
               ELSE r.price || jsonb_build_object(
                   'total', round(update_assistance_status.total_price, 2),
                   'lines', (r.price -> 'lines') || jsonb_build_array(jsonb_build_object(
                       'label', 'Repair work',
                       'amount', round(update_assistance_status.total_price, 2) - quoted)))
           END
     WHERE r.id = req.id
    RETURNING * INTO req;
    PERFORM dispatch.issue_invoice(req);  -- on completion only (sql/functions/money.sql)

    PERFORM dispatch.record_transition(req, update_assistance_status.actor_id, old_status);
    RETURN dispatch.assistance_json(req);
END;
$$;
COMMENT ON FUNCTION dispatch.update_assistance_status(bigint, bigint, text, numeric) IS
    'Move a request through the state machine. The client may cancel from requested, accepted or '
    'ongoing (anything else DP008); the assigned assistant may go accepted->ongoing, '
    'ongoing->completed (with total_price for repair work, at least the quote) and cancel '
    'from accepted or ongoing. DP001 not a party, DP006 final state, DP007 invalid transition, '
    'DP009 unknown status or misplaced total_price.';

CREATE OR REPLACE FUNCTION dispatch.rate_assistance(
    assistance_id bigint,
    client_id bigint,
    rating integer,
    comment text DEFAULT ''
)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
AS $$
#variable_conflict use_column
DECLARE
    req dispatch.assistance_requests;
BEGIN
    SELECT * INTO req FROM dispatch.assistance_requests r
    WHERE r.id = rate_assistance.assistance_id FOR UPDATE;
    IF NOT FOUND OR req.client_id <> rate_assistance.client_id THEN
        RAISE EXCEPTION 'Assistance request not found.' USING ERRCODE = 'DP001';
    END IF;
    IF req.status <> 'completed' THEN
        RAISE EXCEPTION 'Only a completed assistance can be rated.' USING ERRCODE = 'DP010';
    END IF;
    IF EXISTS (SELECT 1 FROM dispatch.ratings x WHERE x.assistance_id = req.id) THEN
        RAISE EXCEPTION 'This assistance was already rated.' USING ERRCODE = 'DP011';
    END IF;
    IF rate_assistance.rating IS NULL OR rate_assistance.rating NOT BETWEEN 1 AND 5 THEN
        RAISE EXCEPTION 'The rating must be between 1 and 5.' USING ERRCODE = 'DP009';
    END IF;
    INSERT INTO dispatch.ratings (assistance_id, client_id, assistant_id, rating, comment)
    VALUES (req.id, req.client_id, req.assistant_id, rate_assistance.rating,
            coalesce(rate_assistance.comment, ''));
    RETURN dispatch.assistance_json(req);
END;
$$;
COMMENT ON FUNCTION dispatch.rate_assistance(bigint, bigint, integer, text) IS
    'The client rates a completed assistance once (1..5, optional comment). DP001 not the client, '
    'DP010 not completed, DP011 already rated, DP009 rating out of range.';

CREATE OR REPLACE FUNCTION dispatch.list_assistance(
    user_id bigint,
    status text DEFAULT NULL,
    page_size integer DEFAULT 20,
    page_offset integer DEFAULT 0
)
RETURNS jsonb
LANGUAGE sql
STABLE
AS $$
    SELECT coalesce(jsonb_agg(dispatch.assistance_json(r) ORDER BY r.created_at DESC, r.id DESC),
                    '[]')
    FROM (
        SELECT r.*
        FROM dispatch.assistance_requests r
        JOIN dispatch.users u ON u.id = list_assistance.user_id
        WHERE CASE u.role
                  WHEN 'client' THEN r.client_id = u.id
                  WHEN 'assistant' THEN r.assistant_id = u.id
                  ELSE u.role = 'dispatcher'
              END
          AND (list_assistance.status IS NULL OR r.status = list_assistance.status)
        ORDER BY r.created_at DESC, r.id DESC
        LIMIT list_assistance.page_size OFFSET list_assistance.page_offset
    ) r
$$;
COMMENT ON FUNCTION dispatch.list_assistance(bigint, text, integer, integer) IS
    'The requests a user may see, newest first, as a JSON array of assistance objects: a client''s '
    'own, an assistant''s accepted ones, every one for a dispatcher; optional status filter.';

CREATE OR REPLACE FUNCTION dispatch.can_read_assistance(assistance_id bigint, user_id bigint)
RETURNS boolean
LANGUAGE sql
STABLE
AS $$
    -- EXISTS is true or false, never NULL: `user_id IN (client_id, assistant_id)` alone is NULL
    -- for a stranger while the request has no assistant, and a plpgsql `IF NOT (...)` lets a
    -- NULL through.
    SELECT EXISTS (
        SELECT 1
          FROM dispatch.assistance_requests r
          JOIN dispatch.users u ON u.id = can_read_assistance.user_id
         WHERE r.id = can_read_assistance.assistance_id
           AND (u.id = r.client_id OR u.id = r.assistant_id OR u.role = 'dispatcher'))
$$;
COMMENT ON FUNCTION dispatch.can_read_assistance(bigint, bigint) IS
    'The one read rule of a request: true when the user is its client, its assigned assistant or '
    'a dispatcher; false otherwise (an unknown request or user included, never NULL). Every '
    'reader of one request (view, track, chat history, cost lines, invoice) asks it.';

CREATE OR REPLACE FUNCTION dispatch.get_assistance(assistance_id bigint, user_id bigint)
RETURNS jsonb
LANGUAGE sql
STABLE
AS $$
    SELECT dispatch.assistance_json(r)
    FROM dispatch.assistance_requests r
    WHERE r.id = get_assistance.assistance_id
      AND dispatch.can_read_assistance(r.id, get_assistance.user_id)
$$;
COMMENT ON FUNCTION dispatch.get_assistance(bigint, bigint) IS
    'One assistance object if the user is its client, its assistant or a dispatcher; else NULL.';
