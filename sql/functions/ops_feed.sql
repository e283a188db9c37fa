-- The dispatchers' live feed (topic 'dispatch'): request_created and status frames, how offers
-- ended, and assistant positions at most once per assistant per second (offers sent and
-- search_exhausted come from the offer rounds, sql/functions/offers.sql).
-- Frames that concern a place carry `pickup` {lat, lng} (or lat/lng for a position) so that a
-- socket subscribed to a bbox can be given only what lies inside it.

CREATE OR REPLACE FUNCTION dispatch.assistant_state(assistant_id bigint)
RETURNS text
LANGUAGE plpgsql
STABLE
AS $$
BEGIN
    -- plpgsql so the plan is cached per session.
    RETURN (
        SELECT CASE
                   WHEN NOT a.is_active OR u.is_disabled THEN 'offline'
                   WHEN EXISTS (SELECT 1 FROM dispatch.assistance_requests r
                                WHERE r.assistant_id = a.user_id
                                  AND r.status IN ('accepted', 'ongoing')) THEN 'busy'
                   WHEN EXISTS (SELECT 1 FROM dispatch.offers o
                                WHERE o.assistant_id = a.user_id AND o.state = 'open'
                                  AND o.expires_at > now()) THEN 'offered'
                   ELSE 'idle'
               END
        FROM dispatch.assistants a JOIN dispatch.users u ON u.id = a.user_id
        WHERE a.user_id = assistant_state.assistant_id
    );
END;
$$;
COMMENT ON FUNCTION dispatch.assistant_state(bigint) IS
    'An assistant as the dispatcher sees them: offline (inactive or disabled), busy (an accepted '
    'or ongoing job), offered (an open, unexpired offer) or idle; NULL for a non-assistant.';

-- One function builds the feed's frame of a transition, from the status frame the transition
-- already built for the request's channel (feed_request / feed_request_frame built it again).
DROP FUNCTION IF EXISTS dispatch.feed_request(dispatch.assistance_requests, text);
DROP FUNCTION IF EXISTS dispatch.feed_request_frame(dispatch.assistance_requests, text);
DROP FUNCTION IF EXISTS dispatch.feed_status_frame(dispatch.assistance_requests, text, jsonb);
CREATE FUNCTION dispatch.feed_status_frame(
    request dispatch.assistance_requests,
    from_status text,
    status jsonb
)
RETURNS jsonb
LANGUAGE sql
STABLE
AS $$
    SELECT status || jsonb_build_object(
        'type', CASE WHEN from_status IS NULL THEN 'request_created' ELSE 'status' END,
        'service_type', request.service_type,
        'vehicle_type', request.vehicle_type,
        'pickup', dispatch.point_json(request.pickup),
        'searching', request.searching,
        'offer_round', request.offer_round,
        'exhausted_at', dispatch.iso_utc(request.exhausted_at),
        'created_at', dispatch.iso_utc(request.created_at),
        'updated_at', dispatch.iso_utc(request.updated_at))
$$;
COMMENT ON FUNCTION dispatch.feed_status_frame(dispatch.assistance_requests, text, jsonb) IS
    'The dispatchers'' feed frame of a transition (request_created when from_status is NULL, else '
    'status): the request''s status frame (dispatch.status_message) plus type, service and vehicle '
    'type, pickup {lat, lng}, searching, offer_round, exhausted_at, created_at, updated_at.';

CREATE OR REPLACE FUNCTION dispatch.feed_offer_frame(offer dispatch.offers, pickup jsonb)
RETURNS jsonb
LANGUAGE sql
STABLE  -- as iso_utc, so that it is inlined into the statement that closes the offers
AS $$
    SELECT jsonb_build_object(
        'type', 'offer', 'assistance_id', offer.assistance_id, 'assistant_id', offer.assistant_id,
        'round', offer.round, 'distance', round((offer.distance_m / 1000)::numeric, 3),
        'eta_s', offer.eta_s, 'eta_source', offer.eta_source, 'state', offer.state, 'close_reason', offer.close_reason,
        'sent_at', dispatch.iso_utc(offer.sent_at), 'closed_at', dispatch.iso_utc(offer.closed_at),
        'pickup', pickup)
$$;
COMMENT ON FUNCTION dispatch.feed_offer_frame(dispatch.offers, jsonb) IS
    'The dispatchers'' feed frame (topic dispatch) of an offer that just closed: "offer" '
    '{assistance_id, assistant_id, round, distance, eta_s, eta_source, state, close_reason, '
    'sent_at, closed_at, pickup}. The functions that close offers emit it in the batch of their own frames.';

CREATE OR REPLACE FUNCTION dispatch.publish_fleet_positions(
    min_interval_s double precision DEFAULT 1,
    per_frame integer DEFAULT 40
)
RETURNS integer
LANGUAGE plpgsql
VOLATILE
AS $$
DECLARE
    feed   dispatch.fleet_feed;
    topics text[];
    frames jsonb[];
    upto   timestamptz;
    n      integer;
BEGIN
    -- One publisher at a time across every server process (the others skip the locked row), and
    -- runs at least min_interval_s apart: each run lists an assistant at most once (only those
    -- whose position moved since the previous run), hence at most one update per second each.
    SELECT * INTO feed FROM dispatch.fleet_feed FOR UPDATE SKIP LOCKED;
    IF NOT FOUND OR feed.ran_at > clock_timestamp() - make_interval(secs => min_interval_s) THEN
        RETURN 0;
    END IF;
    -- One scan of the positions, in one statement (one snapshot): the moved assistants, the
    -- newest time among them (where the next run starts) and their frames, per_frame assistants
    -- to a frame (thousands of moves a second make tens of frames, not thousands). States are
    -- set-based, not dispatch.assistant_state per row.
    WITH moved AS MATERIALIZED (
        SELECT p.user_id, p.geog, p.updated_at,
               CASE WHEN NOT a.is_active OR u.is_disabled THEN 'offline'
                    WHEN busy.assistant_id IS NOT NULL THEN 'busy'
                    WHEN offered.assistant_id IS NOT NULL THEN 'offered'
                    ELSE 'idle' END AS state
        FROM dispatch.positions p
        JOIN dispatch.assistants a ON a.user_id = p.user_id
        JOIN dispatch.users u ON u.id = p.user_id
        LEFT JOIN (SELECT DISTINCT r.assistant_id FROM dispatch.assistance_requests r
                    WHERE r.status IN ('accepted', 'ongoing')) busy
               ON busy.assistant_id = p.user_id
        LEFT JOIN (SELECT DISTINCT o.assistant_id FROM dispatch.offers o
                    WHERE o.state = 'open' AND o.expires_at > now()) offered
               ON offered.assistant_id = p.user_id
        WHERE p.updated_at > feed.published_to
    ), chunked AS (
        SELECT m.*, (row_number() OVER (ORDER BY m.user_id) - 1) / greatest(per_frame, 1) AS chunk
        FROM moved m
    )
    SELECT (SELECT max(m.updated_at) FROM moved m), (SELECT count(*) FROM moved m),
           array_agg('dispatch'::text), array_agg(f.frame)
      INTO upto, n, topics, frames
      FROM (SELECT jsonb_build_object('type', 'positions', 'assistants', jsonb_agg(
                       jsonb_build_object('assistant_id', c.user_id,
                                          'lat', ST_Y(c.geog::geometry), 'lng', ST_X(c.geog::geometry),
                                          'state', c.state, 'at', dispatch.iso_utc(c.updated_at))
                       ORDER BY c.user_id)) AS frame
              FROM chunked c GROUP BY c.chunk) f;
    IF n > 0 THEN
        PERFORM dispatch.emit_many(topics, frames);
    END IF;
    UPDATE dispatch.fleet_feed SET published_to = coalesce(upto, published_to), ran_at = clock_timestamp();
    RETURN n;
END;
$$;
COMMENT ON FUNCTION dispatch.publish_fleet_positions(double precision, integer) IS
    'Publish to topic dispatch the assistants whose position changed since the last run, as '
    '"positions" frames {assistants: [{assistant_id, lat, lng, state, at}]} of up to per_frame '
    'each; no-op unless min_interval_s has passed since that run (or another process is running '
    'it). Returns how many assistants it published.';
