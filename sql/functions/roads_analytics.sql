-- Travel-time questions analysts ask of the road graphs (roads.sql has the routing that matching
-- uses): a trip's time, the area a point reaches (or is reached from) in T seconds, and the share
-- of a service zone's roads that an idle assistant reaches in T seconds now. The reach functions
-- search with pgr_drivingDistance from the exact snapped spots: each snapped edge is split at its
-- points (as pgr_withPoints does) and each origin joins its spot through a snap leg at
-- roads_snap_speed_kmh, so the partial first edge and the walk to the road are counted exactly.
-- No car here drives faster than 130 km/h (the car profile's fastest is 80 % of a 140 km/h
-- limit), so a search of T seconds loads only the edges within T x 130 km/h of its points.

CREATE OR REPLACE FUNCTION roads.travel_time(
    from_lat double precision,
    from_lng double precision,
    to_lat double precision,
    to_lng double precision,
    OUT seconds double precision,
    OUT metres double precision,
    OUT source text
)
LANGUAGE plpgsql
STABLE
AS $$
DECLARE
    a geometry := ST_SetSRID(ST_MakePoint(from_lng, from_lat), 4326);
    b geometry := ST_SetSRID(ST_MakePoint(to_lng, to_lat), 4326);
BEGIN
    IF roads.covers(a) AND roads.covers(b) THEN
        SELECT r.seconds, r.metres INTO seconds, metres FROM roads.route(a, b) r;
        IF seconds IS NOT NULL THEN
            source := 'road';
            RETURN;
        END IF;
    END IF;
    metres := ST_Distance(a::geography, b::geography);
    seconds := dispatch.straight_line_eta_s(metres);
    source := 'straight_line';
END;
$$;
COMMENT ON FUNCTION roads.travel_time(double precision, double precision, double precision,
                                      double precision) IS
    'Driving time (seconds) and distance (metres) from one point to another: the fastest road '
    'route where an imported graph covers both (source road, snap legs included, as roads.route), '
    'else the geodesic distance at straight_line_speed_kmh (source straight_line).';

CREATE OR REPLACE FUNCTION roads.reach_box(g geometry, seconds double precision)
RETURNS geometry
LANGUAGE sql
IMMUTABLE
PARALLEL SAFE
AS $$
    -- seconds x 130 km/h, in degrees at the geometry's latitude (as roads.routing_box widens).
    SELECT ST_Expand(ST_Envelope(g),
                     greatest(seconds, 0) * 130 / 3.6
                         / (111320.0 * greatest(cos(radians(ST_Y(ST_Centroid(ST_Envelope(g))))), 0.01)),
                     greatest(seconds, 0) * 130 / 3.6 / 110574.0)
$$;
COMMENT ON FUNCTION roads.reach_box(geometry, double precision) IS
    'The box a search of the given seconds needs around a geometry: its envelope widened by '
    'seconds x 130 km/h (faster than any edge of the car profile), in degrees.';

CREATE OR REPLACE FUNCTION roads.reach(
    origins geometry[],
    seconds double precision,
    box geometry,
    reverse boolean DEFAULT false
)
RETURNS TABLE (
    edge_id   bigint,
    geom      geometry,
    length_m  double precision,
    from_head double precision,
    from_tail double precision
)
LANGUAGE plpgsql
STABLE
AS $$
DECLARE
    walk   double precision := dispatch.setting_numeric('roads_snap_speed_kmh') / 3.6;
    extra  jsonb;
    split  bigint[];
    starts bigint[];
BEGIN
    -- The origins' spots on the roads; a spot shared by several origins is one vertex.
    WITH o AS (
        SELECT u.i, s.*
        FROM unnest(origins) WITH ORDINALITY u(p, i)
        JOIN LATERAL roads.snap(u.p) s ON true
    ), spot AS (
        SELECT d.edge_id, d.fraction, -row_number() OVER (ORDER BY d.edge_id, d.fraction) AS vid
        FROM (SELECT DISTINCT o.edge_id, o.fraction FROM o) d
    ), cut AS (
        -- Each snapped edge cut at its spots: pieces between consecutive breakpoints.
        SELECT e.id AS edge_id, e.cost, e.reverse_cost, e.length_m, e.geom,
               b.f, b.vid, lead(b.f) OVER w AS f2, lead(b.vid) OVER w AS vid2
        FROM roads.edges e
        JOIN LATERAL (
            SELECT 0::double precision AS f, e.source AS vid
            UNION ALL SELECT s.fraction, s.vid FROM spot s WHERE s.edge_id = e.id
            UNION ALL SELECT 1, e.target
        ) b ON true
        WHERE e.id IN (SELECT s.edge_id FROM spot s)
        WINDOW w AS (PARTITION BY e.id ORDER BY b.f, b.vid = e.target, b.vid = e.source DESC)
    ), pieces AS (
        SELECT -row_number() OVER (ORDER BY c.edge_id, c.f) AS id, c.edge_id, c.vid AS source, c.vid2 AS target,
               CASE WHEN c.cost >= 0 THEN (c.f2 - c.f) * c.cost ELSE -1 END AS cost,
               CASE WHEN c.reverse_cost >= 0 THEN (c.f2 - c.f) * c.reverse_cost ELSE -1 END
                   AS reverse_cost,
               (c.f2 - c.f) * c.length_m AS length_m,
               ST_AsEWKT(ST_LineSubstring(c.geom, c.f, c.f2)) AS geom
        FROM cut c WHERE c.f2 IS NOT NULL
    ), legs AS (
        -- Origin k starts at its own vertex (below every spot's) and walks onto its spot.
        SELECT o.i, -(SELECT count(*) FROM spot) - o.i AS source, s.vid AS target,
               o.snap_m / walk AS cost
        FROM o JOIN spot s ON s.edge_id = o.edge_id AND s.fraction = o.fraction
    )
    SELECT jsonb_build_object(
               'pieces', (SELECT coalesce(jsonb_agg(to_jsonb(p)), '[]') FROM pieces p),
               'legs', (SELECT coalesce(jsonb_agg(to_jsonb(l)), '[]') FROM legs l)),
           ARRAY(SELECT DISTINCT s.edge_id FROM spot s),
           ARRAY(SELECT l.source FROM legs l)
      INTO extra, split, starts;
    IF cardinality(starts) = 0 THEN
        RETURN;
    END IF;
    RETURN QUERY
    WITH graph AS (
        -- The main edges in the box but those cut, their pieces (ids below zero), the snap legs.
        SELECT e.id, e.id AS orig, e.source, e.target, e.cost, e.reverse_cost, e.length_m, e.geom
        FROM roads.edges e
        WHERE e.main AND e.geom && box AND e.id <> ALL (split)
        UNION ALL
        SELECT p.id, p.edge_id, p.source, p.target, p.cost, p.reverse_cost, p.length_m,
               ST_GeomFromEWKT(p.geom)
        FROM jsonb_to_recordset(extra -> 'pieces')
             AS p(id bigint, edge_id bigint, source bigint, target bigint, cost double precision,
                  reverse_cost double precision, length_m double precision, geom text)
    ), reached AS (
        SELECT d.node, min(d.agg_cost) AS t
        FROM pgr_drivingDistance(
            format($q$
                SELECT id, source, target, %1$s AS cost, %2$s AS reverse_cost
                FROM roads.edges
                WHERE main AND geom && %3$L::geometry AND id <> ALL (%4$L::bigint[])
                UNION ALL
                SELECT p.id, p.source, p.target, p.%1$s, p.%2$s
                FROM jsonb_to_recordset(%5$L::jsonb)
                     AS p(id bigint, source bigint, target bigint, cost double precision,
                          reverse_cost double precision)
                UNION ALL
                SELECT -1000000000 - l.i, l.source, l.target, l.cost, -1
                FROM jsonb_to_recordset(%6$L::jsonb) AS l(i bigint, source bigint, target bigint,
                                                          cost double precision)
                $q$,
                CASE WHEN reverse THEN 'reverse_cost' ELSE 'cost' END,
                CASE WHEN reverse THEN 'cost' ELSE 'reverse_cost' END,
                box, split, extra -> 'pieces', extra -> 'legs'),
            starts, seconds, true, false) d
        GROUP BY d.node
    )
    SELECT g.orig, g.geom, g.length_m,
           -- The share of the edge reached from each end: all of it, or the seconds left over
           -- its cost in that direction.
           CASE WHEN h.t IS NULL OR fwd.c < 0 THEN 0
                WHEN fwd.c = 0 THEN 1
                ELSE least(1, (seconds - h.t) / fwd.c) END,
           CASE WHEN t.t IS NULL OR fwd.rc < 0 THEN 0
                WHEN fwd.rc = 0 THEN 1
                ELSE least(1, (seconds - t.t) / fwd.rc) END
    FROM graph g
    CROSS JOIN LATERAL (
        SELECT CASE WHEN reverse THEN g.reverse_cost ELSE g.cost END AS c,
               CASE WHEN reverse THEN g.cost ELSE g.reverse_cost END AS rc
    ) fwd
    LEFT JOIN reached h ON h.node = g.source
    LEFT JOIN reached t ON t.node = g.target
    WHERE h.t IS NOT NULL OR t.t IS NOT NULL;
END;
$$;
COMMENT ON FUNCTION roads.reach(geometry[], double precision, geometry, boolean) IS
    'Internal to roads.isochrone and roads.coverage: the main edges in box that a drive of at most '
    'seconds from any origin (reverse: to any origin) touches, each snapped edge cut at its origins'' '
    'spots. Per edge (or piece; edge_id is the whole edge''s): its geometry, length and the share '
    'of it reached from its head (source) and from its tail (target), 0 to 1. Origins off the '
    'roads are left out; no rows without any.';

CREATE OR REPLACE FUNCTION roads.isochrone(
    lat double precision,
    lng double precision,
    seconds double precision,
    direction text DEFAULT 'from'
)
RETURNS jsonb
LANGUAGE plpgsql
STABLE
AS $$
DECLARE
    p    geometry := ST_SetSRID(ST_MakePoint(lng, lat), 4326);
    hull geometry;
BEGIN
    IF direction IS NULL OR direction NOT IN ('from', 'to') THEN
        RAISE EXCEPTION 'The direction is from or to.' USING ERRCODE = 'DP009';
    END IF;
    IF seconds IS NULL OR seconds < 0 THEN
        RAISE EXCEPTION 'The seconds are a number, 0 or more.' USING ERRCODE = 'DP009';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM roads.snap(p)) THEN
        RETURN NULL;
    END IF;
    -- The reached pieces of road, the point and its spot; their concave hull (see the comment).
    WITH r AS MATERIALIZED (
        SELECT * FROM roads.reach(ARRAY[p], seconds, roads.reach_box(p, seconds), direction = 'to')
    )
    SELECT ST_ConcaveHull(ST_Collect(x.g), 0.3)
      INTO hull
      FROM (
          SELECT ST_LineSubstring(r.geom, 0, r.from_head) AS g FROM r WHERE r.from_head > 0
          UNION ALL
          SELECT ST_LineSubstring(r.geom, 1 - r.from_tail, 1) FROM r WHERE r.from_tail > 0
          UNION ALL
          SELECT p
      ) x;
    -- A reach too small to enclose an area (a point, a straight piece) is drawn 10 m wide.
    IF ST_Dimension(hull) < 2 THEN
        hull := ST_Buffer(hull::geography, 10)::geometry;
    END IF;
    RETURN ST_AsGeoJSON(hull, 7)::jsonb;
END;
$$;
COMMENT ON FUNCTION roads.isochrone(double precision, double precision, double precision, text) IS
    'GeoJSON polygon of the area reachable by car from (lat, lng) within seconds (direction to: '
    'that can reach it), over the road graphs from the point''s snapped spot (snap leg and partial '
    'first edge counted). The polygon is the concave hull (ST_ConcaveHull, pctconvex 0.3) of the '
    'reached road pieces, including the partly driven ends of edges; NULL when the point is off '
    'the roads. Refuses another direction, or seconds NULL or below 0, with DP009.';

CREATE OR REPLACE FUNCTION roads.coverage(zone_id bigint, seconds double precision)
RETURNS jsonb
LANGUAGE plpgsql
STABLE
AS $$
DECLARE
    zone   geometry;
    box    geometry;
    places geometry[];
    total  double precision;
    hit    double precision;
BEGIN
    IF seconds IS NULL OR seconds < 0 THEN
        RAISE EXCEPTION 'The seconds are a number, 0 or more.' USING ERRCODE = 'DP009';
    END IF;
    SELECT z.geom INTO zone FROM dispatch.service_zones z WHERE z.id = coverage.zone_id;
    IF zone IS NULL THEN
        RETURN NULL;
    END IF;
    box := roads.reach_box(zone, seconds);
    -- Idle assistants farther than seconds x 130 km/h from the zone cannot reach it in time.
    SELECT coalesce(array_agg(v.geog::geometry ORDER BY v.user_id), '{}')
      INTO places
      FROM dispatch.available_assistants v
     WHERE v.geog::geometry && box
       AND EXISTS (SELECT 1 FROM roads.snap(v.geog::geometry));
    -- The zone's road network: the main edges whose midpoint lies in the zone, whole.
    WITH zone_edges AS (
        SELECT e.id, e.length_m FROM roads.edges e
        WHERE e.main AND e.geom && zone
          AND ST_Intersects(zone, ST_LineInterpolatePoint(e.geom, 0.5))
    ), covered AS (
        SELECT r.edge_id, sum(least(1, r.from_head + r.from_tail) * r.length_m) AS m
        FROM roads.reach(places, seconds, box) r
        GROUP BY r.edge_id
    )
    SELECT sum(z.length_m), coalesce(sum(c.m), 0)
      INTO total, hit
      FROM zone_edges z LEFT JOIN covered c ON c.edge_id = z.id;
    RETURN jsonb_build_object(
        'zone_id', coverage.zone_id,
        'seconds', seconds,
        'share', hit / nullif(total, 0),
        'covered_km', coalesce(hit, 0) / 1000.0,
        'road_km', coalesce(total, 0) / 1000.0,
        'idle_assistants', cardinality(places));
END;
$$;
COMMENT ON FUNCTION roads.coverage(bigint, double precision) IS
    'The share of a service zone within seconds of an idle assistant now, by road length: of the '
    'main road edges whose midpoint lies in the zone (road_km, each edge whole), the length that '
    'some assistant of dispatch.available_assistants reaches by car within seconds from their '
    'snapped position (covered_km, partly reached edges counted in part), and share = covered_km / '
    'road_km (NULL without roads). idle_assistants: those on the roads within seconds x 130 km/h '
    'of the zone (the only ones that can count). NULL for an unknown zone; DP009 for seconds NULL '
    'or below 0.';
