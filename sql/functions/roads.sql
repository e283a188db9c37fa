-- Travel times over the imported road graphs (roads.edges, pgRouting's shape; `dispatch roads
-- import`). A point is snapped onto the nearest edge of a region's main piece (within
-- roads_snap_max_m) and routed from the exact spot on that edge, as pgr_withPoints would: the
-- cost of a trip is the snap legs at roads_snap_speed_kmh, the part of the start edge driven
-- out, the graph between, and the part of the end edge driven in. pgRouting builds its graph
-- on every call, so each call loads only the edges in a box around its points, and refuses
-- (returns nothing: callers fall back to the straight line) when that box would hold more than
-- roads_max_edges.

-- times_in_box became times_matrix_in_box (issue 26: one routing call for a whole batch).
DROP FUNCTION IF EXISTS roads.times_in_box(geometry, geometry[], geometry);

CREATE OR REPLACE FUNCTION roads.covers(p geometry)
RETURNS boolean
LANGUAGE sql
STABLE
PARALLEL SAFE
AS $$
    SELECT EXISTS (SELECT 1 FROM roads.regions r WHERE ST_Intersects(r.area, p))
$$;
COMMENT ON FUNCTION roads.covers(geometry) IS
    'Whether an imported region''s area holds the point (its roads may still be farther than '
    'roads_snap_max_m: roads.snap decides).';

CREATE OR REPLACE FUNCTION roads.snap(p geometry)
RETURNS TABLE (
    edge_id      bigint,
    source       bigint,
    target       bigint,
    cost         double precision,
    reverse_cost double precision,
    length_m     double precision,
    fraction     double precision,
    snap_m       double precision
)
LANGUAGE sql
STABLE
PARALLEL SAFE
AS $$
    -- The index's order is planar (degrees): the true nearest (metres) is among its first few,
    -- measured from the point to its closest point on each (a point-to-point geodesic distance:
    -- a quarter of the cost of a point-to-line one, and 30 snaps a request). The setting is a
    -- sub-select so that, inlined into a caller snapping many points, it is read once per query
    -- (an InitPlan), not once per candidate edge: 120 plpgsql calls, ~1 ms of 30 snaps.
    SELECT e.id, e.source, e.target, e.cost, e.reverse_cost, e.length_m,
           ST_LineLocatePoint(e.geom, p), d.m
    FROM (SELECT * FROM roads.edges x WHERE x.main ORDER BY x.geom <-> p LIMIT 4) e,
         LATERAL (SELECT ST_Distance(ST_ClosestPoint(e.geom, p)::geography, p::geography) AS m) d
    WHERE d.m <= (SELECT dispatch.setting_numeric('roads_snap_max_m'))
    ORDER BY d.m, e.id
    LIMIT 1
$$;
COMMENT ON FUNCTION roads.snap(geometry) IS
    'The point''s place on the road network: the nearest edge of a main piece within '
    'roads_snap_max_m (none farther), the fraction along it (0 at source) and the distance to it.';

-- routing_box gained its widening factor (issue 25): an older definition is dropped first.
DROP FUNCTION IF EXISTS roads.routing_box(geometry[]);

CREATE OR REPLACE FUNCTION roads.routing_box(points geometry[], widen double precision DEFAULT 1)
RETURNS geometry
LANGUAGE plpgsql
STABLE
AS $$
DECLARE
    margin double precision := dispatch.setting_numeric('roads_box_margin_m') * widen;
    box    geometry := ST_Envelope(ST_Collect(points));
    lat    double precision := ST_Y(ST_Centroid(box));
    load   double precision;
BEGIN
    box := ST_Expand(box, margin / (111320.0 * greatest(cos(radians(lat)), 0.01)), margin / 110574.0);
    -- The edges the box would load, from each region's density: pgRouting's cost is linear in it.
    SELECT coalesce(sum(r.edges * ST_Area(ST_Intersection(r.area, box))
                        / nullif(ST_Area(r.area), 0)), 0)
      INTO load
      FROM roads.regions r
     WHERE r.area && box;
    IF load > dispatch.setting_numeric('roads_max_edges') THEN
        RETURN NULL;
    END IF;
    RETURN box;
END;
$$;
COMMENT ON FUNCTION roads.routing_box(geometry[], double precision) IS
    'The box of edges one routing call loads: the points'' envelope widened by roads_box_margin_m '
    'times widen; NULL when it would hold more than roads_max_edges (the call''s work budget).';

CREATE OR REPLACE FUNCTION roads.times_matrix_in_box(
    destinations geometry[],
    origins geometry[],
    box geometry
)
RETURNS TABLE (dest integer, ord integer, seconds double precision, snapped boolean)
LANGUAGE sql
STABLE
AS $$
    -- One pgRouting call for every destination: a search backwards from each destination's edge
    -- ends over the reversed graph (cost and reverse_cost swapped) reaches every origin's edge
    -- ends, so the graph in the box is built once and every origin and destination is snapped
    -- once, whatever the number of pairs.
    WITH t AS MATERIALIZED (
        SELECT u.i::integer AS dest, s.*
        FROM unnest(destinations) WITH ORDINALITY AS u(p, i)
        JOIN LATERAL roads.snap(u.p) s ON true
    ), o AS MATERIALIZED (
        SELECT u.i::integer AS ord, s.*
        FROM unnest(origins) WITH ORDINALITY AS u(p, i)
        LEFT JOIN LATERAL roads.snap(u.p) s ON true
    ), exits AS MATERIALIZED (
        SELECT o.ord, o.target AS vid, (1 - o.fraction) * o.cost AS c FROM o WHERE o.cost >= 0
        UNION ALL
        SELECT o.ord, o.source, o.fraction * o.reverse_cost FROM o WHERE o.reverse_cost >= 0
    ), entries AS MATERIALIZED (
        SELECT t.dest, t.source AS vid, t.fraction * t.cost AS c FROM t WHERE t.cost >= 0
        UNION ALL
        SELECT t.dest, t.target, (1 - t.fraction) * t.reverse_cost FROM t WHERE t.reverse_cost >= 0
    ), legs AS (
        SELECT d.start_vid AS entry, d.end_vid AS exit, d.agg_cost
        FROM pgr_dijkstraCost(
            format('SELECT id, source, target, reverse_cost AS cost, cost AS reverse_cost '
                   'FROM roads.edges WHERE main AND geom && %L::geometry', box),
            ARRAY(SELECT DISTINCT en.vid FROM entries en),
            ARRAY(SELECT DISTINCT x.vid FROM exits x),
            true) d
        WHERE EXISTS (SELECT 1 FROM o)
        UNION ALL
        SELECT DISTINCT en.vid, en.vid, 0 FROM entries en
    ), routed AS (
        SELECT en.dest, x.ord, min(x.c + l.agg_cost + en.c) AS s
        FROM entries en
        JOIN legs l ON l.entry = en.vid
        JOIN exits x ON x.vid = l.exit
        GROUP BY en.dest, x.ord
    ), along AS (
        -- Origin and destination on the same edge: straight along it where its direction allows.
        SELECT t.dest, o.ord,
               CASE WHEN o.fraction <= t.fraction AND o.cost >= 0
                        THEN (t.fraction - o.fraction) * o.cost
                    WHEN o.fraction >= t.fraction AND o.reverse_cost >= 0
                        THEN (o.fraction - t.fraction) * o.reverse_cost
               END AS s
        FROM o JOIN t ON o.edge_id = t.edge_id
    )
    SELECT t.dest, o.ord,
           (o.snap_m + t.snap_m)
               / (SELECT dispatch.setting_numeric('roads_snap_speed_kmh') / 3.6)
               + least(r.s, a.s),
           o.edge_id IS NOT NULL
    FROM t CROSS JOIN o
    LEFT JOIN routed r ON r.dest = t.dest AND r.ord = o.ord
    LEFT JOIN along a ON a.dest = t.dest AND a.ord = o.ord
$$;
COMMENT ON FUNCTION roads.times_matrix_in_box(geometry[], geometry[], geometry) IS
    'Internal (roads.times_matrix): the times of roads.times_matrix over the edges inside box '
    'only, and whether each origin snapped onto the roads; no rows for a destination off the '
    'roads.';

CREATE OR REPLACE FUNCTION roads.times_matrix(destinations geometry[], origins geometry[])
RETURNS TABLE (dest integer, ord integer, seconds double precision)
LANGUAGE plpgsql
STABLE
AS $$
DECLARE
    box     geometry;
    dests   integer[];
    ords    integer[];
    times   double precision[];
    missed  boolean;
BEGIN
    IF coalesce(cardinality(origins), 0) = 0 OR coalesce(cardinality(destinations), 0) = 0 THEN
        RETURN;
    END IF;
    -- The box first; an origin on the roads that the box could not route to a destination (its
    -- way round leaves the box) gets one more try with everyone in a box four times as wide
    -- (within the budget).
    FOR widen IN 1..2 LOOP
        box := roads.routing_box(origins || destinations, CASE widen WHEN 1 THEN 1 ELSE 4 END);
        EXIT WHEN box IS NULL;
        SELECT array_agg(x.dest), array_agg(x.ord), array_agg(x.seconds),
               bool_or(x.seconds IS NULL AND x.snapped)
          INTO dests, ords, times, missed
          FROM roads.times_matrix_in_box(destinations, origins, box) x;
        EXIT WHEN NOT missed OR missed IS NULL;
    END LOOP;
    IF dests IS NULL THEN
        RETURN;
    END IF;
    RETURN QUERY SELECT * FROM unnest(dests, ords, times);
END;
$$;
COMMENT ON FUNCTION roads.times_matrix(geometry[], geometry[]) IS
    'Driving time in seconds from each origin (ord = its 1-based index) to each destination '
    '(dest = its index) over the road graphs, snap legs included, in one routing call: seconds '
    'NULL for an origin off the roads or unable to reach it; no rows for a destination off every '
    'graph, and none at all when the routing box is over budget (roads_max_edges).';

CREATE OR REPLACE FUNCTION roads.times_to(destination geometry, origins geometry[])
RETURNS TABLE (ord integer, seconds double precision)
LANGUAGE sql
STABLE
AS $$
    SELECT m.ord, m.seconds FROM roads.times_matrix(ARRAY[destination], origins) m ORDER BY m.ord
$$;
COMMENT ON FUNCTION roads.times_to(geometry, geometry[]) IS
    'Driving time in seconds from each origin (ord = its 1-based index) to the destination over '
    'the road graphs, snap legs included (roads.times_matrix with one destination); seconds NULL '
    'for an origin off the roads or unable to reach it. No rows when the destination is off every '
    'graph or the routing box is over budget.';

CREATE OR REPLACE FUNCTION roads.route(
    origin geometry,
    destination geometry,
    OUT seconds double precision,
    OUT metres double precision
)
LANGUAGE plpgsql
STABLE
AS $$
DECLARE
    box geometry;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM roads.snap(origin))
       OR NOT EXISTS (SELECT 1 FROM roads.snap(destination)) THEN
        RETURN;
    END IF;
    FOR widen IN 1..2 LOOP
        box := roads.routing_box(ARRAY[origin, destination], CASE widen WHEN 1 THEN 1 ELSE 4 END);
        EXIT WHEN box IS NULL;
        SELECT r.seconds, r.metres INTO seconds, metres
          FROM roads.route_in_box(origin, destination, box) r;
        EXIT WHEN seconds IS NOT NULL;
    END LOOP;
END;
$$;
COMMENT ON FUNCTION roads.route(geometry, geometry) IS
    'The fastest drive from origin to destination over the road graphs: seconds and its length in '
    'metres (snap legs included); NULLs when either point is off the roads, the box is over '
    'budget, or no route exists (tried in a box four times as wide before saying so).';

CREATE OR REPLACE FUNCTION roads.route_in_box(
    origin geometry,
    destination geometry,
    box geometry,
    OUT seconds double precision,
    OUT metres double precision
)
LANGUAGE plpgsql
STABLE
AS $$
DECLARE
    a    record;
    b    record;
    walk double precision := dispatch.setting_numeric('roads_snap_speed_kmh') / 3.6;
BEGIN
    SELECT * INTO a FROM roads.snap(origin);
    SELECT * INTO b FROM roads.snap(destination);
    WITH exits AS (
        SELECT x.vid, x.c, x.m FROM (VALUES
            (a.target, CASE WHEN a.cost >= 0 THEN (1 - a.fraction) * a.cost END,
             (1 - a.fraction) * a.length_m),
            (a.source, CASE WHEN a.reverse_cost >= 0 THEN a.fraction * a.reverse_cost END,
             a.fraction * a.length_m)
        ) AS x(vid, c, m) WHERE x.c IS NOT NULL
    ), entries AS (
        SELECT y.vid, y.c, y.m FROM (VALUES
            (b.source, CASE WHEN b.cost >= 0 THEN b.fraction * b.cost END, b.fraction * b.length_m),
            (b.target, CASE WHEN b.reverse_cost >= 0 THEN (1 - b.fraction) * b.reverse_cost END,
             (1 - b.fraction) * b.length_m)
        ) AS y(vid, c, m) WHERE y.c IS NOT NULL
    ), legs AS (
        SELECT p.start_vid AS exit, p.end_vid AS entry, sum(p.cost) AS s,
               coalesce(sum(e.length_m), 0) AS m
        FROM pgr_dijkstra(
            format('SELECT id, source, target, cost, reverse_cost FROM roads.edges '
                   'WHERE main AND geom && %L::geometry', box),
            ARRAY(SELECT DISTINCT x.vid FROM exits x),
            ARRAY(SELECT DISTINCT y.vid FROM entries y),
            true) p
        LEFT JOIN roads.edges e ON e.id = p.edge
        GROUP BY p.start_vid, p.end_vid
        UNION ALL
        SELECT x.vid, x.vid, 0, 0 FROM exits x
    ), trips AS (
        SELECT x.c + l.s + y.c AS s, x.m + l.m + y.m AS m
        FROM exits x JOIN legs l ON l.exit = x.vid JOIN entries y ON y.vid = l.entry
        UNION ALL
        SELECT CASE WHEN a.fraction <= b.fraction AND a.cost >= 0
                        THEN (b.fraction - a.fraction) * a.cost
                    WHEN a.fraction >= b.fraction AND a.reverse_cost >= 0
                        THEN (a.fraction - b.fraction) * a.reverse_cost
               END,
               abs(b.fraction - a.fraction) * a.length_m
        WHERE a.edge_id = b.edge_id
    )
    SELECT (a.snap_m + b.snap_m) / walk + t.s, a.snap_m + b.snap_m + t.m
      INTO seconds, metres
      FROM trips t
     WHERE t.s IS NOT NULL
     ORDER BY t.s
     LIMIT 1;
END;
$$;
COMMENT ON FUNCTION roads.route_in_box(geometry, geometry, geometry) IS
    'Internal (roads.route): the fastest drive between two snapped points over the edges inside '
    'box only.';
