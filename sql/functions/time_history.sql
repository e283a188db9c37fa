-- Position history over time: daily partitions created ahead and dropped after the retention,
-- telematics points, and a job's track as GeoJSON.

CREATE OR REPLACE FUNCTION dispatch.position_history_partition(day date)
RETURNS text
LANGUAGE plpgsql
VOLATILE
AS $$
DECLARE
    name text := 'position_history_p' || to_char(day, 'YYYYMMDD');
    lo   timestamptz := day::timestamp AT TIME ZONE 'UTC';
    hi   timestamptz := (day + 1)::timestamp AT TIME ZONE 'UTC';
BEGIN
    IF to_regclass('dispatch.' || name) IS NOT NULL THEN
        RETURN NULL;
    END IF;
    -- Built detached and then attached: CREATE TABLE ... PARTITION OF would take an ACCESS
    -- EXCLUSIVE lock on the parent and stall the position writer; ATTACH takes a weaker one.
    EXECUTE format('CREATE TABLE dispatch.%I (LIKE dispatch.position_history '
                   'INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', name);
    -- Rows of that day caught by the default partition move into it (no insert can add more
    -- meanwhile: the caller holds the default partition locked).
    EXECUTE format('WITH moved AS (DELETE FROM dispatch.position_history_default '
                   'WHERE recorded_at >= %L AND recorded_at < %L RETURNING *) '
                   'INSERT INTO dispatch.%I SELECT * FROM moved', lo, hi, name);
    EXECUTE format('ALTER TABLE dispatch.position_history ATTACH PARTITION dispatch.%I '
                   'FOR VALUES FROM (%L) TO (%L)', name, lo, hi);
    RETURN name;
END;
$$;
COMMENT ON FUNCTION dispatch.position_history_partition(date) IS
    'Internal: create and attach the daily partition of position history for a UTC day (moving '
    'its rows out of the default partition); NULL when it exists already.';

CREATE OR REPLACE FUNCTION dispatch.maintain_position_history(
    retention_days integer DEFAULT NULL,
    premake_days integer DEFAULT NULL,
    today date DEFAULT NULL
)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
AS $$
DECLARE
    keep    integer := coalesce(retention_days,
                                dispatch.setting_numeric('position_history_retention_days')::integer,
                                30);
    ahead   integer := coalesce(premake_days,
                                dispatch.setting_numeric('position_history_premake_days')::integer,
                                2);
    d       date := coalesce(today, (now() AT TIME ZONE 'UTC')::date);
    day     date;
    made    text;
    created text[] := '{}';
    dropped text[] := '{}';
    part    record;
BEGIN
    IF keep < 1 OR ahead < 0 THEN
        RAISE EXCEPTION 'retention_days must be at least 1 and premake_days not negative.'
            USING ERRCODE = 'DP009';
    END IF;
    -- One maintainer at a time across every server process; the others skip this round.
    IF NOT pg_try_advisory_xact_lock(hashtext('dispatch.maintain_position_history')) THEN
        RETURN NULL;
    END IF;
    -- Waiting behind a long query would queue every position write behind this job: give up and
    -- retry at the next round instead.
    SET LOCAL lock_timeout = '2s';
    -- Whole days older than the retention go as whole partitions: never a DELETE. First, so that
    -- the parent's lock (a DROP takes it exclusively) is taken before the default partition's,
    -- in the order every writer takes them: no deadlock with a write routed to the default.
    FOR part IN
        SELECT c.relname
          FROM pg_inherits i
          JOIN pg_class c ON c.oid = i.inhrelid
         WHERE i.inhparent = 'dispatch.position_history'::regclass
           AND c.relname ~ '^position_history_p[0-9]{8}$'
           AND to_date(substr(c.relname, 19), 'YYYYMMDD') < d - keep
         ORDER BY c.relname
    LOOP
        EXECUTE format('DROP TABLE dispatch.%I', part.relname);
        dropped := dropped || part.relname::text;
    END LOOP;

    LOCK TABLE dispatch.position_history_default IN EXCLUSIVE MODE;

    FOR day IN
        SELECT g::date FROM generate_series(d, d + ahead, interval '1 day') g
        UNION
        SELECT DISTINCT (h.recorded_at AT TIME ZONE 'UTC')::date FROM dispatch.position_history_default h
        ORDER BY 1
    LOOP
        made := dispatch.position_history_partition(day);
        IF made IS NOT NULL THEN
            created := created || made;
        END IF;
    END LOOP;
    RETURN jsonb_build_object('created', to_jsonb(created), 'dropped', to_jsonb(dropped));
END;
$$;
COMMENT ON FUNCTION dispatch.maintain_position_history(integer, integer, date) IS
    'Create the daily partitions of dispatch.position_history from today to premake_days ahead '
    '(and for any day found in the default partition, moving those rows), and drop the partitions '
    'of days older than retention_days (defaults: the settings position_history_retention_days and '
    'position_history_premake_days). Returns {created, dropped}; NULL when another session is '
    'maintaining. Every server process calls it every DISPATCH_HISTORY_MAINTENANCE_S seconds; '
    'it can also be scheduled with pg_cron where that exists.';

CREATE OR REPLACE FUNCTION dispatch.store_telematics(
    user_id bigint,
    lats double precision[],
    lngs double precision[],
    cells_r9 bigint[],
    recorded timestamptz[],
    speeds real[],
    headings real[]
)
RETURNS integer
LANGUAGE plpgsql
VOLATILE
AS $$
#variable_conflict use_column
DECLARE
    keep    integer := coalesce(dispatch.setting_numeric('position_history_retention_days')::integer,
                                30);
    oldest  timestamptz := now() - make_interval(days => keep);
    stale   jsonb;
    n       integer := cardinality(lats);
BEGIN
    -- Points the retention would drop at once are refused, each named by its index.
    SELECT jsonb_object_agg('points.' || (i - 1) || '.recorded_at',
                            jsonb_build_array(format('Older than the position history keeps (%s days).',
                                                     keep)))
      INTO stale
      FROM generate_subscripts(recorded, 1) i
     WHERE recorded[i] < oldest;
    IF stale IS NOT NULL THEN
        RAISE EXCEPTION 'Some points are too old.'
            USING ERRCODE = 'DP034', DETAIL = jsonb_build_object('fields', stale)::text;
    END IF;
    -- Every point goes to the history in one statement, speed and heading with it. One row per
    -- user and instant: of the batch's points sharing a recorded_at the last one is kept whole
    -- (the one the position path takes as the newest), and a point already stored (a retried
    -- batch) is left as it is.
    INSERT INTO dispatch.position_history (user_id, geog, h3_r9, recorded_at, speed_kmh, heading_deg)
    SELECT DISTINCT ON (recorded[i])
           store_telematics.user_id,
           ST_SetSRID(ST_MakePoint(lngs[i], lats[i]), 4326)::geography,
           cells_r9[i], recorded[i], speeds[i], headings[i]
      FROM generate_subscripts(recorded, 1) i
     ORDER BY recorded[i], i DESC
    ON CONFLICT ON CONSTRAINT position_history_user_recorded_key DO NOTHING;
    RETURN n;
END;
$$;
COMMENT ON FUNCTION dispatch.store_telematics(bigint, double precision[], double precision[],
    bigint[], timestamptz[], real[], real[]) IS
    'Internal (POST /api/telematics/): append a batch''s points to the position history in one '
    'statement, one row per user and recorded_at (the batch''s last point of an instant wins; an '
    'instant already stored is kept: a retried batch adds nothing). The caller then sends the '
    'newest point through the position path. DP034 names points older than the retention.';

CREATE OR REPLACE FUNCTION dispatch.assistance_track(assistance_id bigint, user_id bigint)
RETURNS jsonb
LANGUAGE plpgsql
STABLE
AS $$
DECLARE
    req    dispatch.assistance_requests;
    till   timestamptz;
    coords jsonb;
    times  jsonb;
BEGIN
    IF NOT dispatch.can_read_assistance(assistance_track.assistance_id, assistance_track.user_id) THEN
        RETURN NULL;
    END IF;
    SELECT * INTO req FROM dispatch.assistance_requests r WHERE r.id = assistance_track.assistance_id;
    till := coalesce(req.completed_at, req.canceled_at, 'infinity');
    -- The assistant's path from the accept to the end of the job: a finished job's path is not
    -- extended by the assistant's later movements.
    SELECT coalesce(jsonb_agg(jsonb_build_array(ST_X(h.geog::geometry), ST_Y(h.geog::geometry))
                              ORDER BY h.recorded_at), '[]'),
           coalesce(jsonb_agg(dispatch.iso_utc(h.recorded_at) ORDER BY h.recorded_at), '[]')
      INTO coords, times
      FROM dispatch.position_history h
     WHERE req.accepted_at IS NOT NULL
       AND h.user_id = req.assistant_id
       AND h.recorded_at >= req.accepted_at AND h.recorded_at <= till;
    -- A LineString has two or more positions: a single fix is drawn as a degenerate line.
    IF jsonb_array_length(coords) = 1 THEN
        coords := coords || coords;
        times := times || times;
    END IF;
    RETURN jsonb_build_object(
        'type', 'LineString',
        'coordinates', coords,
        'assistance_id', req.id,
        'assistant_id', req.assistant_id,
        'status', req.status,
        'started_at', dispatch.iso_utc(req.accepted_at),
        'ended_at', dispatch.iso_utc(coalesce(req.completed_at, req.canceled_at)),
        'timestamps', times);
END;
$$;
COMMENT ON FUNCTION dispatch.assistance_track(bigint, bigint) IS
    'The assistant''s path during a job (accepted until completed or canceled, or now) as a GeoJSON '
    'LineString ([lng, lat] positions, oldest first) with foreign members assistance_id, '
    'assistant_id, status, started_at, ended_at and timestamps (one per position); no positions '
    'before an accept. NULL unless the user is a party of the job or a dispatcher.';
