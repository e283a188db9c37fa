-- The dispatcher console's own questions: the road network under the map (simplified GeoJSON for
-- the view's box) and a dispatcher's word in a job's chat.

CREATE OR REPLACE FUNCTION dispatch.console_roads(
    dispatcher_id bigint,
    bbox double precision[],
    zoom integer DEFAULT 14,
    max_edges integer DEFAULT 4000
)
RETURNS jsonb
LANGUAGE plpgsql
STABLE
AS $$
#variable_conflict use_column
DECLARE
    area      geometry;
    -- About one screen pixel at this zoom (256-pixel tiles), in degrees: what ST_Simplify may drop.
    tolerance double precision := 360.0 / (256 * 2 ^ greatest(0, least(22, zoom)));
    -- Which classes are drawn: the busier roads first when zoomed out.
    classes   text[] := CASE
        WHEN zoom < 12 THEN ARRAY['motorway', 'trunk', 'primary']
        WHEN zoom < 14 THEN ARRAY['motorway', 'trunk', 'primary', 'secondary', 'tertiary',
                                  'motorway_link', 'trunk_link', 'primary_link']
        ELSE NULL END;
    result    jsonb;
BEGIN
    PERFORM dispatch.require_dispatcher(dispatcher_id);
    IF bbox IS NULL OR array_length(bbox, 1) <> 4 OR bbox[1] > bbox[3] OR bbox[2] > bbox[4]
       OR bbox[1] < -180 OR bbox[3] > 180 OR bbox[2] < -90 OR bbox[4] > 90 THEN
        RAISE EXCEPTION 'bbox must be minLng, minLat, maxLng, maxLat.' USING ERRCODE = 'DP009';
    END IF;
    area := ST_MakeEnvelope(bbox[1], bbox[2], bbox[3], bbox[4], 4326);
    WITH chosen AS (
        SELECT e.id, e.highway, e.geom,
               CASE e.highway WHEN 'motorway' THEN 1 WHEN 'trunk' THEN 2 WHEN 'primary' THEN 3
                              WHEN 'secondary' THEN 4 WHEN 'tertiary' THEN 5 ELSE 6 END AS rank
        FROM roads.edges e
        WHERE e.main AND e.geom && area
          AND (classes IS NULL OR e.highway = ANY (classes))
        ORDER BY rank, e.id
        LIMIT max_edges + 1
    )
    SELECT jsonb_build_object(
        'type', 'FeatureCollection',
        'attribution', '© OpenStreetMap contributors',
        'truncated', count(*) > max_edges,
        'features', coalesce(jsonb_agg(jsonb_build_object(
            'type', 'Feature',
            'properties', jsonb_build_object('highway', c.highway),
            'geometry', ST_AsGeoJSON(ST_Simplify(c.geom, tolerance, true), 6)::jsonb)
            ORDER BY c.rank, c.id) FILTER (WHERE c.n <= max_edges), '[]'))
    INTO result
    FROM (SELECT ch.*, row_number() OVER (ORDER BY ch.rank, ch.id) AS n FROM chosen ch) c;
    RETURN result;
END;
$$;
COMMENT ON FUNCTION dispatch.console_roads(bigint, double precision[], integer, integer) IS
    'The imported road network (roads.edges of the main connected piece) inside bbox [minLng, '
    'minLat, maxLng, maxLat] as a GeoJSON FeatureCollection {features: [{properties: {highway}, '
    'geometry: LineString}], truncated, attribution}: busier classes only below zoom 14, each '
    'line ST_Simplify''d to about a pixel at zoom, at most max_edges (busiest first). DP009 for a '
    'bad bbox, DP046 unless the caller is a dispatcher. Data © OpenStreetMap contributors.';

CREATE OR REPLACE FUNCTION dispatch.dispatch_post_chat(
    assistance_id bigint,
    dispatcher_id bigint,
    message text,
    per_minute integer DEFAULT 0
)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
AS $$
DECLARE
    frame jsonb;
BEGIN
    PERFORM dispatch.require_dispatcher(dispatcher_id);
    -- The rules of dispatch.post_chat (realtime.sql): the sender's shared chat bucket, stored in
    -- dispatch.chat_messages, relayed on the job's channel; a dispatcher is not a party, but may
    -- speak in any job's chat.
    IF per_minute > 0
       AND NOT dispatch.take_token('chat:' || dispatcher_id, per_minute, per_minute / 60.0) THEN
        RAISE EXCEPTION 'too many chat messages; slow down' USING ERRCODE = 'DPC01';
    END IF;
    INSERT INTO dispatch.chat_messages (assistance_id, sender_id, message)
    SELECT r.id, dispatcher_id, message
    FROM dispatch.assistance_requests r
    WHERE r.id = dispatch_post_chat.assistance_id
    RETURNING jsonb_build_object(
        'type', 'chat',
        'id', chat_messages.id,
        'message', chat_messages.message,
        'sender', chat_messages.sender_id,
        'sender_id', chat_messages.sender_id,
        'sender_name', (SELECT u.name FROM dispatch.users u WHERE u.id = chat_messages.sender_id),
        'sender_role', 'dispatcher',
        'sent_at', dispatch.iso_utc(chat_messages.sent_at)
    ) INTO frame;
    IF frame IS NULL THEN
        RAISE EXCEPTION 'Assistance request not found.' USING ERRCODE = 'DP001';
    END IF;
    PERFORM dispatch.emit('assistance:' || dispatch_post_chat.assistance_id, frame - 'id' - 'sender_id');
    RETURN frame;
END;
$$;
COMMENT ON FUNCTION dispatch.dispatch_post_chat(bigint, bigint, text, integer) IS
    'A dispatcher writes in a job''s chat: stored in dispatch.chat_messages and relayed on the '
    'job''s channel as {type: chat, message, sender, sender_name, sender_role: dispatcher, sent_at} '
    '(dispatch.post_chat''s frame). With per_minute > 0 the sender''s chat bucket must hold a token '
    '(DPC01). DP001 unknown request, DP046 unless the caller is a dispatcher.';
