-- Dispatchers (contract "Dispatchers"): the request queue, one request with its offers and event
-- timeline, assign / reassign / cancel with who and why, and the fleet with each assistant's state.
-- Every change records a dispatch.assistance_events row carrying the dispatcher and the reason.

CREATE OR REPLACE FUNCTION dispatch.require_dispatcher(user_id bigint)
RETURNS void
LANGUAGE plpgsql
STABLE
AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM dispatch.users u
                   WHERE u.id = require_dispatcher.user_id AND u.role = 'dispatcher'
                     AND NOT u.is_disabled) THEN
        RAISE EXCEPTION 'Only dispatchers can do this.' USING ERRCODE = 'DP046';
    END IF;
END;
$$;
COMMENT ON FUNCTION dispatch.require_dispatcher(bigint) IS
    'Raise DP046 unless the user is an enabled dispatcher.';

CREATE OR REPLACE FUNCTION dispatch.dispatch_assistance_json(request dispatch.assistance_requests)
RETURNS jsonb
LANGUAGE sql
STABLE
AS $$
    SELECT dispatch.assistance_json(request) || jsonb_build_object(
        'searching', request.searching,
        'offer_round', request.offer_round,
        'exhausted_at', dispatch.iso_utc(request.exhausted_at))
$$;
COMMENT ON FUNCTION dispatch.dispatch_assistance_json(dispatch.assistance_requests) IS
    'The assistance object with the search state a dispatcher needs (searching, offer_round, '
    'exhausted_at).';

CREATE OR REPLACE FUNCTION dispatch.dispatch_requests(
    dispatcher_id bigint,
    statuses text[] DEFAULT NULL,
    searching boolean DEFAULT NULL,
    since timestamptz DEFAULT NULL,
    bbox double precision[] DEFAULT NULL,
    page_size integer DEFAULT 50,
    page_offset integer DEFAULT 0
)
RETURNS jsonb
LANGUAGE plpgsql
STABLE
AS $$
DECLARE
    area   geometry;
    result jsonb;
BEGIN
    PERFORM dispatch.require_dispatcher(dispatcher_id);
    IF bbox IS NOT NULL THEN
        area := ST_MakeEnvelope(bbox[1], bbox[2], bbox[3], bbox[4], 4326);
    END IF;
    WITH matching AS (
        SELECT r.* FROM dispatch.assistance_requests r
        WHERE (statuses IS NULL OR r.status = ANY (statuses))
          AND (dispatch_requests.searching IS NULL OR r.searching = dispatch_requests.searching)
          AND (since IS NULL OR r.created_at >= since)
          AND (area IS NULL OR ST_Intersects(r.pickup::geometry, area))
    )
    SELECT jsonb_build_object(
        'count', (SELECT count(*) FROM matching),
        'results', coalesce((SELECT jsonb_agg(dispatch.dispatch_assistance_json(p)
                                              ORDER BY p.created_at DESC, p.id DESC)
                             FROM (SELECT * FROM matching m ORDER BY m.created_at DESC, m.id DESC
                                   LIMIT page_size OFFSET page_offset) p), '[]'))
    INTO result;
    RETURN result;
END;
$$;
COMMENT ON FUNCTION dispatch.dispatch_requests(bigint, text[], boolean, timestamptz,
    double precision[], integer, integer) IS
    'The dispatcher''s queue: {count, results} of requests newest first, filtered by statuses, '
    'searching, created since, and a pickup bbox [minLng, minLat, maxLng, maxLat]. DP046 unless '
    'the caller is a dispatcher.';

CREATE OR REPLACE FUNCTION dispatch.dispatch_request_detail(assistance_id bigint, dispatcher_id bigint)
RETURNS jsonb
LANGUAGE plpgsql
STABLE
AS $$
BEGIN
    PERFORM dispatch.require_dispatcher(dispatcher_id);
    RETURN (
        SELECT dispatch.dispatch_assistance_json(r) || jsonb_build_object(
            'offers', coalesce((
                SELECT jsonb_agg(jsonb_build_object(
                           'assistant_id', o.assistant_id,
                           'assistant_name', u.name,
                           'round', o.round,
                           'distance', round((o.distance_m / 1000)::numeric, 3),
                           'eta_s', o.eta_s,
                           'eta_source', o.eta_source,
                           'sent_at', dispatch.iso_utc(o.sent_at),
                           'expires_at', dispatch.iso_utc(o.expires_at),
                           'closed_at', dispatch.iso_utc(o.closed_at),
                           'state', o.state)
                       ORDER BY o.round, o.distance_m, o.assistant_id)
                FROM dispatch.offers o JOIN dispatch.users u ON u.id = o.assistant_id
                WHERE o.assistance_id = r.id), '[]'),
            'events', coalesce((
                SELECT jsonb_agg(jsonb_build_object(
                           'from_status', e.from_status,
                           'to_status', e.to_status,
                           'actor_id', e.actor_id,
                           'actor_role', e.actor_role,
                           'reason', e.reason,
                           'at', dispatch.iso_utc(e.created_at))
                       ORDER BY e.id)
                FROM dispatch.assistance_events e WHERE e.assistance_id = r.id), '[]'),
            -- offer_policy assignment: each batch's decision for it, and why (assignment.sql).
            'batches', dispatch.request_batches(r.id),
            -- Who could take it now: the ten soonest (the offer rounds' ranking, but anyone
            -- available within the widest round, offered before or not); the first is the
            -- suggestion.
            'candidates', CASE WHEN r.status = 'requested' THEN coalesce((
                SELECT jsonb_agg(jsonb_build_object(
                           'assistant_id', c.assistant_id,
                           'assistant_name', u.name,
                           'distance', round((c.distance_m / 1000)::numeric, 3),
                           'eta_s', c.eta_s,
                           'eta_source', c.eta_source)
                       ORDER BY c.eta_source = 'straight_line', c.rank_s, c.assistant_id)
                FROM dispatch.offer_candidates(NULL, r.pickup, r.service_type,
                                               dispatch.setting_numeric('offer_max_radius_m')
                                                   ::double precision,
                                               10) c
                JOIN dispatch.users u ON u.id = c.assistant_id), '[]') ELSE '[]' END)
        FROM dispatch.assistance_requests r
        WHERE r.id = dispatch_request_detail.assistance_id
    );
END;
$$;
COMMENT ON FUNCTION dispatch.dispatch_request_detail(bigint, bigint) IS
    'One request for a dispatcher: the assistance object plus offers [{assistant_id, round, '
    'distance, eta_s, eta_source, sent_at, state, ...}], events [{from_status, to_status, '
    'actor_id, actor_role, reason, at}], batches (dispatch.request_batches: each assignment '
    'batch''s decision for it) and, while requested, candidates [{assistant_id, '
    'assistant_name, distance, eta_s, eta_source}], the ten soonest; NULL for an unknown id. DP046 '
    'unless the caller is a dispatcher.';

-- The checks of a dispatcher's assign are an accept's: dispatch.lock_job_taker (lifecycle.sql).
DROP FUNCTION IF EXISTS dispatch.lock_assignable(bigint, text);

-- Internal: record a dispatcher's transition with its reason and announce it to the parties
-- (request channel, and the assistant's own channel) and to the dispatchers' feed.
CREATE OR REPLACE FUNCTION dispatch.record_dispatch(
    request dispatch.assistance_requests,
    dispatcher_id bigint,
    from_status text,
    reason text
)
RETURNS void
LANGUAGE plpgsql
VOLATILE
AS $$
DECLARE
    frame jsonb := dispatch.status_message(request);
BEGIN
    INSERT INTO dispatch.assistance_events
        (assistance_id, actor_id, actor_role, from_status, to_status, reason)
    VALUES (request.id, dispatcher_id, 'dispatcher', from_status, request.status, reason);
    -- One batch: the request's channel, its assistant's (none: left out) and the feed.
    PERFORM dispatch.emit_many(
        ARRAY['assistance:' || request.id, 'assistant:' || request.assistant_id, 'dispatch'],
        ARRAY[frame, frame, dispatch.feed_status_frame(request, from_status, frame)]);
END;
$$;
COMMENT ON FUNCTION dispatch.record_dispatch(dispatch.assistance_requests, bigint, text, text) IS
    'Internal: write a dispatcher''s transition (with its reason) to dispatch.assistance_events and '
    'emit the status frame to the request''s channel, its assistant''s channel and topic dispatch.';

CREATE OR REPLACE FUNCTION dispatch.assigned_frame(request dispatch.assistance_requests, reason text)
RETURNS jsonb
LANGUAGE sql
STABLE
AS $$
    SELECT jsonb_build_object(
        'type', 'assigned',
        'assistance_id', request.id,
        'service_type', request.service_type,
        'assistance_type', request.service_type,
        'vehicle_type', request.vehicle_type,
        'description', request.description,
        'pickup_location', dispatch.point_json(request.pickup),
        'dropoff_location', dispatch.point_json(request.dropoff),
        'distance', (SELECT round((ST_Distance(p.geog, request.pickup) / 1000)::numeric, 3)
                       FROM dispatch.positions p WHERE p.user_id = request.assistant_id),
        'distance_km', round(request.distance_km::numeric, 3),
        'eta_s', request.eta_s,
        'eta_source', request.eta_source,
        'total_price', request.total_price,
        'currency', request.currency,
        'offer_round', request.offer_round,
        'reason', reason,
        'client', (SELECT jsonb_build_object('id', c.id, 'name', c.name)
                     FROM dispatch.users c WHERE c.id = request.client_id))
$$;
COMMENT ON FUNCTION dispatch.assigned_frame(dispatch.assistance_requests, text) IS
    'The "assigned" frame an assistant gets when a dispatcher gives them a job: the offer''s fields '
    '(new_assistance_request, with the assistant''s eta_s and eta_source) plus reason.';

CREATE OR REPLACE FUNCTION dispatch.assign_assistance(
    assistance_id bigint,
    assistant_id bigint,
    dispatcher_id bigint,
    reason text DEFAULT NULL
)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
AS $$
#variable_conflict use_column
DECLARE
    req dispatch.assistance_requests;
BEGIN
    PERFORM dispatch.require_dispatcher(dispatcher_id);
    SELECT * INTO req FROM dispatch.assistance_requests r WHERE r.id = assign_assistance.assistance_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'Assistance request not found.' USING ERRCODE = 'DP001';
    END IF;
    -- The assistant's profile first, then the request (inside take_request): the lock order of
    -- an accept, so an assign and accepts never deadlock.
    PERFORM dispatch.lock_job_taker(assign_assistance.assistant_id, req.service_type, true);
    -- The same exactly-one-winner path as an assistant's accept (offers.sql): of an assign racing
    -- accepts, the first to lock the row finds it requested; the others get DP003.
    req := dispatch.take_request(assign_assistance.assistance_id, assign_assistance.assistant_id,
                                 dispatcher_id, 'assigned');
    -- take_request recorded the transition (actor and role); the dispatcher's reason joins it.
    UPDATE dispatch.assistance_events e SET reason = assign_assistance.reason
     WHERE e.id = (SELECT max(x.id) FROM dispatch.assistance_events x
                    WHERE x.assistance_id = req.id AND x.to_status = 'accepted');
    PERFORM dispatch.emit_many(
        ARRAY['assistant:' || req.assistant_id, 'assistant:' || req.assistant_id],
        ARRAY[dispatch.assigned_frame(req, reason), dispatch.status_message(req)]);
    RETURN dispatch.dispatch_assistance_json(req);
END;
$$;
COMMENT ON FUNCTION dispatch.assign_assistance(bigint, bigint, bigint, text) IS
    'A dispatcher gives a requested job to an available assistant (any, offered or not) through '
    'dispatch.take_request, the accept''s exactly-one-winner path (DP003 when someone else took it '
    'first): open offers close, the assistant gets "assigned" and a status frame, the request''s '
    'channel and the feed a status frame, the timeline the dispatcher and reason. '
    'DP001 unknown request, DP006 final, DP045 unknown assistant, DP005/DP004 assistant unavailable.';

CREATE OR REPLACE FUNCTION dispatch.reassign_assistance(
    assistance_id bigint,
    assistant_id bigint,
    dispatcher_id bigint,
    reason text
)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
AS $$
#variable_conflict use_column
DECLARE
    req      dispatch.assistance_requests;
    previous bigint;
BEGIN
    PERFORM dispatch.require_dispatcher(dispatcher_id);
    IF reason IS NULL OR btrim(reason) = '' THEN
        RAISE EXCEPTION 'A reassignment needs a reason.' USING ERRCODE = 'DP009';
    END IF;
    SELECT * INTO req FROM dispatch.assistance_requests r WHERE r.id = reassign_assistance.assistance_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'Assistance request not found.' USING ERRCODE = 'DP001';
    END IF;
    IF req.assistant_id = reassign_assistance.assistant_id THEN
        RAISE EXCEPTION 'This assistant already has this job.' USING ERRCODE = 'DP047';
    END IF;
    PERFORM dispatch.lock_job_taker(reassign_assistance.assistant_id, req.service_type, true);
    SELECT * INTO req FROM dispatch.assistance_requests r
    WHERE r.id = reassign_assistance.assistance_id FOR UPDATE;
    IF req.status IN ('completed', 'canceled') THEN
        RAISE EXCEPTION 'This assistance request is already %.', req.status USING ERRCODE = 'DP006';
    END IF;
    IF req.status <> 'accepted' THEN
        RAISE EXCEPTION 'Only an accepted request can be reassigned (this one is %).', req.status
            USING ERRCODE = 'DP007';
    END IF;
    previous := req.assistant_id;
    UPDATE dispatch.assistance_requests AS r
       SET assistant_id = reassign_assistance.assistant_id, accepted_at = now(), updated_at = now()
     WHERE r.id = req.id
    RETURNING * INTO req;
    req := dispatch.set_job_eta(req);  -- etas.sql: the new assistant's

    PERFORM dispatch.emit_many(
        ARRAY['assistant:' || previous, 'assistant:' || req.assistant_id],
        ARRAY[jsonb_build_object('type', 'unassigned', 'assistance_id', req.id, 'reason', reason),
              dispatch.assigned_frame(req, reason)]);
    PERFORM dispatch.record_dispatch(req, dispatcher_id, 'accepted', reason);
    RETURN dispatch.dispatch_assistance_json(req);
END;
$$;
COMMENT ON FUNCTION dispatch.reassign_assistance(bigint, bigint, bigint, text) IS
    'A dispatcher moves an accepted job to another available assistant, with a reason: the previous '
    'one gets "unassigned", the new one "assigned", the parties and the feed a status frame. DP001 '
    'unknown, DP006 final, DP007 not accepted, DP047 same assistant, DP009 no reason, DP045/DP005/'
    'DP004 the new assistant unknown or unavailable.';

CREATE OR REPLACE FUNCTION dispatch.dispatch_cancel_assistance(
    assistance_id bigint,
    dispatcher_id bigint,
    reason text
)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
AS $$
#variable_conflict use_column
DECLARE
    req        dispatch.assistance_requests;
    old_status text;
BEGIN
    PERFORM dispatch.require_dispatcher(dispatcher_id);
    IF reason IS NULL OR btrim(reason) = '' THEN
        RAISE EXCEPTION 'A cancellation needs a reason.' USING ERRCODE = 'DP009';
    END IF;
    SELECT * INTO req FROM dispatch.assistance_requests r
    WHERE r.id = dispatch_cancel_assistance.assistance_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'Assistance request not found.' USING ERRCODE = 'DP001';
    END IF;
    IF req.status IN ('completed', 'canceled') THEN
        RAISE EXCEPTION 'This assistance request is already %.', req.status USING ERRCODE = 'DP006';
    END IF;
    old_status := req.status;
    UPDATE dispatch.assistance_requests AS r
       SET status = 'canceled', canceled_at = now(), updated_at = now(), searching = false,
           round_ends_at = NULL
     WHERE r.id = req.id
    RETURNING * INTO req;
    -- Open offers are withdrawn (reason canceled) by trigger assistance_withdraw_offers.
    PERFORM dispatch.record_dispatch(req, dispatcher_id, old_status, reason);
    RETURN dispatch.dispatch_assistance_json(req);
END;
$$;
COMMENT ON FUNCTION dispatch.dispatch_cancel_assistance(bigint, bigint, text) IS
    'A dispatcher cancels a requested, accepted or ongoing job with a reason: open offers are '
    'withdrawn (offer_withdrawn, reason canceled), the parties and the feed get a status frame. '
    'DP001 unknown, DP006 already final, DP009 no reason.';

CREATE OR REPLACE FUNCTION dispatch.dispatch_assistants(
    dispatcher_id bigint,
    state text DEFAULT NULL,
    service_type text DEFAULT NULL,
    bbox double precision[] DEFAULT NULL,
    page_size integer DEFAULT 200,
    page_offset integer DEFAULT 0
)
RETURNS jsonb
LANGUAGE plpgsql
STABLE
AS $$
#variable_conflict use_column
DECLARE
    area   geometry;
    result jsonb;
BEGIN
    PERFORM dispatch.require_dispatcher(dispatcher_id);
    IF bbox IS NOT NULL THEN
        area := ST_MakeEnvelope(bbox[1], bbox[2], bbox[3], bbox[4], 4326);
    END IF;
    WITH fleet AS (
        SELECT a.user_id AS id, u.name, a.service_type, a.vehicle_type, a.is_active,
               ST_Y(p.geog::geometry) AS lat, ST_X(p.geog::geometry) AS lng, p.updated_at,
               dispatch.assistant_state(a.user_id) AS state,
               (SELECT r.id FROM dispatch.assistance_requests r
                 WHERE r.assistant_id = a.user_id AND r.status IN ('accepted', 'ongoing')) AS open_id
        FROM dispatch.assistants a
        JOIN dispatch.users u ON u.id = a.user_id
        LEFT JOIN dispatch.positions p ON p.user_id = a.user_id
        WHERE (dispatch_assistants.service_type IS NULL
               OR a.service_type = dispatch_assistants.service_type)
          AND (area IS NULL OR (p.geog IS NOT NULL AND ST_Intersects(p.geog::geometry, area)))
    ), chosen AS (
        SELECT * FROM fleet f WHERE dispatch_assistants.state IS NULL OR f.state = dispatch_assistants.state
    )
    SELECT jsonb_build_object(
        'count', (SELECT count(*) FROM chosen),
        'results', coalesce((
            SELECT jsonb_agg(jsonb_build_object(
                       'id', c.id, 'name', c.name, 'service_type', c.service_type,
                       'vehicle_type', c.vehicle_type, 'is_active', c.is_active,
                       'lat', c.lat, 'lng', c.lng, 'state', c.state,
                       'last_seen', dispatch.iso_utc(c.updated_at),
                       'open_assistance_id', c.open_id) ORDER BY c.id)
            FROM (SELECT * FROM chosen ORDER BY id LIMIT page_size OFFSET page_offset) c), '[]'))
    INTO result;
    RETURN result;
END;
$$;
COMMENT ON FUNCTION dispatch.dispatch_assistants(bigint, text, text, double precision[], integer,
    integer) IS
    'The fleet for a dispatcher: {count, results: [{id, name, service_type, vehicle_type, '
    'is_active, lat, lng, state, last_seen, open_assistance_id}]} by id, filtered by state '
    '(idle|offered|busy|offline), service type and a bbox of the last position. DP046 unless the '
    'caller is a dispatcher.';
