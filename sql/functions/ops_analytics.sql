-- Analysts (contract "Analysts (SQL)"): demand and idle supply per H3 cell and hour, time to
-- accept per day and cell, the offer funnel per round, assistant utilisation per day, and the
-- per-cell figures of `dispatch export heatmap`. Days and hours are UTC. Cells are H3 indexes as
-- bigint (h3.str_to_int); resolutions 7 and 8.

CREATE OR REPLACE FUNCTION dispatch.h3_parent(cell bigint, resolution integer)
RETURNS bigint
LANGUAGE sql
IMMUTABLE
PARALLEL SAFE
AS $$
    -- An H3 index holds its resolution in bits 52-55 and one 3-bit digit per resolution below
    -- the base cell; a parent is the same index with a coarser resolution and its finer digits
    -- set to 7 ("unused"). Pure bit work: no H3 extension needed.
    SELECT (cell & ~(15::bigint << 52)) | (resolution::bigint << 52)
           | ((1::bigint << (3 * (15 - resolution))) - 1)
$$;
COMMENT ON FUNCTION dispatch.h3_parent(bigint, integer) IS
    'The H3 parent (as bigint) of an H3 cell at a coarser resolution, e.g. the r7 cell of a stored '
    'r9 cell: h3_parent(h3_r9, 7). The resolution must not be finer than the cell''s.';

CREATE OR REPLACE FUNCTION dispatch.check_resolution(resolution integer)
RETURNS void
LANGUAGE plpgsql
IMMUTABLE
AS $$
BEGIN
    IF resolution IS NULL OR resolution NOT IN (7, 8) THEN
        RAISE EXCEPTION 'The H3 resolution must be 7 or 8.' USING ERRCODE = 'DP048';
    END IF;
END;
$$;
COMMENT ON FUNCTION dispatch.check_resolution(integer) IS
    'Raise DP048 unless the resolution is one the analyst functions keep figures for (7 or 8).';

CREATE OR REPLACE FUNCTION dispatch.cell_demand_supply(
    resolution integer,
    since timestamptz,
    until timestamptz DEFAULT now()
)
RETURNS TABLE (
    cell bigint,
    hour timestamptz,
    requests bigint,
    accepted bigint,
    exhausted bigint,
    unserved bigint,
    idle_assistants bigint
)
LANGUAGE plpgsql
STABLE
AS $$
#variable_conflict use_column
BEGIN
    PERFORM dispatch.check_resolution(resolution);
    RETURN QUERY
    WITH demand AS (
        SELECT CASE cell_demand_supply.resolution WHEN 7 THEN r.pickup_h3_r7 ELSE r.pickup_h3_r8 END AS cell,
               date_trunc('hour', r.created_at, 'UTC') AS hour,
               count(*) AS requests,
               count(r.accepted_at) AS accepted,
               count(r.exhausted_at) AS exhausted,
               count(*) FILTER (WHERE r.status = 'canceled' AND r.accepted_at IS NULL) AS unserved
        FROM dispatch.assistance_requests r
        WHERE r.created_at >= since AND r.created_at < until
        GROUP BY 1, 2
    ), idle_samples AS (
        -- Position reports of assistants who were active and had no job at that moment.
        SELECT h.user_id, dispatch.h3_parent(h.h3_r9, cell_demand_supply.resolution) AS cell,
               date_trunc('hour', h.recorded_at, 'UTC') AS hour
        FROM dispatch.position_history h
        JOIN dispatch.assistants a ON a.user_id = h.user_id
        WHERE h.recorded_at >= since AND h.recorded_at < until
          AND coalesce((SELECT x.is_active FROM dispatch.assistant_activity x
                         WHERE x.assistant_id = h.user_id AND x.at <= h.recorded_at
                         ORDER BY x.at DESC, x.id DESC LIMIT 1), false)
          AND NOT EXISTS (SELECT 1 FROM dispatch.assistance_requests j
                          WHERE j.assistant_id = h.user_id AND j.accepted_at <= h.recorded_at
                            AND coalesce(j.completed_at, j.canceled_at, 'infinity') > h.recorded_at)
    ), supply AS (
        SELECT s.cell, s.hour, count(DISTINCT s.user_id) AS idle_assistants
        FROM idle_samples s GROUP BY 1, 2
    )
    SELECT coalesce(d.cell, s.cell), coalesce(d.hour, s.hour),
           coalesce(d.requests, 0), coalesce(d.accepted, 0), coalesce(d.exhausted, 0),
           coalesce(d.unserved, 0), coalesce(s.idle_assistants, 0)
    FROM demand d FULL JOIN supply s ON s.cell = d.cell AND s.hour = d.hour
    WHERE coalesce(d.cell, s.cell) IS NOT NULL
    ORDER BY 2, 1;
END;
$$;
COMMENT ON FUNCTION dispatch.cell_demand_supply(integer, timestamptz, timestamptz) IS
    'Demand and idle supply per H3 cell (resolution 7 or 8) and UTC hour in [since, until): '
    'requests made (by pickup cell), accepted, exhausted, unserved (canceled before any accept), '
    'and idle_assistants: distinct assistants who reported a position in the cell that hour while '
    'active and without a job. DP048 for another resolution.';

CREATE OR REPLACE FUNCTION dispatch.time_to_accept(
    resolution integer,
    since timestamptz,
    until timestamptz DEFAULT now()
)
RETURNS TABLE (
    day date,
    cell bigint,
    requests bigint,
    accepted bigint,
    p50_s double precision,
    p90_s double precision,
    p95_s double precision,
    max_s double precision
)
LANGUAGE plpgsql
STABLE
AS $$
#variable_conflict use_column
BEGIN
    PERFORM dispatch.check_resolution(resolution);
    RETURN QUERY
    SELECT (r.created_at AT TIME ZONE 'UTC')::date,
           CASE time_to_accept.resolution WHEN 7 THEN r.pickup_h3_r7 ELSE r.pickup_h3_r8 END,
           count(*),
           count(r.accepted_at),
           percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM r.accepted_at - r.created_at)::float8),
           percentile_cont(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM r.accepted_at - r.created_at)::float8),
           percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM r.accepted_at - r.created_at)::float8),
           max(extract(epoch FROM r.accepted_at - r.created_at)::float8)
    FROM dispatch.assistance_requests r
    WHERE r.created_at >= since AND r.created_at < until
      AND CASE time_to_accept.resolution WHEN 7 THEN r.pickup_h3_r7 ELSE r.pickup_h3_r8 END IS NOT NULL
    GROUP BY 1, 2
    ORDER BY 1, 2;
END;
$$;
COMMENT ON FUNCTION dispatch.time_to_accept(integer, timestamptz, timestamptz) IS
    'Time from request to accept (or dispatcher assign) per UTC day and H3 cell (resolution 7 or '
    '8) of requests made in [since, until): requests, accepted, and the 50th/90th/95th percentile '
    'and maximum in seconds over the accepted ones (NULL when none was). DP048 for another resolution.';

CREATE OR REPLACE VIEW dispatch.offer_funnel AS
SELECT (o.sent_at AT TIME ZONE 'UTC')::date AS day,
       o.round,
       count(*) AS sent,
       count(*) FILTER (WHERE o.state = 'declined') AS declined,
       count(*) FILTER (WHERE o.state = 'expired') AS expired,
       count(*) FILTER (WHERE o.state = 'accepted') AS accepted,
       count(*) FILTER (WHERE o.state = 'withdrawn') AS withdrawn,
       count(*) FILTER (WHERE o.state = 'open') AS open,
       round(count(*) FILTER (WHERE o.state = 'accepted')::numeric / count(*), 3) AS accept_rate
FROM dispatch.offers o
GROUP BY 1, 2;
COMMENT ON VIEW dispatch.offer_funnel IS
    'The offer funnel per UTC day and round: offers sent, and how they ended (declined, expired, '
    'accepted, withdrawn because someone else took the job or it was canceled, still open), with '
    'the share accepted. Sum over days for the funnel per round.';

CREATE OR REPLACE FUNCTION dispatch.assistant_utilisation(since date, until date)
RETURNS TABLE (
    day date,
    assistant_id bigint,
    name text,
    online_minutes double precision,
    on_job_minutes double precision,
    idle_minutes double precision,
    jobs bigint,
    offers bigint,
    offers_accepted bigint,
    acceptance_rate numeric
)
LANGUAGE sql
STABLE
AS $$
    WITH days AS (
        SELECT d::date AS day,
               tstzrange(d AT TIME ZONE 'UTC', (d + interval '1 day') AT TIME ZONE 'UTC') AS span
        FROM generate_series(since::timestamp, (until - 1)::timestamp, interval '1 day') AS d
    ), activity AS (
        SELECT x.assistant_id, x.is_active, x.at,
               lead(x.at) OVER (PARTITION BY x.assistant_id ORDER BY x.at, x.id) AS next_at
        FROM dispatch.assistant_activity x
    ), online AS (
        SELECT a.assistant_id, tstzrange(a.at, coalesce(a.next_at, now())) AS span
        FROM activity a WHERE a.is_active AND a.at < coalesce(a.next_at, now())
    ), on_job AS (
        SELECT r.assistant_id, tstzrange(r.accepted_at,
                                         greatest(r.accepted_at, coalesce(r.completed_at, r.canceled_at, now()))) AS span
        FROM dispatch.assistance_requests r
        WHERE r.assistant_id IS NOT NULL AND r.accepted_at IS NOT NULL
    ), offer_days AS (
        -- Offers sent in the period, per assistant and UTC day, in one pass. An offer sent after
        -- the period starts expires after it too: the expiry index bounds the scan (no index on
        -- the send time is kept up on the hot path for this).
        SELECT o.assistant_id, (o.sent_at AT TIME ZONE 'UTC')::date AS day,
               count(*) AS offers,
               count(*) FILTER (WHERE o.state = 'accepted') AS accepted,
               count(*) FILTER (WHERE o.state IN ('accepted', 'declined', 'expired')) AS answered
        FROM dispatch.offers o
        WHERE o.expires_at > since::timestamp AT TIME ZONE 'UTC'
          AND o.sent_at >= since::timestamp AT TIME ZONE 'UTC'
          AND o.sent_at < until::timestamp AT TIME ZONE 'UTC'
        GROUP BY 1, 2
    ), figures AS (
        SELECT d.day, s.user_id AS assistant_id, u.name,
               coalesce((SELECT sum(extract(epoch FROM upper(o.span * d.span) - lower(o.span * d.span)))
                         FROM online o WHERE o.assistant_id = s.user_id AND o.span && d.span), 0) / 60
                   AS online_minutes,
               coalesce((SELECT sum(extract(epoch FROM upper(j.span * d.span) - lower(j.span * d.span)))
                         FROM on_job j WHERE j.assistant_id = s.user_id AND j.span && d.span), 0) / 60
                   AS on_job_minutes,
               (SELECT count(*) FROM dispatch.assistance_requests r
                 WHERE r.assistant_id = s.user_id AND r.accepted_at <@ d.span) AS jobs,
               coalesce(od.offers, 0) AS offers,
               coalesce(od.accepted, 0) AS offers_accepted,
               coalesce(od.answered, 0) AS offers_answered
        FROM days d
        CROSS JOIN dispatch.assistants s
        JOIN dispatch.users u ON u.id = s.user_id
        LEFT JOIN offer_days od ON od.assistant_id = s.user_id AND od.day = d.day
    )
    SELECT f.day, f.assistant_id, f.name,
           round(f.online_minutes::numeric, 1)::float8,
           round(f.on_job_minutes::numeric, 1)::float8,
           round(greatest(f.online_minutes - f.on_job_minutes, 0)::numeric, 1)::float8,
           f.jobs, f.offers, f.offers_accepted,
           round(f.offers_accepted::numeric / nullif(f.offers_answered, 0), 3)
    FROM figures f
    WHERE f.online_minutes > 0 OR f.on_job_minutes > 0 OR f.jobs > 0 OR f.offers > 0
    ORDER BY f.day, f.assistant_id
$$;
COMMENT ON FUNCTION dispatch.assistant_utilisation(date, date) IS
    'Per UTC day in [since, until) and assistant with any activity: minutes online (active), on a '
    'job (accepted to completed/canceled), idle (online minus on a job), jobs taken that day, '
    'offers received and accepted, and the acceptance rate (accepted / answered or expired offers; '
    'NULL without any).';

CREATE OR REPLACE FUNCTION dispatch.heatmap(
    resolution integer,
    since timestamptz,
    until timestamptz DEFAULT now()
)
RETURNS TABLE (
    cell bigint,
    requests bigint,
    accepted bigint,
    exhausted bigint,
    unserved bigint,
    idle_assistant_hours bigint,
    peak_idle_assistants bigint,
    p50_accept_s double precision,
    p90_accept_s double precision
)
LANGUAGE sql
STABLE
AS $$
    WITH hourly AS (
        SELECT * FROM dispatch.cell_demand_supply(resolution, since, until)
    ), waits AS (
        SELECT CASE heatmap.resolution WHEN 7 THEN r.pickup_h3_r7 ELSE r.pickup_h3_r8 END AS cell,
               extract(epoch FROM r.accepted_at - r.created_at)::float8 AS secs
        FROM dispatch.assistance_requests r
        WHERE r.created_at >= since AND r.created_at < until AND r.accepted_at IS NOT NULL
    ), per_cell_waits AS (
        SELECT w.cell, percentile_cont(0.5) WITHIN GROUP (ORDER BY w.secs) AS p50,
               percentile_cont(0.9) WITHIN GROUP (ORDER BY w.secs) AS p90
        FROM waits w WHERE w.cell IS NOT NULL GROUP BY 1
    )
    SELECT h.cell, sum(h.requests)::bigint, sum(h.accepted)::bigint, sum(h.exhausted)::bigint,
           sum(h.unserved)::bigint, sum(h.idle_assistants)::bigint, max(h.idle_assistants),
           w.p50, w.p90
    FROM hourly h LEFT JOIN per_cell_waits w ON w.cell = h.cell
    GROUP BY h.cell, w.p50, w.p90
    ORDER BY h.cell
$$;
COMMENT ON FUNCTION dispatch.heatmap(integer, timestamptz, timestamptz) IS
    'Per H3 cell (resolution 7 or 8) over [since, until): requests, accepted, exhausted, unserved, '
    'idle assistant-hours (sum over hours of dispatch.cell_demand_supply''s idle_assistants), the '
    'peak idle assistants in one hour, and the median and 90th percentile time to accept in '
    'seconds. What `dispatch export heatmap` writes as GeoJSON. DP048 for another resolution.';
