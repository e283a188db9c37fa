-- position_history becomes range-partitioned by recorded_at, one partition per UTC day, so that
-- retention drops whole partitions (dispatch.maintain_position_history) instead of DELETEing rows.
-- Existing rows are kept. Plain SQL partition management (no pg_partman / pg_cron): the engine also
-- runs against an external DATABASE_URL that may not offer those extensions.

INSERT INTO dispatch.settings (key, value, description) VALUES
    ('position_history_retention_days', '30',
     'Days of position history kept: older daily partitions are dropped by '
     'dispatch.maintain_position_history.'),
    ('position_history_premake_days', '2',
     'Daily partitions of position history created ahead of today.')
ON CONFLICT (key) DO NOTHING;

ALTER TABLE dispatch.position_history RENAME TO position_history_old;
ALTER INDEX dispatch.position_history_pkey RENAME TO position_history_old_pkey;
ALTER INDEX dispatch.position_history_user_idx RENAME TO position_history_old_user_idx;

-- Identity columns are not allowed on partitioned tables before PostgreSQL 17: a plain sequence.
CREATE SEQUENCE dispatch.position_history_seq AS bigint CACHE 64;

CREATE TABLE dispatch.position_history (
    id          bigint NOT NULL DEFAULT nextval('dispatch.position_history_seq'),
    user_id     bigint NOT NULL REFERENCES dispatch.users (id) ON DELETE CASCADE,
    geog        geography(Point, 4326) NOT NULL,
    h3_r9       bigint NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    -- From telematics batches (km/h, degrees clockwise from north); NULL for other sources.
    speed_kmh   real,
    heading_deg real,
    CONSTRAINT position_history_pkey PRIMARY KEY (id, recorded_at)
) PARTITION BY RANGE (recorded_at);
ALTER SEQUENCE dispatch.position_history_seq OWNED BY dispatch.position_history.id;
COMMENT ON TABLE dispatch.position_history IS
    'Every stored position (WebSocket frames, REST updates, telematics points), one partition per '
    'UTC day (position_history_pYYYYMMDD) plus a default partition that catches rows no daily '
    'partition covers; dispatch.maintain_position_history creates and drops partitions.';
CREATE INDEX position_history_user_idx ON dispatch.position_history (user_id, recorded_at DESC);

-- The safety net: a write never fails because maintenance has not run. Maintenance moves rows
-- found here into their daily partition when it creates it.
CREATE TABLE dispatch.position_history_default PARTITION OF dispatch.position_history DEFAULT;

-- Daily partitions from the oldest existing row (within retention) to two days ahead.
DO $$
DECLARE
    day date;
    first_day date := greatest(
        coalesce((SELECT min(recorded_at) FROM dispatch.position_history_old), now())
            AT TIME ZONE 'UTC',
        (now() AT TIME ZONE 'UTC') - interval '30 days')::date;
BEGIN
    FOR day IN SELECT generate_series(first_day, (now() AT TIME ZONE 'UTC')::date + 2, '1 day')::date
    LOOP
        EXECUTE format(
            'CREATE TABLE dispatch.%I PARTITION OF dispatch.position_history '
            'FOR VALUES FROM (%L) TO (%L)',
            'position_history_p' || to_char(day, 'YYYYMMDD'),
            (day::timestamp AT TIME ZONE 'UTC'), ((day + 1)::timestamp AT TIME ZONE 'UTC'));
    END LOOP;
END;
$$;

-- Rows older than 30 days land in the default partition; maintenance moves them into partitions of
-- their own and drops those at its next run.
INSERT INTO dispatch.position_history (id, user_id, geog, h3_r9, recorded_at)
SELECT id, user_id, geog, h3_r9, recorded_at FROM dispatch.position_history_old;
SELECT setval('dispatch.position_history_seq',
              greatest((SELECT max(id) FROM dispatch.position_history_old), 0) + 1, false);
DROP TABLE dispatch.position_history_old;
