-- Positions: the latest position of every user (with the matchable flag that matching reads),
-- idle supply per H3 cell, and the trail of every stored position in daily partitions.
-- Why matchable and cell_supply are kept by triggers: docs/decisions/0004-matchable-and-cell-supply.md;
-- why position history is partitioned as it is: docs/decisions/0005-position-history-partitions.md.

INSERT INTO dispatch.settings (key, value, description) VALUES
    ('matching_radius_m', '10000', 'Default search radius of dispatch.nearby_assistants, metres.'),
    ('matching_max_results', '10', 'Default number of assistants dispatch.nearby_assistants returns.'),
    ('position_history_retention_days', '30',
     'Days of position history kept: older daily partitions are dropped by '
     'dispatch.maintain_position_history.'),
    ('position_history_premake_days', '2',
     'Daily partitions of position history created ahead of today.')
ON CONFLICT (key) DO NOTHING;

CREATE TABLE dispatch.positions (
    user_id    bigint PRIMARY KEY REFERENCES dispatch.users (id) ON DELETE CASCADE,
    geog       geography(Point, 4326) NOT NULL,
    h3_r7      bigint NOT NULL,
    h3_r8      bigint NOT NULL,
    h3_r9      bigint NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    matchable  boolean NOT NULL DEFAULT false
);
COMMENT ON TABLE dispatch.positions IS
    'One row per user, updated in place: the latest known position with its H3 cells (computed by '
    'the application with the h3 package, stored as bigint). Writers date a position at most at the '
    'statement''s time: a telematics point ahead of the clock must not make later fixes look older.';
COMMENT ON COLUMN dispatch.positions.matchable IS
    'The position belongs to an assistant who is active, not disabled and has no open job (the '
    'licence date is checked at query time). Kept by triggers on every table that decides it '
    '(sql/functions/matchable.sql); dispatch.refresh_matchable recomputes it.';
CREATE INDEX positions_geog_idx ON dispatch.positions USING gist (geog);
CREATE INDEX positions_h3_r7_idx ON dispatch.positions (h3_r7);
CREATE INDEX positions_h3_r8_idx ON dispatch.positions (h3_r8);
CREATE INDEX positions_h3_r9_idx ON dispatch.positions (h3_r9);
CREATE INDEX positions_matchable_geog_idx ON dispatch.positions USING gist (geog) WHERE matchable;
COMMENT ON INDEX dispatch.positions_matchable_geog_idx IS
    'KNN matching over matchable positions only: skips the ~70% of positions that could never be '
    'offered a job (clients, inactive or busy assistants).';

CREATE TABLE dispatch.cell_supply (
    h3_r7           bigint PRIMARY KEY,
    idle_assistants integer NOT NULL
);
COMMENT ON TABLE dispatch.cell_supply IS
    'Matchable assistants (active, not disabled, no open job, positioned) per H3 r7 cell, kept by '
    'triggers on dispatch.positions; dispatch.refresh_cell_supply() re-counts it from scratch.';

-- Identity columns are not allowed on partitioned tables before PostgreSQL 17: a plain sequence.
CREATE SEQUENCE dispatch.position_history_seq AS bigint CACHE 64;

CREATE TABLE dispatch.position_history (
    id          bigint NOT NULL DEFAULT nextval('dispatch.position_history_seq'),
    user_id     bigint NOT NULL REFERENCES dispatch.users (id) ON DELETE CASCADE,
    geog        geography(Point, 4326) NOT NULL,
    h3_r9       bigint NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    speed_kmh   real,
    heading_deg real,
    CONSTRAINT position_history_pkey PRIMARY KEY (id, recorded_at)
) PARTITION BY RANGE (recorded_at);
ALTER SEQUENCE dispatch.position_history_seq OWNED BY dispatch.position_history.id;
COMMENT ON TABLE dispatch.position_history IS
    'Every stored position (WebSocket frames, REST updates, telematics points), one partition per '
    'UTC day (position_history_pYYYYMMDD) plus a default partition that catches rows no daily '
    'partition covers; dispatch.maintain_position_history creates and drops partitions.';
COMMENT ON COLUMN dispatch.position_history.speed_kmh IS
    'From telematics batches (km/h); NULL for other sources.';
COMMENT ON COLUMN dispatch.position_history.heading_deg IS
    'From telematics batches (degrees clockwise from north); NULL for other sources.';
ALTER TABLE dispatch.position_history
    ADD CONSTRAINT position_history_user_recorded_key UNIQUE (user_id, recorded_at);
COMMENT ON CONSTRAINT position_history_user_recorded_key ON dispatch.position_history IS
    'One point per user and instant: writers insert with ON CONFLICT DO NOTHING, so a retried '
    'telematics batch stores nothing new and a tie keeps one point whole. Its index also serves '
    'the (user_id, recorded_at DESC) reads, scanned backwards.';
CREATE INDEX position_history_recorded_idx ON dispatch.position_history (recorded_at);

-- The safety net: a write never fails because maintenance has not run. Maintenance moves rows
-- found here into their daily partition when it creates it.
CREATE TABLE dispatch.position_history_default PARTITION OF dispatch.position_history DEFAULT;

-- Daily partitions from today to position_history_premake_days ahead; from then on
-- dispatch.maintain_position_history keeps them.
DO $$
DECLARE
    day date;
BEGIN
    FOR day IN
        SELECT generate_series(
                   (now() AT TIME ZONE 'UTC')::date,
                   (now() AT TIME ZONE 'UTC')::date
                       + (SELECT value::int FROM dispatch.settings
                           WHERE key = 'position_history_premake_days'),
                   '1 day')::date
    LOOP
        EXECUTE format(
            'CREATE TABLE dispatch.%I PARTITION OF dispatch.position_history '
            'FOR VALUES FROM (%L) TO (%L)',
            'position_history_p' || to_char(day, 'YYYYMMDD'),
            (day::timestamp AT TIME ZONE 'UTC'), ((day + 1)::timestamp AT TIME ZONE 'UTC'));
    END LOOP;
END;
$$;
