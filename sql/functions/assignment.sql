-- Batched optimal assignment (contract, "Offer policies"; docs/architecture/assignment.md). Under
-- offer_policy 'assignment' a new request waits for the next batch instead of round 1. A batch
-- reads the waiting requests and the idle eligible assistants and costs every candidate pair here
-- (dispatch.assignment_problems); the batch driver (dispatch/assistance/assignment.py) solves the
-- minimum-cost assignment and hands the solution back to dispatch.issue_assignment_batch, which
-- records the batch and sends its exclusive offers in the same transaction. Declined and expired
-- offers send the request back to the next batch; after assignment_max_batches it falls back to
-- the rounds (offers.sql).

CREATE OR REPLACE FUNCTION dispatch.offer_policy()
RETURNS text
LANGUAGE plpgsql
STABLE
AS $$
BEGIN
    RETURN coalesce((SELECT s.value #>> '{}' FROM dispatch.settings s WHERE s.key = 'offer_policy'),
                    'rounds');
END;
$$;
COMMENT ON FUNCTION dispatch.offer_policy() IS
    'The offer policy in force: rounds (default) or assignment (the settings row offer_policy).';

CREATE OR REPLACE FUNCTION dispatch.assignment_fall_back(request dispatch.assistance_requests)
RETURNS dispatch.assistance_requests
LANGUAGE plpgsql
VOLATILE
AS $$
DECLARE
    req dispatch.assistance_requests;
BEGIN
    UPDATE dispatch.assistance_requests r SET assigning = false, queued_at = NULL
     WHERE r.id = request.id
    RETURNING * INTO req;
    -- Round 1 of the rounds (offer_round is still 0): nobody offered it already is offered again.
    RETURN dispatch.start_offer_round(req);
END;
$$;
COMMENT ON FUNCTION dispatch.assignment_fall_back(dispatch.assistance_requests) IS
    'Internal (request row locked, no open offer): leave the assignment phase and start offer '
    'round 1 (dispatch.start_offer_round); those who declined or let an exclusive offer expire '
    'are not offered it again.';

CREATE OR REPLACE FUNCTION dispatch.assignment_requeue(request dispatch.assistance_requests)
RETURNS dispatch.assistance_requests
LANGUAGE plpgsql
VOLATILE
AS $$
DECLARE
    req dispatch.assistance_requests;
BEGIN
    IF dispatch.offer_policy() <> 'assignment'
       OR request.assignment_batches >= dispatch.setting_numeric('assignment_max_batches') THEN
        RETURN dispatch.assignment_fall_back(request);
    END IF;
    UPDATE dispatch.assistance_requests r SET queued_at = now()
     WHERE r.id = request.id
    RETURNING * INTO req;
    RETURN req;
END;
$$;
COMMENT ON FUNCTION dispatch.assignment_requeue(dispatch.assistance_requests) IS
    'Internal (request row locked, its exclusive offer just declined or expired): back into the '
    'next batch, or to the rounds once it took part in assignment_max_batches batches (or the '
    'policy is no longer assignment).';

CREATE OR REPLACE FUNCTION dispatch.assignment_housekeeping(max_requests integer DEFAULT 100)
RETURNS integer
LANGUAGE plpgsql
VOLATILE
AS $$
DECLARE
    req     dispatch.assistance_requests;
    changed integer := 0;
    policy  text := dispatch.offer_policy();
BEGIN
    -- Exclusive offers past their expiry: offer_withdrawn (expired) to the assistant, the request
    -- back into the queue. SKIP LOCKED: an accept or decline in progress on it decides first.
    FOR req IN
        SELECT r.* FROM dispatch.assistance_requests r
         WHERE r.assigning AND r.status = 'requested' AND r.queued_at IS NULL
           AND EXISTS (SELECT 1 FROM dispatch.offers o
                        WHERE o.assistance_id = r.id AND o.state = 'open'
                          AND o.batch_id IS NOT NULL AND o.expires_at <= now())
         ORDER BY r.id
         LIMIT max_requests
         FOR UPDATE OF r SKIP LOCKED
    LOOP
        PERFORM dispatch.close_round_offers(req.id);
        PERFORM dispatch.assignment_requeue(req);
        changed := changed + 1;
    END LOOP;
    -- Waiting requests when batches stopped (the policy went back to rounds, or
    -- assignment_max_batches was lowered): to the rounds now, not after a batch that never comes.
    FOR req IN
        SELECT r.* FROM dispatch.assistance_requests r
         WHERE r.assigning AND r.status = 'requested' AND r.queued_at IS NOT NULL
           AND (policy <> 'assignment'
                OR r.assignment_batches >= dispatch.setting_numeric('assignment_max_batches'))
         ORDER BY r.queued_at
         LIMIT max_requests
         FOR UPDATE OF r SKIP LOCKED
    LOOP
        PERFORM dispatch.assignment_fall_back(req);
        changed := changed + 1;
    END LOOP;
    RETURN changed;
END;
$$;
COMMENT ON FUNCTION dispatch.assignment_housekeeping(integer) IS
    'Part of the batch driver''s pass: expire exclusive offers past their expires_at (their '
    'requests go back to the next batch, or to the rounds after assignment_max_batches), and send '
    'waiting requests to the rounds when no batch will come (offer_policy is not assignment). '
    'Returns the number of requests changed. Safe from any number of sessions (SKIP LOCKED).';

CREATE OR REPLACE FUNCTION dispatch.assignment_pairs(
    request_ids bigint[],
    area text
)
RETURNS TABLE (
    assistance_id bigint,
    assistant_id  bigint,
    cost_s        double precision,
    eta_source    text,
    distance_m    double precision
)
LANGUAGE plpgsql
VOLATILE  -- dispatch.road_times_matrix may pause road ranking on this session
AS $$
DECLARE
    cap      double precision := dispatch.setting_numeric('assignment_cost_cap_s');
    speed    double precision := dispatch.setting_numeric('straight_line_speed_kmh') / 3.6;
    -- Beyond this the straight line alone is over the cap; a road may be faster than the straight
    -- line's speed, so a pickup a graph covers looks as far as the widest round.
    line_r   double precision := cap * speed;
    road_r   double precision := greatest(dispatch.setting_numeric('offer_max_radius_m'), line_r);
    -- Who holds an open offer now (an assistant holds at most one exclusive offer, and one
    -- offered something by the rounds is busy answering it): read once for the whole batch.
    busy     bigint[] := ARRAY(SELECT DISTINCT o.assistant_id FROM dispatch.offers o
                                WHERE o.expires_at > now() AND o.state = 'open');
    c_req    bigint[];
    c_who    bigint[];
    c_d      double precision[];
    c_road   boolean[];
    c_geo    geography[];
    c_pick   geography[];
    r_ids    bigint[];
    r_geo    geography[];
    a_ids    bigint[];
    a_geo    geography[];
    t_req    bigint[] := '{}';
    t_who    bigint[] := '{}';
    t_s      double precision[] := '{}';
BEGIN
    -- Every candidate pair within reach (the straight line's, or the widest round's where a graph
    -- covers the pickup), without anyone offered this request before (declined, let it expire:
    -- never again) or holding an open offer.
    -- One sort for all the arrays (an aggregate's own ORDER BY sorts again for each).
    WITH q AS MATERIALIZED (
        SELECT x.id, x.pickup, roads.covers(x.pickup::geometry) AS covered,
               ARRAY(SELECT o.assistant_id FROM dispatch.offers o
                      WHERE o.assistance_id = x.id) || busy AS excluded
          FROM dispatch.assistance_requests x WHERE x.id = ANY (request_ids)
    )
    SELECT array_agg(c.id), array_agg(c.user_id), array_agg(c.d), array_agg(c.covered),
           array_agg(c.geog), array_agg(c.pickup)
      INTO c_req, c_who, c_d, c_road, c_geo, c_pick
      FROM (SELECT q.id, v.user_id, ST_Distance(v.geog, q.pickup) AS d, q.covered, v.geog,
                   q.pickup
              FROM q
              JOIN dispatch.available_assistants v
                ON v.service_type = area
               AND ST_DWithin(v.geog, q.pickup, CASE WHEN q.covered THEN road_r ELSE line_r END)
               AND v.user_id <> ALL (q.excluded)
             ORDER BY q.id, v.user_id) c;
    IF c_req IS NULL THEN
        RETURN;
    END IF;
    -- Road times for the pairs whose pickup a graph covers: one routing call for the whole batch
    -- (every pickup and candidate snapped once, one graph built), or, when the batch's box is
    -- over the routing budget (a city-wide batch on a large graph), one call per request.
    SELECT array_agg(x.r), array_agg(x.p) INTO r_ids, r_geo
      FROM (SELECT DISTINCT ON (u.r) u.r, u.p FROM unnest(c_req, c_pick, c_road) u(r, p, road)
             WHERE u.road ORDER BY u.r) x;
    SELECT array_agg(x.w), array_agg(x.g) INTO a_ids, a_geo
      FROM (SELECT DISTINCT ON (u.w) u.w, u.g FROM unnest(c_who, c_geo, c_road) u(w, g, road)
             WHERE u.road ORDER BY u.w) x;
    IF r_ids IS NOT NULL
       AND roads.routing_box(ARRAY(SELECT g::geometry FROM unnest(r_geo || a_geo) g)) IS NOT NULL
    THEN
        SELECT array_agg(r_ids[m.pickup]), array_agg(a_ids[m.place]), array_agg(m.seconds)
          INTO t_req, t_who, t_s
          FROM dispatch.road_times_matrix(r_geo, a_geo) m
         WHERE m.seconds IS NOT NULL;
    ELSIF r_ids IS NOT NULL THEN
        -- The whole batch's box is over the routing budget: each request with its own candidates.
        FOR i IN 1 .. cardinality(r_ids) LOOP
            SELECT array_agg(u.w ORDER BY u.w), array_agg(u.g ORDER BY u.w) INTO a_ids, a_geo
              FROM unnest(c_req, c_who, c_geo) u(r, w, g) WHERE u.r = r_ids[i];
            SELECT t_req || array_agg(r_ids[i]), t_who || array_agg(a_ids[m.place]),
                   t_s || array_agg(m.seconds)
              INTO t_req, t_who, t_s
              FROM dispatch.road_times_matrix(ARRAY[r_geo[i]], a_geo) m
             WHERE m.seconds IS NOT NULL;
        END LOOP;
    END IF;
    -- Each request's R cheapest (R: the batch's number of requests) hold its part of the
    -- optimum: were it matched to a costlier one, one of the R cheaper would be free (the R - 1
    -- other requests take at most R - 1 of them) and moving it there would cost less. So the
    -- rest are left out, exactly (fewer pairs to record, send and solve).
    RETURN QUERY
    SELECT x.r, x.w, x.s, x.src, x.d
      FROM (SELECT c.r, c.w, k.s, CASE WHEN t.s IS NULL THEN 'straight_line' ELSE 'road' END AS src,
                   c.d, row_number() OVER (PARTITION BY c.r ORDER BY k.s, c.w) AS nth
              FROM unnest(c_req, c_who, c_d) AS c(r, w, d)
              LEFT JOIN unnest(t_req, t_who, t_s) AS t(r, w, s) ON t.r = c.r AND t.w = c.w,
                   LATERAL (SELECT coalesce(t.s, c.d / speed) AS s) k
             WHERE k.s <= cap) x
     WHERE x.nth <= cardinality(request_ids)
     ORDER BY x.r, x.w;
END;
$$;
COMMENT ON FUNCTION dispatch.assignment_pairs(bigint[], text) IS
    'The candidate pairs of a batch: for each request, every idle eligible assistant of the '
    'area''s service type who holds no open offer and was never offered that request, with the '
    'travel time cost_s (road seconds where a graph covers the pickup, from one '
    'dispatch.road_times_matrix call for the batch; else the straight-line ETA), eta_source and '
    'distance_m; pairs over assignment_cost_cap_s are left out, and of the rest each request '
    'keeps its R cheapest (R: the number of requests), which hold the optimum.';

-- assignment_problems gained lead_s (issue 26: the first offer within one window).
DROP FUNCTION IF EXISTS dispatch.assignment_problems(integer);

CREATE OR REPLACE FUNCTION dispatch.assignment_problems(
    max_requests integer DEFAULT 500,
    lead_s double precision DEFAULT 0
)
RETURNS TABLE (area text, problem jsonb)
LANGUAGE plpgsql
VOLATILE
AS $$
DECLARE
    a        text;
    reqs     bigint[];
BEGIN
    -- An area (a service type: only its assistants can serve its requests) is due once its oldest
    -- waiting request has waited assignment_window_s less lead_s (the caller's time to its next
    -- pass, so that the batch's offers leave within the window; at most half the window, so that
    -- a batch always collects for half of it): requests arriving meanwhile join it.
    FOR a IN
        SELECT r.service_type FROM dispatch.assistance_requests r
         WHERE r.assigning AND r.queued_at IS NOT NULL AND r.status = 'requested'
         GROUP BY r.service_type
        HAVING min(r.queued_at)
               <= now() - make_interval(secs => dispatch.setting_numeric('assignment_window_s')
                                                 - least(greatest(lead_s, 0),
                                                         dispatch.setting_numeric(
                                                             'assignment_window_s') / 2))
         ORDER BY 1
    LOOP
        -- Locked until the caller's transaction ends: accepts, cancels and the other processes'
        -- drivers wait for (or skip) them while the batch is solved and issued.
        SELECT array_agg(x.id ORDER BY x.queued_at, x.id) INTO reqs FROM (
            SELECT r.id, r.queued_at FROM dispatch.assistance_requests r
             WHERE r.assigning AND r.queued_at IS NOT NULL AND r.status = 'requested'
               AND r.service_type = a
             ORDER BY r.queued_at, r.id
             LIMIT max_requests
             FOR UPDATE SKIP LOCKED) x;
        CONTINUE WHEN reqs IS NULL;
        area := a;
        -- Built as json text, then parsed once: jsonb_agg of thousands of small arrays costs
        -- several times as much.
        SELECT jsonb_build_object(
                   'requests', to_jsonb(reqs),
                   'pairs', coalesce(json_agg(json_build_array(p.assistance_id, p.assistant_id,
                                                               round(p.cost_s * 10) / 10,
                                                               p.eta_source, round(p.distance_m))
                                             )::jsonb, '[]'))
          INTO problem
          FROM dispatch.assignment_pairs(reqs, a) p;
        RETURN NEXT;
    END LOOP;
END;
$$;
COMMENT ON FUNCTION dispatch.assignment_problems(integer, double precision) IS
    'The batch driver''s question: for each area (service type) whose oldest waiting request has '
    'waited assignment_window_s (less lead_s, at most half the window: the driver starts that '
    'much early so that the offers leave within the window), its waiting requests (up to max_requests, locked FOR UPDATE SKIP '
    'LOCKED until the caller''s transaction ends) and the candidate pairs '
    '(dispatch.assignment_pairs) as {requests: [id], pairs: [[assistance_id, assistant_id, '
    'cost_s, eta_source, distance_m]]}.';

CREATE OR REPLACE FUNCTION dispatch.issue_assignment_batch(
    area text,
    problem jsonb,
    solution jsonb,
    solve_ms double precision
)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
AS $$
DECLARE
    batch     bigint;
    timeout   interval := make_interval(
                  secs => greatest(dispatch.setting_numeric('assignment_offer_timeout_s'), 0.1));
    k_max     numeric := dispatch.setting_numeric('assignment_max_batches');
    rid       bigint;
    req       dispatch.assistance_requests;
    pick      record;
    x         record;
    best_id   bigint;
    best_cost double precision;
    n_cand    integer;
    outcome   text;
    frame     jsonb;
    topics    text[] := '{}';
    frames    jsonb[] := '{}';
    offered   integer := 0;
    fell_back integer := 0;
    total     double precision := 0;
BEGIN
    INSERT INTO dispatch.assignment_batches (area, solve_ms, requests, assistants, costs, matched)
    VALUES (issue_assignment_batch.area, greatest(issue_assignment_batch.solve_ms, 0),
            ARRAY(SELECT jsonb_array_elements_text(problem -> 'requests')::bigint),
            ARRAY(SELECT DISTINCT (p ->> 1)::bigint FROM jsonb_array_elements(problem -> 'pairs') p
                   ORDER BY 1),
            problem -> 'pairs', 0)
    RETURNING id INTO batch;

    -- Each request with its candidates' count, its cheapest candidate and the solver's pick (with
    -- the pair's cost as costed): one pass over the pairs, however many requests.
    FOR x IN
        WITH pairs AS (
            SELECT (p ->> 0)::bigint AS rid, (p ->> 1)::bigint AS aid,
                   (p ->> 2)::double precision AS cost, p ->> 3 AS src,
                   (p ->> 4)::double precision AS dist
              FROM jsonb_array_elements(problem -> 'pairs') p
        ), per AS (
            SELECT pairs.rid, count(*)::integer AS n, (array_agg(pairs.aid ORDER BY pairs.cost,
                                                                 pairs.aid))[1] AS best_id,
                   min(pairs.cost) AS best_cost
              FROM pairs GROUP BY pairs.rid
        ), sol AS (
            SELECT DISTINCT ON ((s ->> 0)::bigint) (s ->> 0)::bigint AS rid,
                   (s ->> 1)::bigint AS aid
              FROM jsonb_array_elements(solution) s
        )
        SELECT q.rid, coalesce(per.n, 0) AS n, per.best_id, per.best_cost,
               pairs.aid AS assistant_id, pairs.cost AS cost_s, pairs.src AS eta_source,
               pairs.dist AS distance_m
          FROM jsonb_array_elements_text(problem -> 'requests') WITH ORDINALITY AS q0(rid_text, i)
          CROSS JOIN LATERAL (SELECT q0.rid_text::bigint AS rid) q
          LEFT JOIN per ON per.rid = q.rid
          LEFT JOIN sol ON sol.rid = q.rid
          LEFT JOIN pairs ON pairs.rid = sol.rid AND pairs.aid = sol.aid
         ORDER BY q0.i
    LOOP
        rid := x.rid;
        n_cand := x.n;
        best_id := x.best_id;
        best_cost := x.best_cost;
        pick := x;
        -- Locked by dispatch.assignment_problems in this transaction; still waiting unless this
        -- session changed it since (it cannot have been anyone else).
        SELECT * INTO req FROM dispatch.assistance_requests r WHERE r.id = rid FOR UPDATE;
        CONTINUE WHEN NOT FOUND OR req.status <> 'requested' OR NOT req.assigning
                      OR req.queued_at IS NULL;
        -- The exclusive offer, if the assistant is still idle and holds no open offer (an
        -- assistant holds at most one: this check, the only writer of exclusive offers being the
        -- one batch at a time, and the pairs leaving out anyone offered something, enforce it).
        IF pick.assistant_id IS NOT NULL
           AND EXISTS (SELECT 1 FROM dispatch.available_assistants v
                        WHERE v.user_id = pick.assistant_id AND v.service_type = req.service_type)
           AND NOT EXISTS (SELECT 1 FROM dispatch.offers o
                            WHERE o.assistant_id = pick.assistant_id AND o.state = 'open'
                              AND o.expires_at > now())
           AND NOT EXISTS (SELECT 1 FROM dispatch.offers o
                            WHERE o.assistance_id = rid AND o.assistant_id = pick.assistant_id)
        THEN
            UPDATE dispatch.assistance_requests r
               SET assignment_batches = r.assignment_batches + 1, queued_at = NULL
             WHERE r.id = rid
            RETURNING * INTO req;
            INSERT INTO dispatch.offers (assistance_id, assistant_id, round, distance_m,
                                         expires_at, eta_s, eta_source, batch_id)
            VALUES (rid, pick.assistant_id, req.assignment_batches, pick.distance_m,
                    now() + timeout, round(pick.cost_s)::integer, pick.eta_source, batch);
            frame := dispatch.offer_frame(req) || jsonb_build_object(
                'expires_at', dispatch.iso_utc(now() + timeout),
                'distance', round((pick.distance_m / 1000)::numeric, 3),
                'eta_s', round(pick.cost_s)::integer, 'eta_source', pick.eta_source,
                'offer_policy', 'assignment', 'batch_id', batch);
            topics := topics || ('assistant:' || pick.assistant_id) || 'dispatch'::text;
            frames := frames || frame || jsonb_build_object(
                'type', 'offer', 'assistance_id', rid, 'round', req.offer_round,
                'assistant_ids', jsonb_build_array(pick.assistant_id),
                'expires_at', dispatch.iso_utc(now() + timeout), 'batch_id', batch);
            INSERT INTO dispatch.assignment_decisions
                (batch_id, assistance_id, assistant_id, cost_s, eta_source, distance_m,
                 candidates, nearest_id, nearest_cost_s, outcome)
            VALUES (batch, rid, pick.assistant_id, pick.cost_s, pick.eta_source, pick.distance_m,
                    n_cand, best_id, best_cost, 'offered');
            offered := offered + 1;
            total := total + pick.cost_s;
            CONTINUE;
        END IF;
        UPDATE dispatch.assistance_requests r
           SET assignment_batches = r.assignment_batches + 1, queued_at = now()
         WHERE r.id = rid
        RETURNING * INTO req;
        outcome := CASE WHEN req.assignment_batches >= k_max THEN 'fell_back'
                        WHEN n_cand = 0 THEN 'no_candidate' ELSE 'unmatched' END;
        INSERT INTO dispatch.assignment_decisions
            (batch_id, assistance_id, candidates, nearest_id, nearest_cost_s, outcome)
        VALUES (batch, rid, n_cand, best_id, best_cost, outcome);
        IF outcome = 'fell_back' THEN
            PERFORM dispatch.assignment_fall_back(req);
            fell_back := fell_back + 1;
        END IF;
    END LOOP;

    UPDATE dispatch.assignment_batches b SET matched = offered, total_cost_s = total
     WHERE b.id = batch;
    IF cardinality(topics) > 0 THEN
        PERFORM dispatch.emit_many(topics, frames);
    END IF;
    RETURN jsonb_build_object('batch_id', batch, 'offered', offered, 'fell_back', fell_back);
END;
$$;
COMMENT ON FUNCTION dispatch.issue_assignment_batch(text, jsonb, jsonb, double precision) IS
    'The batch driver''s answer, in its transaction (the requests locked by '
    'dispatch.assignment_problems): record the batch (problem as that function returned it, '
    'solution [[assistance_id, assistant_id]], the solve''s milliseconds) and each request''s '
    'decision, and send each matched request one exclusive offer (new_assistance_request with '
    'offer_policy assignment, batch_id, expires_at now() + assignment_offer_timeout_s) to an '
    'assistant still idle who holds no open offer; the others wait for the next batch, or fall '
    'back to the rounds after assignment_max_batches. Returns {batch_id, offered, fell_back}.';

CREATE OR REPLACE FUNCTION dispatch.assignment_batch(batch_id bigint)
RETURNS jsonb
LANGUAGE sql
STABLE
AS $$
    SELECT jsonb_build_object(
        'id', b.id, 'area', b.area, 'started_at', dispatch.iso_utc(b.started_at),
        'solve_ms', b.solve_ms, 'requests', to_jsonb(b.requests),
        'assistants', to_jsonb(b.assistants), 'matched', b.matched,
        'total_cost_s', b.total_cost_s,
        'costs', (SELECT coalesce(jsonb_agg(jsonb_build_object(
                                     'assistance_id', (p ->> 0)::bigint,
                                     'assistant_id', (p ->> 1)::bigint,
                                     'cost_s', (p ->> 2)::double precision,
                                     'eta_source', p ->> 3,
                                     'distance_m', (p ->> 4)::double precision)), '[]')
                    FROM jsonb_array_elements(b.costs) p),
        'decisions', (SELECT coalesce(jsonb_agg(jsonb_build_object(
                                         'assistance_id', d.assistance_id,
                                         'assistant_id', d.assistant_id,
                                         'cost_s', d.cost_s, 'eta_source', d.eta_source,
                                         'distance_m', d.distance_m, 'candidates', d.candidates,
                                         'nearest_id', d.nearest_id,
                                         'nearest_cost_s', d.nearest_cost_s,
                                         'outcome', d.outcome) ORDER BY d.assistance_id), '[]')
                        FROM dispatch.assignment_decisions d WHERE d.batch_id = b.id))
    FROM dispatch.assignment_batches b
    WHERE b.id = assignment_batch.batch_id
$$;
COMMENT ON FUNCTION dispatch.assignment_batch(bigint) IS
    'One assignment batch explained: {id, area, started_at, solve_ms, requests, assistants, '
    'matched, total_cost_s, costs: [{assistance_id, assistant_id, cost_s, eta_source, '
    'distance_m}] (every candidate pair considered), decisions: [{assistance_id, assistant_id, '
    'cost_s, ..., nearest_id, nearest_cost_s, outcome}]}; NULL for an unknown id.';

CREATE OR REPLACE FUNCTION dispatch.request_batches(assistance_id bigint)
RETURNS jsonb
LANGUAGE sql
STABLE
AS $$
    SELECT coalesce(jsonb_agg(jsonb_build_object(
               'batch_id', d.batch_id, 'at', dispatch.iso_utc(b.started_at),
               'outcome', d.outcome, 'assistant_id', d.assistant_id, 'cost_s', d.cost_s,
               'eta_source', d.eta_source, 'candidates', d.candidates,
               'nearest_id', d.nearest_id, 'nearest_cost_s', d.nearest_cost_s,
               'batch_requests', cardinality(b.requests), 'batch_matched', b.matched,
               -- Why not the others: each candidate of this request, and which request of the
               -- batch its assistant went to instead (NULL: to none).
               'alternatives', (
                   SELECT coalesce(jsonb_agg(jsonb_build_object(
                              'assistant_id', (p ->> 1)::bigint,
                              'cost_s', (p ->> 2)::double precision,
                              'eta_source', p ->> 3,
                              'went_to', (SELECT o.assistance_id FROM dispatch.assignment_decisions o
                                           WHERE o.batch_id = d.batch_id
                                             AND o.assistant_id = (p ->> 1)::bigint))
                              ORDER BY (p ->> 2)::double precision, (p ->> 1)::bigint), '[]')
                     FROM jsonb_array_elements(b.costs) p
                    WHERE (p ->> 0)::bigint = d.assistance_id))
               ORDER BY d.batch_id), '[]')
    FROM dispatch.assignment_decisions d
    JOIN dispatch.assignment_batches b ON b.id = d.batch_id
    WHERE d.assistance_id = request_batches.assistance_id
$$;
COMMENT ON FUNCTION dispatch.request_batches(bigint) IS
    'Why a request went to whom: each assignment batch that considered it, oldest first, as '
    '[{batch_id, at, outcome (offered | unmatched | no_candidate | fell_back), assistant_id, '
    'cost_s, eta_source, candidates, nearest_id, nearest_cost_s, batch_requests, batch_matched, '
    'alternatives: [{assistant_id, cost_s, eta_source, went_to}]}] (went_to: the request of the '
    'batch that assistant was offered instead).';
