-- Roads: routable car graphs imported from OpenStreetMap (`dispatch roads import`), one region
-- per import, side by side. Matching ranks candidates by travel time over them where a region
-- covers the pickup (sql/functions/roads.sql); without a region nothing changes.
-- Why our own importer and these speeds: docs/decisions/0008-road-graph.md.

-- pgRouting when the server has it: a server without it still migrates, imports nothing, and
-- every ETA is a straight-line one.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'pgrouting') THEN
        CREATE EXTENSION IF NOT EXISTS pgrouting;
    END IF;
END;
$$;

CREATE SCHEMA IF NOT EXISTS roads;

INSERT INTO dispatch.settings (key, value, description) VALUES
    ('straight_line_speed_kmh', '20',
     'Average speed over the straight line (detours included) of a straight-line ETA, km/h.'),
    ('roads_snap_max_m', '250',
     'A point farther than this from a region''s road network (metres) is not covered by it.'),
    ('roads_snap_speed_kmh', '10',
     'Speed of the leg between a point and its snap onto the road network, km/h.'),
    ('roads_box_margin_m', '1000',
     'Roads loaded for one routing call: the box around its points widened by this, metres.'),
    ('roads_preselect_factor', '3',
     'Road ranking re-orders this many times N straight-line nearest candidates by travel time.'),
    ('roads_max_edges', '60000',
     'The work budget of one routing call: more edges estimated in its box and it ranks by the '
     'straight line instead (eta_source straight_line).'),
    ('roads_time_budget_ms', '100',
     'A routing call slower than this pauses road ranking on its database session for '
     'roads_pause_s (straight-line ETAs meanwhile).'),
    ('roads_pause_s', '30',
     'How long road ranking pauses on a session after a routing call over roads_time_budget_ms, s.'),
    ('eta_refresh_s', '5',
     'How often the ETA of an accepted job''s assistant is recomputed from their positions, s.')
ON CONFLICT (key) DO NOTHING;

CREATE TABLE roads.regions (
    id          integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name        text NOT NULL CONSTRAINT regions_name_key UNIQUE
                    CONSTRAINT regions_name_check CHECK (name ~ '^[a-z0-9][a-z0-9_-]{0,39}$'),
    source      text NOT NULL,
    sha256      text NOT NULL,
    imported_at timestamptz NOT NULL DEFAULT now(),
    edges       integer NOT NULL CHECK (edges >= 0),
    vertices    integer NOT NULL CHECK (vertices >= 0),
    area        geometry(Polygon, 4326) NOT NULL,
    area_km2    double precision NOT NULL CHECK (area_km2 >= 0)
);
COMMENT ON TABLE roads.regions IS
    'One imported road graph: its source file, size, and the area it covers (the convex hull of '
    'its routable piece). A pickup inside an area, within roads_snap_max_m of its roads, is '
    'ranked by travel time.';
CREATE INDEX regions_area_idx ON roads.regions USING gist (area);

CREATE TABLE roads.vertices (
    id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    region_id integer NOT NULL REFERENCES roads.regions (id) ON DELETE CASCADE,
    osm_node  bigint NOT NULL,
    main      boolean NOT NULL DEFAULT false,
    geom      geometry(Point, 4326) NOT NULL
);
COMMENT ON TABLE roads.vertices IS
    'Road graph vertices: OSM nodes where car ways meet or end. main: in the region''s largest '
    'strongly connected piece, the only one points are snapped to (elsewhere pairs can be '
    'unreachable).';
COMMENT ON COLUMN roads.vertices.id IS 'Unique across regions, so regions can be routed together.';
CREATE INDEX vertices_region_idx ON roads.vertices (region_id);

CREATE TABLE roads.edges (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    region_id    integer NOT NULL REFERENCES roads.regions (id) ON DELETE CASCADE,
    source       bigint NOT NULL REFERENCES roads.vertices (id) ON DELETE CASCADE,
    target       bigint NOT NULL REFERENCES roads.vertices (id) ON DELETE CASCADE,
    cost         double precision NOT NULL
                     CONSTRAINT edges_cost_check CHECK (cost = -1 OR (cost >= 0 AND cost < 1e6)),
    reverse_cost double precision NOT NULL
                     CONSTRAINT edges_reverse_cost_check
                     CHECK (reverse_cost = -1 OR (reverse_cost >= 0 AND reverse_cost < 1e6)),
    length_m     double precision NOT NULL CHECK (length_m >= 0 AND length_m < 1e6),
    highway      text NOT NULL,
    osm_way      bigint NOT NULL,
    main         boolean NOT NULL DEFAULT false,
    geom         geometry(LineString, 4326) NOT NULL,
    CONSTRAINT edges_direction_check CHECK (cost >= 0 OR reverse_cost >= 0)
);
COMMENT ON TABLE roads.edges IS
    'Road graph edges (pgRouting''s shape): a piece of an OSM car way between two vertices, '
    'drawn from source to target. main: both ends in the region''s largest strongly connected '
    'piece.';
COMMENT ON COLUMN roads.edges.cost IS
    'Seconds to drive from source to target at the way''s speed; -1 where one-way forbids it.';
COMMENT ON COLUMN roads.edges.reverse_cost IS
    'Seconds to drive from target to source; -1 where one-way forbids it.';
CREATE INDEX edges_geom_idx ON roads.edges USING gist (geom) WHERE main;
CREATE INDEX edges_region_idx ON roads.edges (region_id);
-- Dropping a region cascades from its vertices to the edges naming them: without these, one scan of
-- the edges per vertex (minutes on a large graph).
CREATE INDEX edges_source_idx ON roads.edges (source);
CREATE INDEX edges_target_idx ON roads.edges (target);

-- What matching and the jobs keep of travel times (sql/functions/roads.sql ranks, offers.sql
-- records): each offer's ETA, the accepted assistant's current ETA, and which distance priced
-- the trip.
ALTER TABLE dispatch.offers
    ADD COLUMN eta_s integer CONSTRAINT offers_eta_s_check CHECK (eta_s >= 0),
    ADD COLUMN eta_source text CONSTRAINT offers_eta_source_check
        CHECK (eta_source IN ('road', 'straight_line'));
COMMENT ON COLUMN dispatch.offers.eta_s IS
    'The assistant''s travel time to the pickup when offered, seconds (eta_source: by road or by '
    'the straight line at straight_line_speed_kmh).';

ALTER TABLE dispatch.assistance_requests
    ADD COLUMN eta_s integer CONSTRAINT assistance_requests_eta_s_check CHECK (eta_s >= 0),
    ADD COLUMN eta_source text CONSTRAINT assistance_requests_eta_source_check
        CHECK (eta_source IN ('road', 'straight_line')),
    ADD COLUMN eta_at timestamptz,
    ADD COLUMN distance_source text NOT NULL DEFAULT 'straight_line'
        CONSTRAINT assistance_requests_distance_source_check
        CHECK (distance_source IN ('road', 'straight_line'));
COMMENT ON COLUMN dispatch.assistance_requests.eta_s IS
    'While accepted: the assistant''s travel time to the pickup, seconds, as of eta_at '
    '(refreshed from their positions every eta_refresh_s by dispatch.refresh_etas).';
ALTER TABLE dispatch.assistance_requests ADD COLUMN arrivals_key integer;
COMMENT ON COLUMN dispatch.assistance_requests.arrivals_key IS
    'Where road ranking applies: a hash of the straight-line preselection (who, and when each last '
    'moved) at the round''s last look for arrivals; an unchanged one needs no new routing call.';
COMMENT ON COLUMN dispatch.assistance_requests.distance_source IS
    'Which pickup-to-dropoff distance priced the trip: road (the fastest route''s length over an '
    'imported graph) or straight_line (geodesic).';
CREATE INDEX assistance_requests_eta_idx ON dispatch.assistance_requests (eta_at)
    WHERE status = 'accepted';
