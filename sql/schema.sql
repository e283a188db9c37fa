--
-- PostgreSQL database dump
--

SET statement_timeout = 0;
SET lock_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
SET xmloption = content;
SET client_min_messages = warning;
SET row_security = off;

--
-- Name: dispatch; Type: SCHEMA; Schema: -; Owner: -
--

CREATE SCHEMA dispatch;

--
-- Name: roads; Type: SCHEMA; Schema: -; Owner: -
--

CREATE SCHEMA roads;

--
-- Name: postgis; Type: EXTENSION; Schema: -; Owner: -
--

CREATE EXTENSION IF NOT EXISTS postgis WITH SCHEMA public;

--
-- Name: EXTENSION postgis; Type: COMMENT; Schema: -; Owner: -
--

COMMENT ON EXTENSION postgis IS 'PostGIS geometry and geography spatial types and functions';

--
-- Name: pgrouting; Type: EXTENSION; Schema: -; Owner: -
--

CREATE EXTENSION IF NOT EXISTS pgrouting WITH SCHEMA public;

--
-- Name: EXTENSION pgrouting; Type: COMMENT; Schema: -; Owner: -
--

COMMENT ON EXTENSION pgrouting IS 'pgRouting Extension';

--
-- Name: accept_assistance(bigint, bigint); Type: FUNCTION; Schema: dispatch; Owner: -
--

CREATE FUNCTION dispatch.accept_assistance(assistance_id bigint, assistant_id bigint) RETURNS jsonb
    LANGUAGE plpgsql
    AS $$
#variable_conflict use_column
DECLARE
    profile     dispatch.assistants;
    offer_state text;
    offer_ends  timestamptz;
    req         dispatch.assistance_requests;
BEGIN
    profile := dispatch.lock_job_taker(accept_assistance.assistant_id, NULL, false);

    -- Only an offer opens the door (contract, "Offers"). The request's row is locked first, as
    -- the round driver and decline do, so the offer read below cannot expire meanwhile. Without
    -- an offer the answer is the same for an unknown request as for a known one.
    PERFORM 1 FROM dispatch.assistance_requests r WHERE r.id = accept_assistance.assistance_id
    FOR UPDATE;
    SELECT o.state, o.expires_at INTO offer_state, offer_ends FROM dispatch.offers o
    WHERE o.assistance_id = accept_assistance.assistance_id
      AND o.assistant_id = profile.user_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'You were not offered this request.' USING ERRCODE = 'DP014';
    ELSIF offer_state = 'expired'
          -- An open offer past its expires_at has expired even though the round driver has not
          -- closed it yet: the clock decides, not the driver's next pass. clock_timestamp(), not
          -- now(): the transaction may have started before the lock above was granted.
          OR (offer_state = 'open' AND offer_ends <= clock_timestamp()) THEN
        RAISE EXCEPTION 'Your offer for this request has expired.' USING ERRCODE = 'DP015';
    ELSIF offer_state = 'declined' THEN
        RAISE EXCEPTION 'You declined this request.' USING ERRCODE = 'DP016';
    ELSIF offer_state <> 'open' THEN
        -- Withdrawn: someone else took it, or the client canceled; take_request says which.
        SELECT * INTO req FROM dispatch.assistance_requests r
        WHERE r.id = accept_assistance.assistance_id;
        IF req.status = 'requested' THEN
            RAISE EXCEPTION 'Your offer for this request has expired.' USING ERRCODE = 'DP015';
        END IF;
    END IF;

    req := dispatch.take_request(accept_assistance.assistance_id, profile.user_id, profile.user_id,
                                 'accepted');
    RETURN dispatch.assistance_json(req);
END;
$$;

--
-- Name: FUNCTION accept_assistance(assistance_id bigint, assistant_id bigint); Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON FUNCTION dispatch.accept_assistance(assistance_id bigint, assistant_id bigint) IS 'An assistant holding an open offer takes the request (dispatch.take_request): exactly one of any number of concurrent accepts wins (DP003 for the others). DP014 never offered (or unknown request), DP015 offer expired (closed by the driver, or open past its expires_at by the clock), DP016 offer declined, DP005 inactive / licence expired, DP004 the assistant has an open job, DP006 request canceled or completed.';

--
-- Name: access_revoked(bigint, uuid); Type: FUNCTION; Schema: dispatch; Owner: -
--

CREATE FUNCTION dispatch.access_revoked(user_id bigint, family_id uuid DEFAULT NULL::uuid) RETURNS boolean
    LANGUAGE plpgsql STABLE
    AS $$
BEGIN
    -- plpgsql so the plan is cached per session (a non-inlined SQL function is re-planned
    -- on every call).
    RETURN (
    SELECT NOT EXISTS (SELECT 1 FROM dispatch.users u
                            WHERE u.id = access_revoked.user_id AND NOT u.is_disabled)
            OR (access_revoked.family_id IS NOT NULL AND EXISTS (
                    SELECT 1 FROM dispatch.refresh_tokens t
                     WHERE t.family_id = access_revoked.family_id AND t.revoked_at IS NOT NULL))
    );
END;
$$;

--
-- Name: FUNCTION access_revoked(user_id bigint, family_id uuid); Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON FUNCTION dispatch.access_revoked(user_id bigint, family_id uuid) IS 'True when an access token of this user (and login session family) must be refused: the user is disabled or gone, or the session was revoked (logout, password reset, refresh reuse).';

--
-- Name: activate_due_bookings(integer); Type: FUNCTION; Schema: dispatch; Owner: -
--

CREATE FUNCTION dispatch.activate_due_bookings(max_bookings integer DEFAULT 20) RETURNS integer
    LANGUAGE plpgsql
    AS $$
DECLARE
    lead     numeric := coalesce(dispatch.setting_numeric('booking_lead_time_s'), 0);
    booking  dispatch.bookings;
    created  jsonb;
    state    text;
    message  text;
    detail   text;
    cons     text;
    code     text;
    done     integer := 0;
BEGIN
    -- SKIP LOCKED: concurrent activators (every server process runs one) take disjoint bookings;
    -- a booking another activator converted meanwhile is re-checked on its committed row and no
    -- longer matches status = 'scheduled'. So each booking is handled exactly once.
    FOR booking IN
        SELECT * FROM dispatch.bookings b
         WHERE b.status = 'scheduled'
           AND b.scheduled_for <= now() + make_interval(secs => lead)
         ORDER BY b.scheduled_for, b.id
         LIMIT max_bookings
           FOR UPDATE SKIP LOCKED
    LOOP
        BEGIN
            -- The Idempotency-Key 'booking:<id>' makes a second request for the same booking
            -- impossible even outside this function (assistance_requests_idempotency_key).
            created := dispatch.request_assistance(
                client_id => booking.client_id,
                pickup_lat => ST_Y(booking.pickup::geometry),
                pickup_lng => ST_X(booking.pickup::geometry),
                pickup_cell_r7 => booking.pickup_h3_r7,
                dropoff_lat => ST_Y(booking.dropoff::geometry),
                dropoff_lng => ST_X(booking.dropoff::geometry),
                service_type => booking.service_type,
                vehicle_type => booking.vehicle_type,
                description => booking.description,
                neighbour_cells_r7 => booking.neighbour_cells_r7,
                idempotency_key => 'booking:' || booking.id,
                idempotency_fingerprint => 'booking:' || booking.id);
            UPDATE dispatch.bookings b
               SET status = 'converted', assistance_id = (created #>> '{assistance,id}')::bigint,
                   converted_at = now(), updated_at = now()
             WHERE b.id = booking.id;
            PERFORM dispatch.emit('client:' || booking.client_id, jsonb_build_object(
                'type', 'booking_activated',
                'booking_id', booking.id,
                'assistance_id', (created #>> '{assistance,id}')::bigint,
                'assistance', created -> 'assistance',
                'nearby_assistants', created -> 'nearby_assistants'));
        EXCEPTION WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, message = MESSAGE_TEXT,
                                    detail = PG_EXCEPTION_DETAIL, cons = CONSTRAINT_NAME;
            -- Transient failures (lock or statement timeouts, deadlocks, a server shutting down)
            -- leave the booking scheduled for the next round.
            IF state IN ('40001', '40P01', '55P03', '57014') OR state LIKE '08%' OR state LIKE '57P%'
            THEN
                RAISE;
            END IF;
            IF state = 'DP002' OR cons = 'assistance_one_open_per_client' THEN
                -- Documented decision: a booking never waits behind the client's open request.
                code := 'OPEN_REQUEST_EXISTS';
                message := 'You had an open assistance request when this booking became due.';
            ELSIF state LIKE 'DP%' THEN
                code := 'REQUEST_REFUSED';
            ELSE
                -- A bug must not stop every later booking: this one fails, the log has why.
                RAISE WARNING 'booking % could not be converted: % %', booking.id, state, message;
                code := 'INTERNAL_ERROR';
                message := 'The booking could not be turned into an assistance request.';
            END IF;
            UPDATE dispatch.bookings b
               SET status = 'failed', failure_code = code, failure_reason = message,
                   failed_at = now(), updated_at = now()
             WHERE b.id = booking.id;
            PERFORM dispatch.emit('client:' || booking.client_id, jsonb_build_object(
                'type', 'booking_failed',
                'booking_id', booking.id,
                'code', code,
                'reason', message,
                'assistance_id', CASE WHEN detail LIKE '{%' THEN (detail::jsonb ->> 'assistance_id')::bigint
                                      END));
        END;
        done := done + 1;
    END LOOP;
    RETURN done;
END;
$$;

--
-- Name: FUNCTION activate_due_bookings(max_bookings integer); Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON FUNCTION dispatch.activate_due_bookings(max_bookings integer) IS 'Turn up to max_bookings due bookings (scheduled_for within booking_lead_time_s) into assistance requests via dispatch.request_assistance, each exactly once whatever the number of concurrent callers (FOR UPDATE SKIP LOCKED, in the caller''s transaction). A client with an open request fails the booking (OPEN_REQUEST_EXISTS); other refusals fail it too (REQUEST_REFUSED). The client gets booking_activated / booking_failed on topic client:<id>. Returns how many bookings were handled.';

--
-- Name: active_assistants_near(double precision, double precision, text, double precision, integer, bigint); Type: FUNCTION; Schema: dispatch; Owner: -
--

CREATE FUNCTION dispatch.active_assistants_near(origin_lat double precision DEFAULT NULL::double precision, origin_lng double precision DEFAULT NULL::double precision, wanted_service text DEFAULT NULL::text, radius_m double precision DEFAULT NULL::double precision, max_results integer DEFAULT 50, exclude_user_id bigint DEFAULT NULL::bigint) RETURNS TABLE(assistant_id bigint, name text, service_type text, vehicle_type text, lat double precision, lng double precision, distance_m double precision, position_updated_at timestamp with time zone, eta_s integer, eta_source text)
    LANGUAGE plpgsql STABLE
    AS $$
#variable_conflict use_column
DECLARE
    origin geography;
    n      integer := greatest(max_results, 0);
    k      integer := greatest(max_results, 0);
    ids    bigint[];
    places geography[];
    ds     double precision[];
BEGIN
    IF origin_lat IS NOT NULL AND origin_lng IS NOT NULL THEN
        origin := ST_SetSRID(ST_MakePoint(origin_lng, origin_lat), 4326)::geography;
        -- Where a road graph covers the origin: the soonest by road among more of the nearest,
        -- as the offer rounds rank (etas.sql).
        IF roads.covers(origin::geometry) THEN
            k := n * greatest(dispatch.setting_numeric('roads_preselect_factor'), 1)::integer;
        END IF;
    END IF;
    WITH chosen AS (
        SELECT a.user_id, p.geog, ST_Distance(p.geog, origin) AS d
          FROM dispatch.assistants a
          JOIN dispatch.users u ON u.id = a.user_id
          JOIN dispatch.positions p ON p.user_id = a.user_id
         WHERE a.is_active
           AND NOT u.is_disabled
           AND a.driving_license_expiry > current_date
           AND (wanted_service IS NULL OR a.service_type = wanted_service)
           AND (radius_m IS NULL OR origin IS NULL OR ST_DWithin(p.geog, origin, radius_m))
           AND (exclude_user_id IS NULL OR u.id <> exclude_user_id)
         ORDER BY ST_Distance(p.geog, origin) NULLS LAST, u.id
         LIMIT k
    )
    SELECT array_agg(c.user_id ORDER BY c.d NULLS LAST, c.user_id),
           array_agg(c.geog ORDER BY c.d NULLS LAST, c.user_id),
           array_agg(c.d ORDER BY c.d NULLS LAST, c.user_id)
      INTO ids, places, ds
      FROM chosen c;
    IF ids IS NULL THEN
        RETURN;
    END IF;
    RETURN QUERY
    WITH ranked AS (
        SELECT r.assistant_id AS id, r.eta_s, r.eta_source, r.rank_s, NULL::bigint AS i
          FROM dispatch.rank_by_eta(origin, ids, places, ds, n) r
         WHERE origin IS NOT NULL
        UNION ALL
        SELECT u.id, NULL, NULL, NULL, u.i
          FROM unnest(ids) WITH ORDINALITY AS u(id, i)
         WHERE origin IS NULL AND u.i <= n
    )
    SELECT u.id, u.name, a.service_type, a.vehicle_type,
           ST_Y(p.geog::geometry), ST_X(p.geog::geometry),
           ST_Distance(p.geog, origin), p.updated_at, x.eta_s, x.eta_source
      FROM ranked x
      JOIN dispatch.users u ON u.id = x.id
      JOIN dispatch.assistants a ON a.user_id = x.id
      JOIN dispatch.positions p ON p.user_id = x.id
     ORDER BY x.eta_source = 'straight_line', x.rank_s, x.i, u.id;
END;
$$;

--
-- Name: FUNCTION active_assistants_near(origin_lat double precision, origin_lng double precision, wanted_service text, radius_m double precision, max_results integer, exclude_user_id bigint); Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON FUNCTION dispatch.active_assistants_near(origin_lat double precision, origin_lng double precision, wanted_service text, radius_m double precision, max_results integer, exclude_user_id bigint) IS 'Active assistants with an unexpired licence and a known position, soonest first from the origin with their geodesic distance (metres) and ETA: by road time where a graph covers the origin, else by the straight line (dispatch.rank_by_eta); by id when no origin is given (distance and ETA NULL).';

--
-- Name: add_cost_line(bigint, bigint, text, numeric, numeric); Type: FUNCTION; Schema: dispatch; Owner: -
--

CREATE FUNCTION dispatch.add_cost_line(assistance_id bigint, assistant_id bigint, label text, quantity numeric, unit_price numeric) RETURNS jsonb
    LANGUAGE plpgsql
    AS $$
DECLARE
    max_lines CONSTANT integer := 100;
    req       dispatch.assistance_requests;
    line      dispatch.cost_lines;
    digits    integer;
    amount    numeric;
    lines     bigint;
    so_far    numeric;
    line_max  numeric := dispatch.numeric_max('dispatch.invoice_lines', 'amount');
    total_max numeric := dispatch.numeric_max('dispatch.invoices', 'total');
BEGIN
    -- The request's row lock orders this against a concurrent completion: a line is either in
    -- the invoice or refused, never lost. It also serialises the count and sum below.
    SELECT * INTO req FROM dispatch.assistance_requests r
    WHERE r.id = add_cost_line.assistance_id FOR UPDATE;
    IF NOT FOUND OR req.assistant_id IS DISTINCT FROM add_cost_line.assistant_id THEN
        RAISE EXCEPTION 'Assistance request not found.' USING ERRCODE = 'DP001';
    END IF;
    IF req.status <> 'ongoing' THEN
        RAISE EXCEPTION 'Cost lines can only be added while the job is ongoing (it is %).',
            req.status USING ERRCODE = 'DP024';
    END IF;
    -- The invoice this job will get must fit its columns, or every completion would fail.
    digits := dispatch.currency_minor_units(req.currency);
    amount := round(add_cost_line.quantity * add_cost_line.unit_price, digits);
    SELECT count(*), coalesce(sum(round(c.quantity * c.unit_price, digits)), 0)
      INTO lines, so_far
      FROM dispatch.cost_lines c WHERE c.assistance_id = req.id;
    IF lines >= max_lines THEN
        RAISE EXCEPTION 'A job has at most % cost lines.', max_lines
            USING ERRCODE = 'DP026', DETAIL = jsonb_build_object('max_cost_lines', max_lines)::text;
    END IF;
    IF amount > line_max OR req.total_price + so_far + amount > total_max THEN
        RAISE EXCEPTION 'This line would take the invoice to % %; an invoice holds at most % %.',
            trim_scale(req.total_price + so_far + amount), req.currency, trim_scale(total_max),
            req.currency
            USING ERRCODE = 'DP027',
                  DETAIL = jsonb_build_object('invoice_total_limit', trim_scale(total_max))::text;
    END IF;
    INSERT INTO dispatch.cost_lines AS c (assistance_id, added_by, label, quantity, unit_price)
    VALUES (req.id, add_cost_line.assistant_id, add_cost_line.label, add_cost_line.quantity,
            add_cost_line.unit_price)
    RETURNING * INTO line;
    RETURN dispatch.cost_line_json(line, req.currency);
END;
$$;

--
-- Name: FUNCTION add_cost_line(assistance_id bigint, assistant_id bigint, label text, quantity numeric, unit_price numeric); Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON FUNCTION dispatch.add_cost_line(assistance_id bigint, assistant_id bigint, label text, quantity numeric, unit_price numeric) IS 'The assigned assistant adds a cost line {label, quantity, unit_price} (in the request''s currency) to an ongoing job. DP001 not its assistant, DP024 not ongoing, DP026 the job has 100 lines already, DP027 the invoice (the quote plus every line, each rounded) would no longer fit dispatch.invoices.total (dispatch.numeric_max).';

SET default_tablespace = '';

SET default_table_access_method = heap;

--
-- Name: assistance_requests; Type: TABLE; Schema: dispatch; Owner: -
--

CREATE TABLE dispatch.assistance_requests (
    id bigint NOT NULL,
    client_id bigint NOT NULL,
    assistant_id bigint,
    status text DEFAULT 'requested'::text NOT NULL,
    service_type text NOT NULL,
    vehicle_type text NOT NULL,
    description text DEFAULT ''::text NOT NULL,
    pickup public.geography(Point,4326) NOT NULL,
    dropoff public.geography(Point,4326),
    pickup_h3_r7 bigint NOT NULL,
    distance_km double precision DEFAULT 0 NOT NULL,
    price jsonb NOT NULL,
    total_price numeric(12,2) NOT NULL,
    currency text NOT NULL,
    matched_assistants jsonb DEFAULT '[]'::jsonb NOT NULL,
    idempotency_key text,
    idempotency_fingerprint text,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    accepted_at timestamp with time zone,
    started_at timestamp with time zone,
    completed_at timestamp with time zone,
    canceled_at timestamp with time zone,
    searching boolean DEFAULT false NOT NULL,
    offer_round smallint DEFAULT 0 NOT NULL,
    round_ends_at timestamp with time zone,
    exhausted_at timestamp with time zone,
    round_radius_m double precision,
    arrivals_checked_at timestamp with time zone,
    pickup_h3_r8 bigint,
    eta_s integer,
    eta_source text,
    eta_at timestamp with time zone,
    distance_source text DEFAULT 'straight_line'::text NOT NULL,
    arrivals_key integer,
    assigning boolean DEFAULT false NOT NULL,
    assignment_batches smallint DEFAULT 0 NOT NULL,
    queued_at timestamp with time zone,
    CONSTRAINT assistance_requests_assignment_batches_check CHECK ((assignment_batches >= 0)),
    CONSTRAINT assistance_requests_assistant_check CHECK (((status = ANY (ARRAY['requested'::text, 'canceled'::text])) OR (assistant_id IS NOT NULL))),
    CONSTRAINT assistance_requests_distance_check CHECK ((distance_km >= (0)::double precision)),
    CONSTRAINT assistance_requests_distance_source_check CHECK ((distance_source = ANY (ARRAY['road'::text, 'straight_line'::text]))),
    CONSTRAINT assistance_requests_eta_s_check CHECK ((eta_s >= 0)),
    CONSTRAINT assistance_requests_eta_source_check CHECK ((eta_source = ANY (ARRAY['road'::text, 'straight_line'::text]))),
    CONSTRAINT assistance_requests_offer_round_check CHECK ((offer_round >= 0)),
    CONSTRAINT assistance_requests_parties_check CHECK ((assistant_id IS DISTINCT FROM client_id)),
    CONSTRAINT assistance_requests_service_type_check CHECK ((service_type = ANY (ARRAY['towing'::text, 'repair'::text]))),
    CONSTRAINT assistance_requests_status_check CHECK ((status = ANY (ARRAY['requested'::text, 'accepted'::text, 'ongoing'::text, 'completed'::text, 'canceled'::text]))),
    CONSTRAINT assistance_requests_total_price_check CHECK ((total_price >= (0)::numeric)),
    CONSTRAINT assistance_requests_vehicle_type_check CHECK ((vehicle_type = ANY (ARRAY['light'::text, 'heavy'::text])))
);

--
-- Name: COLUMN assistance_requests.price; Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON COLUMN dispatch.assistance_requests.price IS 'The quote as dispatch.quote_price built it ({total, currency, surge_multiplier, lines}), updated when the assistant sets a repair''s final price.';

--
-- Name: COLUMN assistance_requests.matched_assistants; Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON COLUMN dispatch.assistance_requests.matched_assistants IS 'Who was notified at creation ([{assistant_id, distance}]); an idempotent retry answers with it.';

--
-- Name: COLUMN assistance_requests.searching; Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON COLUMN dispatch.assistance_requests.searching IS 'True while offer rounds are running; false once assigned, canceled or exhausted.';

--
-- Name: COLUMN assistance_requests.offer_round; Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON COLUMN dispatch.assistance_requests.offer_round IS 'The round in progress (0 before the first one is sent).';

--
-- Name: COLUMN assistance_requests.round_ends_at; Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON COLUMN dispatch.assistance_requests.round_ends_at IS 'When the current round ends (database clock); the round driver takes rows due by now().';

--
-- Name: COLUMN assistance_requests.exhausted_at; Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON COLUMN dispatch.assistance_requests.exhausted_at IS 'When the search ran out of rounds (search_exhausted was sent); NULL otherwise.';

--
-- Name: COLUMN assistance_requests.round_radius_m; Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON COLUMN dispatch.assistance_requests.round_radius_m IS 'The search radius of the round in progress (metres); NULL before the first round.';

--
-- Name: COLUMN assistance_requests.arrivals_checked_at; Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON COLUMN dispatch.assistance_requests.arrivals_checked_at IS 'When the arrival sweep last looked for newly eligible assistants for this request.';

--
-- Name: COLUMN assistance_requests.pickup_h3_r8; Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON COLUMN dispatch.assistance_requests.pickup_h3_r8 IS 'The pickup''s H3 resolution-8 cell (computed by the application like pickup_h3_r7), for the analysts'' per-cell figures.';

--
-- Name: COLUMN assistance_requests.eta_s; Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON COLUMN dispatch.assistance_requests.eta_s IS 'While accepted: the assistant''s travel time to the pickup, seconds, as of eta_at (refreshed from their positions every eta_refresh_s by dispatch.refresh_etas).';

--
-- Name: COLUMN assistance_requests.distance_source; Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON COLUMN dispatch.assistance_requests.distance_source IS 'Which pickup-to-dropoff distance priced the trip: road (the fastest route''s length over an imported graph) or straight_line (geodesic).';

--
-- Name: COLUMN assistance_requests.arrivals_key; Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON COLUMN dispatch.assistance_requests.arrivals_key IS 'Where road ranking applies: a hash of the straight-line preselection (who, and when each last moved) at the round''s last look for arrivals; an unchanged one needs no new routing call.';

--
-- Name: COLUMN assistance_requests.assigning; Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON COLUMN dispatch.assistance_requests.assigning IS 'In the assignment phase (offer_policy assignment): waiting for a batch or holding an exclusive offer; false once it falls back to rounds or leaves requested.';

--
-- Name: COLUMN assistance_requests.assignment_batches; Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON COLUMN dispatch.assistance_requests.assignment_batches IS 'How many assignment batches considered this request.';

--
-- Name: COLUMN assistance_requests.queued_at; Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON COLUMN dispatch.assistance_requests.queued_at IS 'Since when the request waits for the next assignment batch (NULL while it holds an exclusive offer or is not in the assignment phase).';

--
-- Name: advance_offer_round(dispatch.assistance_requests); Type: FUNCTION; Schema: dispatch; Owner: -
--

CREATE FUNCTION dispatch.advance_offer_round(request dispatch.assistance_requests) RETURNS void
    LANGUAGE plpgsql
    AS $$
DECLARE
    exhausted jsonb;
BEGIN
    PERFORM dispatch.close_round_offers(request.id);
    IF request.offer_round < dispatch.setting_numeric('offer_max_rounds') THEN
        PERFORM dispatch.start_offer_round(request);
        RETURN;
    END IF;
    UPDATE dispatch.assistance_requests r
       SET searching = false, round_ends_at = NULL, exhausted_at = now()
     WHERE r.id = request.id;
    exhausted := jsonb_build_object('type', 'search_exhausted', 'assistance_id', request.id);
    PERFORM dispatch.emit_many(ARRAY['assistance:' || request.id, 'dispatch'],
                               ARRAY[exhausted, exhausted]);
END;
$$;

--
-- Name: FUNCTION advance_offer_round(request dispatch.assistance_requests); Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON FUNCTION dispatch.advance_offer_round(request dispatch.assistance_requests) IS 'Internal (request row locked): expire the current round''s open offers, then start the next round, or after offer_max_rounds exhaust the search (searching false, exhausted_at, {type: search_exhausted, assistance_id} to assistance:<id> and dispatch).';

--
-- Name: advance_offer_rounds(integer); Type: FUNCTION; Schema: dispatch; Owner: -
--

CREATE FUNCTION dispatch.advance_offer_rounds(max_requests integer DEFAULT 100) RETURNS integer
    LANGUAGE plpgsql
    AS $$
DECLARE
    req     dispatch.assistance_requests;
    changed integer := 0;
BEGIN
    -- Due rounds, oldest deadline first. SKIP LOCKED: concurrent drivers (every server process)
    -- take disjoint requests, and a request being accepted or declined right now waits its turn.
    FOR req IN
        SELECT * FROM dispatch.assistance_requests r
         WHERE r.searching AND r.round_ends_at <= now() AND r.status = 'requested'
         ORDER BY r.round_ends_at
         LIMIT max_requests
         FOR UPDATE SKIP LOCKED
    LOOP
        PERFORM dispatch.advance_offer_round(req);
        changed := changed + 1;
    END LOOP;
    -- Supply arriving: each searching request is checked once per offer_arrival_check_s (in all,
    -- not per process), so the cost follows the number of searching requests, not positions.
    FOR req IN
        SELECT * FROM dispatch.assistance_requests r
         WHERE r.searching AND r.status = 'requested' AND r.round_ends_at > now()
           AND r.arrivals_checked_at
               <= now() - make_interval(secs => dispatch.setting_numeric('offer_arrival_check_s'))
         ORDER BY r.arrivals_checked_at
         LIMIT max_requests
         FOR UPDATE SKIP LOCKED
    LOOP
        IF dispatch.offer_to_arrivals(req) > 0 THEN
            changed := changed + 1;
        END IF;
    END LOOP;
    RETURN changed;
END;
$$;

--
-- Name: FUNCTION advance_offer_rounds(max_requests integer); Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON FUNCTION dispatch.advance_offer_rounds(max_requests integer) IS 'The round driver (every server process calls it several times a second; safe from any number of sessions): advance up to max_requests requests whose round ended (next round or search_exhausted), then offer running rounds to newly eligible assistants within reach. Returns the number of requests that changed.';

--
-- Name: announce_deleted_users(); Type: FUNCTION; Schema: dispatch; Owner: -
--

CREATE FUNCTION dispatch.announce_deleted_users() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    PERFORM dispatch.emit('sys:revocations', jsonb_build_object('users', jsonb_agg(o.id)))
    FROM old_rows o
    HAVING count(*) > 0;
    RETURN NULL;
END;
$$;

--
-- Name: FUNCTION announce_deleted_users(); Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON FUNCTION dispatch.announce_deleted_users() IS 'Trigger: emits {users: [id]} on topic sys:revocations when users are deleted.';

--
-- Name: announce_revoked_sessions(); Type: FUNCTION; Schema: dispatch; Owner: -
--

CREATE FUNCTION dispatch.announce_revoked_sessions() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    PERFORM dispatch.emit('sys:revocations', jsonb_build_object(
        'sessions', (SELECT jsonb_agg(DISTINCT jsonb_build_object('user_id', n.user_id,
                                                                  'family', n.family_id))
                       FROM new_rows n JOIN old_rows o ON o.id = n.id
                      WHERE o.revoked_at IS NULL AND n.revoked_at IS NOT NULL)))
    WHERE EXISTS (SELECT 1 FROM new_rows n JOIN old_rows o ON o.id = n.id
                   WHERE o.revoked_at IS NULL AND n.revoked_at IS NOT NULL);
    RETURN NULL;
END;
$$;

--
-- Name: FUNCTION announce_revoked_sessions(); Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON FUNCTION dispatch.announce_revoked_sessions() IS 'Trigger: emits {sessions: [{user_id, family}]} on topic sys:revocations when refresh tokens are revoked.';

--
-- Name: announce_revoked_users(); Type: FUNCTION; Schema: dispatch; Owner: -
--

CREATE FUNCTION dispatch.announce_revoked_users() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    PERFORM dispatch.emit('sys:revocations', jsonb_build_object('users', jsonb_agg(o.id)))
    FROM old_rows o JOIN new_rows n ON n.id = o.id
    WHERE n.is_disabled AND NOT o.is_disabled
    HAVING count(*) > 0;
    RETURN NULL;
END;
$$;

--
-- Name: FUNCTION announce_revoked_users(); Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON FUNCTION dispatch.announce_revoked_users() IS 'Trigger: emits {users: [id]} on topic sys:revocations when users are disabled.';

--
-- Name: arrivals_key(dispatch.assistance_requests, integer); Type: FUNCTION; Schema: dispatch; Owner: -
--

CREATE FUNCTION dispatch.arrivals_key(request dispatch.assistance_requests, k integer) RETURNS integer
    LANGUAGE plpgsql STABLE
    AS $$
BEGIN
    RETURN (SELECT hashtext(coalesce(string_agg(s.assistant_id || '@' || s.moved_at, ','
                                                ORDER BY s.assistant_id), ''))
              FROM dispatch.preselect_candidates(request.id, request.pickup, request.service_type,
                                                 request.round_radius_m, k) s);
END;
$$;

--
-- Name: FUNCTION arrivals_key(request dispatch.assistance_requests, k integer); Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON FUNCTION dispatch.arrivals_key(request dispatch.assistance_requests, k integer) IS 'Internal: a hash of the request''s straight-line preselection now (who, and when each last moved): unchanged since the last look for arrivals, there is nothing new to route.';

--
-- Name: assign_assistance(bigint, bigint, bigint, text); Type: FUNCTION; Schema: dispatch; Owner: -
--

CREATE FUNCTION dispatch.assign_assistance(assistance_id bigint, assistant_id bigint, dispatcher_id bigint, reason text DEFAULT NULL::text) RETURNS jsonb
    LANGUAGE plpgsql
    AS $$
#variable_conflict use_column
DECLARE
    req dispatch.assistance_requests;
BEGIN
    PERFORM dispatch.require_dispatcher(dispatcher_id);
    SELECT * INTO req FROM dispatch.assistance_requests r WHERE r.id = assign_assistance.assistance_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'Assistance request not found.' USING ERRCODE = 'DP001';
    END IF;
    -- The assistant's profile first, then the request (inside take_request): the lock order of
    -- an accept, so an assign and accepts never deadlock.
    PERFORM dispatch.lock_job_taker(assign_assistance.assistant_id, req.service_type, true);
    -- The same exactly-one-winner path as an assistant's accept (offers.sql): of an assign racing
    -- accepts, the first to lock the row finds it requested; the others get DP003.
    req := dispatch.take_request(assign_assistance.assistance_id, assign_assistance.assistant_id,
                                 dispatcher_id, 'assigned');
    -- take_request recorded the transition (actor and role); the dispatcher's reason joins it.
    UPDATE dispatch.assistance_events e SET reason = assign_assistance.reason
     WHERE e.id = (SELECT max(x.id) FROM dispatch.assistance_events x
                    WHERE x.assistance_id = req.id AND x.to_status = 'accepted');
    PERFORM dispatch.emit_many(
        ARRAY['assistant:' || req.assistant_id, 'assistant:' || req.assistant_id],
        ARRAY[dispatch.assigned_frame(req, reason), dispatch.status_message(req)]);
    RETURN dispatch.dispatch_assistance_json(req);
END;
$$;

--
-- Name: FUNCTION assign_assistance(assistance_id bigint, assistant_id bigint, dispatcher_id bigint, reason text); Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON FUNCTION dispatch.assign_assistance(assistance_id bigint, assistant_id bigint, dispatcher_id bigint, reason text) IS 'A dispatcher gives a requested job to an available assistant (any, offered or not) through dispatch.take_request, the accept''s exactly-one-winner path (DP003 when someone else took it first): open offers close, the assistant gets "assigned" and a status frame, the request''s channel and the feed a status frame, the timeline the dispatcher and reason. DP001 unknown request, DP006 final, DP045 unknown assistant, DP005/DP004 assistant unavailable.';

--
-- Name: assigned_frame(dispatch.assistance_requests, text); Type: FUNCTION; Schema: dispatch; Owner: -
--

CREATE FUNCTION dispatch.assigned_frame(request dispatch.assistance_requests, reason text) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$
    SELECT jsonb_build_object(
        'type', 'assigned',
        'assistance_id', request.id,
        'service_type', request.service_type,
        'assistance_type', request.service_type,
        'vehicle_type', request.vehicle_type,
        'description', request.description,
        'pickup_location', dispatch.point_json(request.pickup),
        'dropoff_location', dispatch.point_json(request.dropoff),
        'distance', (SELECT round((ST_Distance(p.geog, request.pickup) / 1000)::numeric, 3)
                       FROM dispatch.positions p WHERE p.user_id = request.assistant_id),
        'distance_km', round(request.distance_km::numeric, 3),
        'eta_s', request.eta_s,
        'eta_source', request.eta_source,
        'total_price', request.total_price,
        'currency', request.currency,
        'offer_round', request.offer_round,
        'reason', reason,
        'client', (SELECT jsonb_build_object('id', c.id, 'name', c.name)
                     FROM dispatch.users c WHERE c.id = request.client_id))
$$;

--
-- Name: FUNCTION assigned_frame(request dispatch.assistance_requests, reason text); Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON FUNCTION dispatch.assigned_frame(request dispatch.assistance_requests, reason text) IS 'The "assigned" frame an assistant gets when a dispatcher gives them a job: the offer''s fields (new_assistance_request, with the assistant''s eta_s and eta_source) plus reason.';

--
-- Name: assignment_batch(bigint); Type: FUNCTION; Schema: dispatch; Owner: -
--

CREATE FUNCTION dispatch.assignment_batch(batch_id bigint) RETURNS jsonb
    LANGUAGE sql STABLE
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

--
-- Name: FUNCTION assignment_batch(batch_id bigint); Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON FUNCTION dispatch.assignment_batch(batch_id bigint) IS 'One assignment batch explained: {id, area, started_at, solve_ms, requests, assistants, matched, total_cost_s, costs: [{assistance_id, assistant_id, cost_s, eta_source, distance_m}] (every candidate pair considered), decisions: [{assistance_id, assistant_id, cost_s, ..., nearest_id, nearest_cost_s, outcome}]}; NULL for an unknown id.';

--
-- Name: assignment_fall_back(dispatch.assistance_requests); Type: FUNCTION; Schema: dispatch; Owner: -
--

CREATE FUNCTION dispatch.assignment_fall_back(request dispatch.assistance_requests) RETURNS dispatch.assistance_requests
    LANGUAGE plpgsql
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

--
-- Name: FUNCTION assignment_fall_back(request dispatch.assistance_requests); Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON FUNCTION dispatch.assignment_fall_back(request dispatch.assistance_requests) IS 'Internal (request row locked, no open offer): leave the assignment phase and start offer round 1 (dispatch.start_offer_round); those who declined or let an exclusive offer expire are not offered it again.';

--
-- Name: assignment_housekeeping(integer); Type: FUNCTION; Schema: dispatch; Owner: -
--

CREATE FUNCTION dispatch.assignment_housekeeping(max_requests integer DEFAULT 100) RETURNS integer
    LANGUAGE plpgsql
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

--
-- Name: FUNCTION assignment_housekeeping(max_requests integer); Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON FUNCTION dispatch.assignment_housekeeping(max_requests integer) IS 'Part of the batch driver''s pass: expire exclusive offers past their expires_at (their requests go back to the next batch, or to the rounds after assignment_max_batches), and send waiting requests to the rounds when no batch will come (offer_policy is not assignment). Returns the number of requests changed. Safe from any number of sessions (SKIP LOCKED).';

--
-- Name: assignment_pairs(bigint[], text); Type: FUNCTION; Schema: dispatch; Owner: -
--

CREATE FUNCTION dispatch.assignment_pairs(request_ids bigint[], area text) RETURNS TABLE(assistance_id bigint, assistant_id bigint, cost_s double precision, eta_source text, distance_m double precision)
    LANGUAGE plpgsql
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

--
-- Name: FUNCTION assignment_pairs(request_ids bigint[], area text); Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON FUNCTION dispatch.assignment_pairs(request_ids bigint[], area text) IS 'The candidate pairs of a batch: for each request, every idle eligible assistant of the area''s service type who holds no open offer and was never offered that request, with the travel time cost_s (road seconds where a graph covers the pickup, from one dispatch.road_times_matrix call for the batch; else the straight-line ETA), eta_source and distance_m; pairs over assignment_cost_cap_s are left out, and of the rest each request keeps its R cheapest (R: the number of requests), which hold the optimum.';

--
-- Name: assignment_problems(integer, double precision); Type: FUNCTION; Schema: dispatch; Owner: -
--

CREATE FUNCTION dispatch.assignment_problems(max_requests integer DEFAULT 500, lead_s double precision DEFAULT 0) RETURNS TABLE(area text, problem jsonb)
    LANGUAGE plpgsql
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

--
-- Name: FUNCTION assignment_problems(max_requests integer, lead_s double precision); Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON FUNCTION dispatch.assignment_problems(max_requests integer, lead_s double precision) IS 'The batch driver''s question: for each area (service type) whose oldest waiting request has waited assignment_window_s (less lead_s, at most half the window: the driver starts that much early so that the offers leave within the window), its waiting requests (up to max_requests, locked FOR UPDATE SKIP LOCKED until the caller''s transaction ends) and the candidate pairs (dispatch.assignment_pairs) as {requests: [id], pairs: [[assistance_id, assistant_id, cost_s, eta_source, distance_m]]}.';

--
-- Name: assignment_requeue(dispatch.assistance_requests); Type: FUNCTION; Schema: dispatch; Owner: -
--

CREATE FUNCTION dispatch.assignment_requeue(request dispatch.assistance_requests) RETURNS dispatch.assistance_requests
    LANGUAGE plpgsql
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

--
-- Name: FUNCTION assignment_requeue(request dispatch.assistance_requests); Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON FUNCTION dispatch.assignment_requeue(request dispatch.assistance_requests) IS 'Internal (request row locked, its exclusive offer just declined or expired): back into the next batch, or to the rounds once it took part in assignment_max_batches batches (or the policy is no longer assignment).';

--
-- Name: assistance_json(dispatch.assistance_requests); Type: FUNCTION; Schema: dispatch; Owner: -
--

CREATE FUNCTION dispatch.assistance_json(request dispatch.assistance_requests) RETURNS jsonb
    LANGUAGE plpgsql STABLE
    AS $$
BEGIN
    -- plpgsql so the plan is cached per session (a non-inlined SQL function is re-planned
    -- on every call).
    RETURN (
    SELECT jsonb_build_object(
            'id', request.id,
            'status', request.status,
            'service_type', request.service_type,
            'vehicle_type', request.vehicle_type,
            'description', request.description,
            'client', (SELECT jsonb_build_object('id', c.id, 'name', c.name, 'phone', c.phone_number,
                                                 'phone_number', c.phone_number)
                         FROM dispatch.users c WHERE c.id = request.client_id),
            -- The assistant's position only while the job is accepted or ongoing: a finished
            -- or canceled job must not let its client follow the assistant afterwards.
            'assistant', (SELECT jsonb_build_object('id', s.id, 'name', s.name, 'phone', s.phone_number,
                                                    'phone_number', s.phone_number,
                                                    'lat', ST_Y(p.geog::geometry),
                                                    'lng', ST_X(p.geog::geometry))
                            FROM dispatch.users s
                            LEFT JOIN dispatch.positions p
                                   ON p.user_id = s.id AND request.status IN ('accepted', 'ongoing')
                            WHERE s.id = request.assistant_id),
            'pickup_lat', ST_Y(request.pickup::geometry),
            'pickup_lng', ST_X(request.pickup::geometry),
            'dropoff_lat', ST_Y(request.dropoff::geometry),
            'dropoff_lng', ST_X(request.dropoff::geometry),
            'pickupLocation', dispatch.point_json(request.pickup),
            'dropoffLocation', dispatch.point_json(request.dropoff),
            'distance_km', round(request.distance_km::numeric, 3),
            'distance_source', request.distance_source,
            -- The assistant's ETA to the pickup while they are on their way (etas.sql).
            'eta_s', CASE WHEN request.status = 'accepted' THEN request.eta_s END,
            'eta_source', CASE WHEN request.status = 'accepted' THEN request.eta_source END,
            'total_price', request.total_price,
            'currency', request.currency,
            'surge_multiplier', request.price -> 'surge_multiplier',
            'price_breakdown', request.price -> 'lines',
            'searching', request.searching,
            'offer_round', request.offer_round,
            'rating', (SELECT r.rating FROM dispatch.ratings r WHERE r.assistance_id = request.id),
            'comment', (SELECT r.comment FROM dispatch.ratings r WHERE r.assistance_id = request.id),
            'created_at', dispatch.iso_utc(request.created_at),
            'updated_at', dispatch.iso_utc(request.updated_at),
            'createdAt', dispatch.iso_utc(request.created_at),
            'updatedAt', dispatch.iso_utc(request.updated_at)
        )
    );
END;
$$;

--
-- Name: FUNCTION assistance_json(request dispatch.assistance_requests); Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON FUNCTION dispatch.assistance_json(request dispatch.assistance_requests) IS 'The API''s assistance object (both renditions'' field names) for a request row.';

--
-- Name: assistance_track(bigint, bigint); Type: FUNCTION; Schema: dispatch; Owner: -
--

CREATE FUNCTION dispatch.assistance_track(assistance_id bigint, user_id bigint) RETURNS jsonb
    LANGUAGE plpgsql STABLE
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

--
-- Name: FUNCTION assistance_track(assistance_id bigint, user_id bigint); Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON FUNCTION dispatch.assistance_track(assistance_id bigint, user_id bigint) IS 'The assistant''s path during a job (accepted until completed or canceled, or now) as a GeoJSON LineString ([lng, lat] positions, oldest first) with foreign members assistance_id, assistant_id, status, started_at, ended_at and timestamps (one per position); no positions before an accept. NULL unless the user is a party of the job or a dispatcher.';

--
-- Name: assistant_eta(bigint, public.geography); Type: FUNCTION; Schema: dispatch; Owner: -
--

CREATE FUNCTION dispatch.assistant_eta(assistant_id bigint, pickup public.geography, OUT eta_s integer, OUT eta_source text) RETURNS record
    LANGUAGE plpgsql STABLE
    AS $$
DECLARE
    place geography;
BEGIN
    SELECT p.geog INTO place FROM dispatch.positions p WHERE p.user_id = assistant_eta.assistant_id;
    IF place IS NULL THEN
        RETURN;
    END IF;
    SELECT r.eta_s, r.eta_source INTO eta_s, eta_source
      FROM dispatch.rank_by_eta(pickup, ARRAY[assistant_id], ARRAY[place],
                                ARRAY[ST_Distance(place, pickup)], 1) r;
END;
$$;

--
-- Name: FUNCTION assistant_eta(assistant_id bigint, pickup public.geography, OUT eta_s integer, OUT eta_source text); Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON FUNCTION dispatch.assistant_eta(assistant_id bigint, pickup public.geography, OUT eta_s integer, OUT eta_source text) IS 'One assistant''s ETA to a pickup from their last position (NULLs without one).';

--
-- Name: assistant_state(bigint); Type: FUNCTION; Schema: dispatch; Owner: -
--

CREATE FUNCTION dispatch.assistant_state(assistant_id bigint) RETURNS text
    LANGUAGE plpgsql STABLE
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

--
-- Name: FUNCTION assistant_state(assistant_id bigint); Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON FUNCTION dispatch.assistant_state(assistant_id bigint) IS 'An assistant as the dispatcher sees them: offline (inactive or disabled), busy (an accepted or ongoing job), offered (an open, unexpired offer) or idle; NULL for a non-assistant.';

--
-- Name: assistant_utilisation(date, date); Type: FUNCTION; Schema: dispatch; Owner: -
--

CREATE FUNCTION dispatch.assistant_utilisation(since date, until date) RETURNS TABLE(day date, assistant_id bigint, name text, online_minutes double precision, on_job_minutes double precision, idle_minutes double precision, jobs bigint, offers bigint, offers_accepted bigint, acceptance_rate numeric)
    LANGUAGE sql STABLE
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

--
-- Name: FUNCTION assistant_utilisation(since date, until date); Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON FUNCTION dispatch.assistant_utilisation(since date, until date) IS 'Per UTC day in [since, until) and assistant with any activity: minutes online (active), on a job (accepted to completed/canceled), idle (online minus on a job), jobs taken that day, offers received and accepted, and the acceptance rate (accepted / answered or expired offers; NULL without any).';

--
-- Name: booking_availability(bigint[], text, date, integer); Type: FUNCTION; Schema: dispatch; Owner: -
--

CREATE FUNCTION dispatch.booking_availability(cells_r7 bigint[], service_type text, day date, weeks integer DEFAULT 4) RETURNS TABLE(slot_start timestamp with time zone, slot_end timestamp with time zone, expected_idle_assistants numeric, sampled_days integer, bookable boolean)
    LANGUAGE sql STABLE
    AS $$
    -- Each hour of the day is predicted from the same hour on the same weekday of the previous
    -- weeks: the mean idle supply in the cells, averaged over the weeks that were sampled.
    WITH hours AS (
        SELECT (day::timestamp AT TIME ZONE 'UTC') + make_interval(hours => h) AS start, h
          FROM generate_series(0, 23) h
    ), past AS (
        SELECT hr.h, w, s.samples,
               coalesce((SELECT sum(x.idle_sum) FROM dispatch.supply_history x
                          WHERE x.hour = s.hour AND x.h3_r7 = ANY (booking_availability.cells_r7)
                            AND x.service_type = booking_availability.service_type), 0) AS idle_sum
          FROM hours hr
         CROSS JOIN generate_series(1, greatest(booking_availability.weeks, 1)) w
          JOIN dispatch.supply_samples s ON s.hour = hr.start - make_interval(days => 7 * w)
    )
    SELECT hr.start, hr.start + interval '1 hour',
           round(avg(p.idle_sum::numeric / p.samples), 2),
           count(p.w)::integer,
           hr.start + interval '1 hour'
               > now() + make_interval(secs => coalesce(dispatch.setting_numeric('booking_min_ahead_s'), 900))
           AND hr.start <= now() + make_interval(
               days => coalesce(dispatch.setting_numeric('booking_max_ahead_days'), 30)::integer)
      FROM hours hr LEFT JOIN past p ON p.h = hr.h
     GROUP BY hr.start
     ORDER BY hr.start
$$;

--
-- Name: FUNCTION booking_availability(cells_r7 bigint[], service_type text, day date, weeks integer); Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON FUNCTION dispatch.booking_availability(cells_r7 bigint[], service_type text, day date, weeks integer) IS 'Hourly slots (UTC) of a day with the idle assistants of a service type expected in the given H3 r7 cells: the mean over the same hour of the same weekday in the previous `weeks` weeks (dispatch.supply_history); NULL when none was sampled. bookable: a booking may start in it.';

--
-- Name: bookings; Type: TABLE; Schema: dispatch; Owner: -
--

CREATE TABLE dispatch.bookings (
    id bigint NOT NULL,
    client_id bigint NOT NULL,
    status text DEFAULT 'scheduled'::text NOT NULL,
    service_type text NOT NULL,
    vehicle_type text NOT NULL,
    vehicle_id bigint,
    description text DEFAULT ''::text NOT NULL,
    pickup public.geography(Point,4326) NOT NULL,
    dropoff public.geography(Point,4326),
    pickup_h3_r7 bigint NOT NULL,
    neighbour_cells_r7 bigint[] NOT NULL,
    scheduled_for timestamp with time zone NOT NULL,
    assistance_id bigint,
    failure_code text,
    failure_reason text,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    converted_at timestamp with time zone,
    canceled_at timestamp with time zone,
    failed_at timestamp with time zone,
    CONSTRAINT bookings_failure_check CHECK (((status = 'failed'::text) = (failure_code IS NOT NULL))),
    CONSTRAINT bookings_service_type_check CHECK ((service_type = ANY (ARRAY['towing'::text, 'repair'::text]))),
    CONSTRAINT bookings_status_check CHECK ((status = ANY (ARRAY['scheduled'::text, 'converted'::text, 'failed'::text, 'canceled'::text]))),
    CONSTRAINT bookings_vehicle_type_check CHECK ((vehicle_type = ANY (ARRAY['light'::text, 'heavy'::text])))
);

--
-- Name: TABLE bookings; Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON TABLE dispatch.bookings IS 'Scheduled bookings: at scheduled_for minus booking_lead_time_s, dispatch.activate_due_bookings turns each into one assistance request (converted) or records why it could not (failed).';

--
-- Name: COLUMN bookings.status; Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON COLUMN dispatch.bookings.status IS 'scheduled -> converted (an assistance request exists) | failed (could not become one) | canceled (by the client, while scheduled). The last three are final.';

--
-- Name: COLUMN bookings.vehicle_id; Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON COLUMN dispatch.bookings.vehicle_id IS 'The client''s own vehicle (dispatch.vehicles), checked when booked.';

--
-- Name: COLUMN bookings.neighbour_cells_r7; Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON COLUMN dispatch.bookings.neighbour_cells_r7 IS 'The pickup''s H3 r7 cell and its neighbours, computed by the application with the h3 package when the booking is made (the database has no H3).';

--
-- Name: COLUMN bookings.failure_code; Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON COLUMN dispatch.bookings.failure_code IS 'Why a booking failed: the SQLSTATE''s machine code (OPEN_REQUEST_EXISTS, ...); failure_reason holds its sentence.';

--
-- Name: booking_json(dispatch.bookings); Type: FUNCTION; Schema: dispatch; Owner: -
--

CREATE FUNCTION dispatch.booking_json(booking dispatch.bookings) RETURNS jsonb
    LANGUAGE plpgsql STABLE
    AS $$
DECLARE
    lead numeric := coalesce(dispatch.setting_numeric('booking_lead_time_s'), 0);
BEGIN
    RETURN jsonb_build_object(
        'id', booking.id,
        'status', booking.status,
        'service_type', booking.service_type,
        'vehicle_type', booking.vehicle_type,
        'vehicle_id', booking.vehicle_id,
        'description', booking.description,
        'pickup_lat', ST_Y(booking.pickup::geometry),
        'pickup_lng', ST_X(booking.pickup::geometry),
        'dropoff_lat', ST_Y(booking.dropoff::geometry),
        'dropoff_lng', ST_X(booking.dropoff::geometry),
        'pickupLocation', dispatch.point_json(booking.pickup),
        'dropoffLocation', dispatch.point_json(booking.dropoff),
        'scheduled_for', dispatch.iso_utc(booking.scheduled_for),
        'scheduledFor', dispatch.iso_utc(booking.scheduled_for),
        'activates_at', dispatch.iso_utc(booking.scheduled_for - make_interval(secs => lead)),
        'assistance_id', booking.assistance_id,
        'failure', CASE WHEN booking.failure_code IS NULL THEN NULL
                        ELSE jsonb_build_object('code', booking.failure_code,
                                                'reason', booking.failure_reason) END,
        'created_at', dispatch.iso_utc(booking.created_at),
        'createdAt', dispatch.iso_utc(booking.created_at),
        'updated_at', dispatch.iso_utc(booking.updated_at),
        'updatedAt', dispatch.iso_utc(booking.updated_at)
    );
END;
$$;

--
-- Name: FUNCTION booking_json(booking dispatch.bookings); Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON FUNCTION dispatch.booking_json(booking dispatch.bookings) IS 'The API''s booking object for a dispatch.bookings row.';

--
-- Name: can_read_assistance(bigint, bigint); Type: FUNCTION; Schema: dispatch; Owner: -
--

CREATE FUNCTION dispatch.can_read_assistance(assistance_id bigint, user_id bigint) RETURNS boolean
    LANGUAGE sql STABLE
    AS $$
    -- EXISTS is true or false, never NULL: `user_id IN (client_id, assistant_id)` alone is NULL
    -- for a stranger while the request has no assistant, and a plpgsql `IF NOT (...)` lets a
    -- NULL through.
    SELECT EXISTS (
        SELECT 1
          FROM dispatch.assistance_requests r
          JOIN dispatch.users u ON u.id = can_read_assistance.user_id
         WHERE r.id = can_read_assistance.assistance_id
           AND (u.id = r.client_id OR u.id = r.assistant_id OR u.role = 'dispatcher'))
$$;

--
-- Name: FUNCTION can_read_assistance(assistance_id bigint, user_id bigint); Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON FUNCTION dispatch.can_read_assistance(assistance_id bigint, user_id bigint) IS 'The one read rule of a request: true when the user is its client, its assigned assistant or a dispatcher; false otherwise (an unknown request or user included, never NULL). Every reader of one request (view, track, chat history, cost lines, invoice) asks it.';

--
-- Name: cancel_booking(bigint, bigint); Type: FUNCTION; Schema: dispatch; Owner: -
--

CREATE FUNCTION dispatch.cancel_booking(booking_id bigint, client_id bigint) RETURNS jsonb
    LANGUAGE plpgsql
    AS $$
#variable_conflict use_column
DECLARE
    booking dispatch.bookings;
BEGIN
    -- Waits for an activator holding the row: the answer then reflects its outcome.
    SELECT * INTO booking FROM dispatch.bookings b WHERE b.id = cancel_booking.booking_id FOR UPDATE;
    IF NOT FOUND OR booking.client_id <> cancel_booking.client_id THEN
        RAISE EXCEPTION 'Booking not found.' USING ERRCODE = 'DP032';
    END IF;
    IF booking.status <> 'scheduled' THEN
        RAISE EXCEPTION 'This booking is already %.', booking.status
            USING ERRCODE = 'DP033',
                  DETAIL = jsonb_build_object('status', booking.status,
                                              'assistance_id', booking.assistance_id)::text;
    END IF;
    UPDATE dispatch.bookings b SET status = 'canceled', canceled_at = now(), updated_at = now()
     WHERE b.id = booking.id
    RETURNING * INTO booking;
    RETURN dispatch.booking_json(booking);
END;
$$;

--
-- Name: FUNCTION cancel_booking(booking_id bigint, client_id bigint); Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON FUNCTION dispatch.cancel_booking(booking_id bigint, client_id bigint) IS 'The client cancels a scheduled booking. DP032 unknown or another client''s booking, DP033 no longer scheduled (converted, failed or canceled; its status and assistance_id in DETAIL).';

--
-- Name: candidates_json(bigint, public.geography, text, double precision, double precision); Type: FUNCTION; Schema: dispatch; Owner: -
--

CREATE FUNCTION dispatch.candidates_json(assistance_id bigint, pickup public.geography, service_type text, radius_m double precision, sooner_than_s double precision DEFAULT NULL::double precision) RETURNS jsonb
    LANGUAGE plpgsql STABLE
    AS $$
BEGIN
    -- plpgsql so the plan is cached per session: as a (non-inlinable) SQL function the KNN query
    -- inside was planned again on every call, 4.4 ms of a request's ~8.5 ms in the database.
    RETURN (
    SELECT coalesce(jsonb_agg(jsonb_build_object('assistant_id', n.assistant_id,
                                                 'distance', round((n.distance_m / 1000)::numeric, 3),
                                                 'distance_m', n.distance_m,
                                                 'eta_s', n.eta_s,
                                                 'eta_source', n.eta_source)
                              ORDER BY n.eta_source = 'straight_line', n.rank_s, n.distance_m,
                                       n.assistant_id), '[]')
    FROM dispatch.offer_candidates(candidates_json.assistance_id, candidates_json.pickup,
                                   candidates_json.service_type, candidates_json.radius_m,
                                   dispatch.setting_numeric('matching_max_results')::integer) n
    WHERE candidates_json.sooner_than_s IS NULL OR n.rank_s < candidates_json.sooner_than_s
    );
END;
$$;

--
-- Name: FUNCTION candidates_json(assistance_id bigint, pickup public.geography, service_type text, radius_m double precision, sooner_than_s double precision); Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON FUNCTION dispatch.candidates_json(assistance_id bigint, pickup public.geography, service_type text, radius_m double precision, sooner_than_s double precision) IS 'dispatch.offer_candidates (N = matching_max_results) as [{assistant_id, distance (km), distance_m, eta_s, eta_source}], optionally only those sooner than sooner_than_s (the ranking key, seconds).';

--
-- Name: cell_demand_supply(integer, timestamp with time zone, timestamp with time zone); Type: FUNCTION; Schema: dispatch; Owner: -
--

CREATE FUNCTION dispatch.cell_demand_supply(resolution integer, since timestamp with time zone, until timestamp with time zone DEFAULT now()) RETURNS TABLE(cell bigint, hour timestamp with time zone, requests bigint, accepted bigint, exhausted bigint, unserved bigint, idle_assistants bigint)
    LANGUAGE plpgsql STABLE
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

--
-- Name: FUNCTION cell_demand_supply(resolution integer, since timestamp with time zone, until timestamp with time zone); Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON FUNCTION dispatch.cell_demand_supply(resolution integer, since timestamp with time zone, until timestamp with time zone) IS 'Demand and idle supply per H3 cell (resolution 7 or 8) and UTC hour in [since, until): requests made (by pickup cell), accepted, exhausted, unserved (canceled before any accept), and idle_assistants: distinct assistants who reported a position in the cell that hour while active and without a job. DP048 for another resolution.';

--
-- Name: cell_supply_from_positions(); Type: FUNCTION; Schema: dispatch; Owner: -
--

CREATE FUNCTION dispatch.cell_supply_from_positions() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    -- One signed delta per cell; cells are locked in h3 order so two concurrent writers that move
    -- assistants between the same cells cannot deadlock on these rows.
    IF TG_OP = 'INSERT' THEN
        INSERT INTO dispatch.cell_supply AS c (h3_r7, idle_assistants)
        SELECT n.h3_r7, count(*) FROM new_rows n WHERE n.matchable GROUP BY n.h3_r7 ORDER BY 1
        ON CONFLICT (h3_r7) DO UPDATE SET idle_assistants = c.idle_assistants + EXCLUDED.idle_assistants;
    ELSIF TG_OP = 'DELETE' THEN
        UPDATE dispatch.cell_supply c SET idle_assistants = c.idle_assistants - d.n
        FROM (SELECT o.h3_r7, count(*) AS n FROM old_rows o WHERE o.matchable GROUP BY o.h3_r7) d
        WHERE c.h3_r7 = d.h3_r7;
    ELSE
        INSERT INTO dispatch.cell_supply AS c (h3_r7, idle_assistants)
        SELECT d.h3_r7, sum(d.n)
        FROM (SELECT n.h3_r7, 1 AS n FROM new_rows n WHERE n.matchable
              UNION ALL
              SELECT o.h3_r7, -1 FROM old_rows o WHERE o.matchable) d
        GROUP BY d.h3_r7
        HAVING sum(d.n) <> 0
        ORDER BY 1
        ON CONFLICT (h3_r7) DO UPDATE SET idle_assistants = c.idle_assistants + EXCLUDED.idle_assistants;
    END IF;
    RETURN NULL;
END;
$$;

--
-- Name: FUNCTION cell_supply_from_positions(); Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON FUNCTION dispatch.cell_supply_from_positions() IS 'Trigger: apply the change of matchable positions per H3 r7 cell to dispatch.cell_supply.';

--
-- Name: channel_party(dispatch.assistance_requests, bigint); Type: FUNCTION; Schema: dispatch; Owner: -
--

CREATE FUNCTION dispatch.channel_party(request dispatch.assistance_requests, user_id bigint) RETURNS boolean
    LANGUAGE sql IMMUTABLE
    AS $$
    SELECT coalesce(user_id = request.client_id
                    OR (user_id = request.assistant_id AND request.status IN ('accepted', 'ongoing')),
                    false)
$$;

--
-- Name: FUNCTION channel_party(request dispatch.assistance_requests, user_id bigint); Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON FUNCTION dispatch.channel_party(request dispatch.assistance_requests, user_id bigint) IS 'Whether a user is a party of a job''s channel: its client, or its assistant while the job is accepted or ongoing. Never NULL.';

--
-- Name: channel_status(bigint, bigint); Type: FUNCTION; Schema: dispatch; Owner: -
--

CREATE FUNCTION dispatch.channel_status(assistance_id bigint, user_id bigint) RETURNS jsonb
    LANGUAGE plpgsql STABLE
    AS $$
BEGIN
    -- plpgsql so the plan is cached per session (a non-inlined SQL function is re-planned
    -- on every call).
    RETURN (
    SELECT dispatch.status_message(r)
        FROM dispatch.assistance_requests r
        WHERE r.id = channel_status.assistance_id
          AND dispatch.channel_party(r, channel_status.user_id)
    );
END;
$$;

--
-- Name: FUNCTION channel_status(assistance_id bigint, user_id bigint); Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON FUNCTION dispatch.channel_status(assistance_id bigint, user_id bigint) IS 'The current "status" frame of a request for a party of its channel (dispatch.channel_party); NULL for anyone else or an unknown request.';

--
-- Name: chat_history(bigint, bigint, bigint, integer); Type: FUNCTION; Schema: dispatch; Owner: -
--

CREATE FUNCTION dispatch.chat_history(assistance_id bigint, user_id bigint, before_id bigint DEFAULT NULL::bigint, page_size integer DEFAULT 50) RETURNS jsonb
    LANGUAGE plpgsql STABLE
    AS $$
DECLARE
    page jsonb;
    last_id bigint;
    more boolean;
BEGIN
    IF NOT dispatch.can_read_assistance(chat_history.assistance_id, chat_history.user_id) THEN
        RETURN NULL;
    END IF;
    SELECT coalesce(jsonb_agg(jsonb_build_object(
               'id', m.id,
               'type', 'chat',
               'message', m.message,
               'sender', m.sender_id,
               'sender_id', m.sender_id,
               'sender_name', u.name,
               'sender_role', u.role,
               'sent_at', dispatch.iso_utc(m.sent_at),
               'sentAt', dispatch.iso_utc(m.sent_at)) ORDER BY m.id DESC), '[]'),
           min(m.id)
      INTO page, last_id
      FROM (SELECT * FROM dispatch.chat_messages c
             WHERE c.assistance_id = chat_history.assistance_id
               AND (chat_history.before_id IS NULL OR c.id < chat_history.before_id)
             ORDER BY c.id DESC
             LIMIT chat_history.page_size) m
      JOIN dispatch.users u ON u.id = m.sender_id;
    more := last_id IS NOT NULL AND EXISTS (
        SELECT 1 FROM dispatch.chat_messages c
         WHERE c.assistance_id = chat_history.assistance_id AND c.id < last_id);
    RETURN jsonb_build_object('results', page,
                              'next_before', CASE WHEN more THEN last_id END);
END;
$$;

--
-- Name: FUNCTION chat_history(assistance_id bigint, user_id bigint, before_id bigint, page_size integer); Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON FUNCTION dispatch.chat_history(assistance_id bigint, user_id bigint, before_id bigint, page_size integer) IS 'A page of a job''s chat, newest first: messages with id below before_id (all when NULL), at most page_size; next_before is the id to pass for the next (older) page, NULL at the start. NULL unless the user is a party of the job or a dispatcher.';

--
-- Name: check_code(bigint, text, bytea, integer); Type: FUNCTION; Schema: dispatch; Owner: -
--

CREATE FUNCTION dispatch.check_code(for_user bigint, for_purpose text, given_hash bytea, max_attempts integer) RETURNS text
    LANGUAGE plpgsql
    AS $$
DECLARE
    c dispatch.one_time_codes%ROWTYPE;
BEGIN
    SELECT * INTO c FROM dispatch.one_time_codes
     WHERE user_id = for_user AND purpose = for_purpose AND consumed_at IS NULL
       FOR UPDATE;
    IF NOT FOUND THEN
        RETURN 'invalid';
    END IF;
    IF c.attempts >= max_attempts THEN
        RETURN 'exhausted';
    END IF;
    IF c.expires_at <= now() THEN
        RETURN 'expired';
    END IF;
    IF c.code_hash = given_hash THEN
        UPDATE dispatch.one_time_codes SET consumed_at = now() WHERE id = c.id;
        RETURN 'ok';
    END IF;
    UPDATE dispatch.one_time_codes SET attempts = attempts + 1 WHERE id = c.id;
    RETURN 'invalid';
END;
$$;

--
-- Name: FUNCTION check_code(for_user bigint, for_purpose text, given_hash bytea, max_attempts integer); Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON FUNCTION dispatch.check_code(for_user bigint, for_purpose text, given_hash bytea, max_attempts integer) IS 'Check a one-time code: ok (and consumed), invalid (a wrong try is counted), expired, exhausted.';

--
-- Name: check_resolution(integer); Type: FUNCTION; Schema: dispatch; Owner: -
--

CREATE FUNCTION dispatch.check_resolution(resolution integer) RETURNS void
    LANGUAGE plpgsql IMMUTABLE
    AS $$
BEGIN
    IF resolution IS NULL OR resolution NOT IN (7, 8) THEN
        RAISE EXCEPTION 'The H3 resolution must be 7 or 8.' USING ERRCODE = 'DP048';
    END IF;
END;
$$;

--
-- Name: FUNCTION check_resolution(resolution integer); Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON FUNCTION dispatch.check_resolution(resolution integer) IS 'Raise DP048 unless the resolution is one the analyst functions keep figures for (7 or 8).';

--
-- Name: close_offers(bigint, bigint, text, text); Type: FUNCTION; Schema: dispatch; Owner: -
--

CREATE FUNCTION dispatch.close_offers(assistance_id bigint, winner_id bigint, closed_state text, reason text) RETURNS integer
    LANGUAGE plpgsql
    AS $$
DECLARE
    topics text[];
    frames jsonb[];
    gone   integer;
BEGIN
    -- One statement, one batch: the dispatchers' frame of every closed offer (the winner's
    -- first), then each other assistant's offer_withdrawn.
    WITH won AS (
        UPDATE dispatch.offers o SET state = 'accepted', closed_at = now()
         WHERE o.assistance_id = close_offers.assistance_id
           AND o.assistant_id = close_offers.winner_id AND o.state = 'open'
        RETURNING o.*
    ), closed AS (
        UPDATE dispatch.offers o
           SET state = close_offers.closed_state, closed_at = now(),
               close_reason = CASE WHEN close_offers.closed_state = 'withdrawn'
                                   THEN close_offers.reason END
         WHERE o.assistance_id = close_offers.assistance_id AND o.state = 'open'
           AND o.assistant_id IS DISTINCT FROM close_offers.winner_id
        RETURNING o.*
    ), pickup AS (
        SELECT dispatch.point_json(r.pickup) AS p FROM dispatch.assistance_requests r
         WHERE r.id = close_offers.assistance_id
    ), frames AS (
        SELECT 0 AS part, w.assistant_id, 'dispatch' AS topic, dispatch.feed_offer_frame(w, p.p) AS frame
          FROM won w, pickup p
        UNION ALL
        SELECT 1, x.assistant_id, 'dispatch', dispatch.feed_offer_frame(x, p.p) FROM closed x, pickup p
        UNION ALL
        SELECT 2, x.assistant_id, 'assistant:' || x.assistant_id,
               jsonb_build_object('type', 'offer_withdrawn',
                                  'assistance_id', close_offers.assistance_id,
                                  'reason', close_offers.reason)
          FROM closed x
    )
    SELECT array_agg(f.topic ORDER BY f.part, f.assistant_id),
           array_agg(f.frame ORDER BY f.part, f.assistant_id),
           count(*) FILTER (WHERE f.part = 2)
      INTO topics, frames, gone
      FROM frames f;
    IF topics IS NOT NULL THEN
        PERFORM dispatch.emit_many(topics, frames);
    END IF;
    RETURN gone;
END;
$$;

--
-- Name: FUNCTION close_offers(assistance_id bigint, winner_id bigint, closed_state text, reason text); Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON FUNCTION dispatch.close_offers(assistance_id bigint, winner_id bigint, closed_state text, reason text) IS 'Internal: close every open offer of a request: winner_id''s (if any) becomes accepted, the others closed_state (withdrawn with close_reason = reason, or expired); each of those assistants gets {type: offer_withdrawn, assistance_id, reason} and the dispatchers an "offer" frame per closed offer, in one batch. Returns how many were not accepted.';

--
-- Name: close_open_offers(bigint, bigint, text); Type: FUNCTION; Schema: dispatch; Owner: -
--

CREATE FUNCTION dispatch.close_open_offers(assistance_id bigint, winner_id bigint, reason text) RETURNS integer
    LANGUAGE plpgsql
    AS $$
BEGIN
    RETURN dispatch.close_offers(assistance_id, winner_id, 'withdrawn', reason);
END;
$$;

--
-- Name: FUNCTION close_open_offers(assistance_id bigint, winner_id bigint, reason text); Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON FUNCTION dispatch.close_open_offers(assistance_id bigint, winner_id bigint, reason text) IS 'The request was taken or canceled: winner_id''s open offer (if any) becomes accepted, every other open offer withdrawn with reason (accepted | canceled | assigned), and each of those assistants gets {type: offer_withdrawn, assistance_id, reason}. Returns the number withdrawn.';

--
-- Name: close_round_offers(bigint); Type: FUNCTION; Schema: dispatch; Owner: -
--

CREATE FUNCTION dispatch.close_round_offers(assistance_id bigint) RETURNS integer
    LANGUAGE plpgsql
    AS $$
BEGIN
    RETURN dispatch.close_offers(assistance_id, NULL, 'expired', 'expired');  -- offers_answers.sql
END;
$$;

--
-- Name: FUNCTION close_round_offers(assistance_id bigint); Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON FUNCTION dispatch.close_round_offers(assistance_id bigint) IS 'Internal: expire the open offers of a request whose round ended (dispatch.close_offers): each assistant gets {type: offer_withdrawn, assistance_id, reason: expired}, the dispatchers an "offer" frame per offer.';

--
-- Name: console_roads(bigint, double precision[], integer, integer); Type: FUNCTION; Schema: dispatch; Owner: -
--

CREATE FUNCTION dispatch.console_roads(dispatcher_id bigint, bbox double precision[], zoom integer DEFAULT 14, max_edges integer DEFAULT 4000) RETURNS jsonb
    LANGUAGE plpgsql STABLE
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

--
-- Name: FUNCTION console_roads(dispatcher_id bigint, bbox double precision[], zoom integer, max_edges integer); Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON FUNCTION dispatch.console_roads(dispatcher_id bigint, bbox double precision[], zoom integer, max_edges integer) IS 'The imported road network (roads.edges of the main connected piece) inside bbox [minLng, minLat, maxLng, maxLat] as a GeoJSON FeatureCollection {features: [{properties: {highway}, geometry: LineString}], truncated, attribution}: busier classes only below zoom 14, each line ST_Simplify''d to about a pixel at zoom, at most max_edges (busiest first). DP009 for a bad bbox, DP046 unless the caller is a dispatcher. Data © OpenStreetMap contributors.';

--
-- Name: cost_lines; Type: TABLE; Schema: dispatch; Owner: -
--

CREATE TABLE dispatch.cost_lines (
    id bigint NOT NULL,
    assistance_id bigint NOT NULL,
    added_by bigint NOT NULL,
    label text NOT NULL,
    quantity numeric(12,3) NOT NULL,
    unit_price numeric(14,4) NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT cost_lines_label_check CHECK (((length(label) >= 1) AND (length(label) <= 200))),
    CONSTRAINT cost_lines_quantity_check CHECK ((quantity > (0)::numeric)),
    CONSTRAINT cost_lines_unit_price_check CHECK ((unit_price >= (0)::numeric))
);

--
-- Name: TABLE cost_lines; Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON TABLE dispatch.cost_lines IS 'Costs added to a job while it is ongoing; the invoice issued at its completion lists them after the quote''s lines (dispatch.invoice_lines_of).';

--
-- Name: cost_line_json(dispatch.cost_lines, text); Type: FUNCTION; Schema: dispatch; Owner: -
--

CREATE FUNCTION dispatch.cost_line_json(line dispatch.cost_lines, currency text) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$
    SELECT jsonb_build_object(
        'id', line.id,
        'assistance_id', line.assistance_id,
        'label', line.label,
        'quantity', trim_scale(line.quantity),
        'unit_price', trim_scale(line.unit_price),
        'amount', round(line.quantity * line.unit_price, dispatch.currency_minor_units(currency)),
        'currency', currency,
        'created_at', dispatch.iso_utc(line.created_at)
    )
$$;

--
-- Name: FUNCTION cost_line_json(line dispatch.cost_lines, currency text); Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON FUNCTION dispatch.cost_line_json(line dispatch.cost_lines, currency text) IS 'A cost line as the API shows it, its amount rounded to the currency''s minor unit.';

--
-- Name: create_booking(bigint, double precision, double precision, bigint, bigint[], timestamp with time zone, double precision, double precision, text, text, bigint, text); Type: FUNCTION; Schema: dispatch; Owner: -
--

CREATE FUNCTION dispatch.create_booking(client_id bigint, pickup_lat double precision, pickup_lng double precision, pickup_cell_r7 bigint, neighbour_cells_r7 bigint[], scheduled_for timestamp with time zone, dropoff_lat double precision DEFAULT NULL::double precision, dropoff_lng double precision DEFAULT NULL::double precision, service_type text DEFAULT 'towing'::text, vehicle_type text DEFAULT 'light'::text, vehicle_id bigint DEFAULT NULL::bigint, description text DEFAULT ''::text) RETURNS jsonb
    LANGUAGE plpgsql
    AS $_$
#variable_conflict use_column
DECLARE
    caller_role text;
    min_ahead   numeric := coalesce(dispatch.setting_numeric('booking_min_ahead_s'), 900);
    max_days    numeric := coalesce(dispatch.setting_numeric('booking_max_ahead_days'), 30);
    kind        text := create_booking.vehicle_type;
    booking     dispatch.bookings;
BEGIN
    SELECT u.role INTO caller_role FROM dispatch.users u WHERE u.id = create_booking.client_id;
    IF caller_role IS DISTINCT FROM 'client' THEN
        RAISE EXCEPTION 'Only clients can book assistance.' USING ERRCODE = 'DP008';
    END IF;
    IF create_booking.scheduled_for < now() + make_interval(secs => min_ahead) THEN
        RAISE EXCEPTION 'scheduled_for must be at least % minutes ahead.', round(min_ahead / 60)
            USING ERRCODE = 'DP030', DETAIL = jsonb_build_object('fields', jsonb_build_object(
                'scheduled_for', jsonb_build_array(format('Must be at least %s minutes ahead.',
                                                          round(min_ahead / 60)))))::text;
    END IF;
    IF create_booking.scheduled_for > now() + make_interval(days => max_days::integer) THEN
        RAISE EXCEPTION 'scheduled_for must be at most % days ahead.', max_days
            USING ERRCODE = 'DP030', DETAIL = jsonb_build_object('fields', jsonb_build_object(
                'scheduled_for', jsonb_build_array(format('Must be at most %s days ahead.',
                                                          max_days))))::text;
    END IF;
    IF (dropoff_lat IS NULL) <> (dropoff_lng IS NULL) THEN
        RAISE EXCEPTION 'A dropoff needs both lat and lng.' USING ERRCODE = 'DP009';
    END IF;
    IF create_booking.vehicle_id IS NOT NULL THEN
        -- The client's own vehicle gives the vehicle type. dispatch.vehicles belongs to the fleet
        -- feature: looked up dynamically so that bookings work with or without it.
        kind := NULL;
        IF to_regclass('dispatch.vehicles') IS NOT NULL THEN
            EXECUTE 'SELECT v.vehicle_class FROM dispatch.vehicles v WHERE v.id = $1 AND v.owner_id = $2'
               INTO kind USING create_booking.vehicle_id, create_booking.client_id;
        END IF;
        IF kind IS NULL THEN
            RAISE EXCEPTION 'Vehicle not found.' USING ERRCODE = 'DP031';
        END IF;
    END IF;

    INSERT INTO dispatch.bookings AS b
        (client_id, service_type, vehicle_type, vehicle_id, description, pickup, dropoff,
         pickup_h3_r7, neighbour_cells_r7, scheduled_for)
    VALUES
        (create_booking.client_id, create_booking.service_type, kind, create_booking.vehicle_id,
         coalesce(create_booking.description, ''),
         ST_SetSRID(ST_MakePoint(pickup_lng, pickup_lat), 4326)::geography,
         CASE WHEN dropoff_lat IS NULL THEN NULL
              ELSE ST_SetSRID(ST_MakePoint(dropoff_lng, dropoff_lat), 4326)::geography END,
         create_booking.pickup_cell_r7, create_booking.neighbour_cells_r7,
         create_booking.scheduled_for)
    RETURNING * INTO booking;
    RETURN dispatch.booking_json(booking);
END;
$_$;

--
-- Name: FUNCTION create_booking(client_id bigint, pickup_lat double precision, pickup_lng double precision, pickup_cell_r7 bigint, neighbour_cells_r7 bigint[], scheduled_for timestamp with time zone, dropoff_lat double precision, dropoff_lng double precision, service_type text, vehicle_type text, vehicle_id bigint, description text); Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON FUNCTION dispatch.create_booking(client_id bigint, pickup_lat double precision, pickup_lng double precision, pickup_cell_r7 bigint, neighbour_cells_r7 bigint[], scheduled_for timestamp with time zone, dropoff_lat double precision, dropoff_lng double precision, service_type text, vehicle_type text, vehicle_id bigint, description text) IS 'A client books assistance for later. scheduled_for must be between booking_min_ahead_s seconds and booking_max_ahead_days days ahead (DP030); vehicle_id must be the client''s own (DP031) and gives the vehicle type; DP008 for non-clients. Returns the booking object.';

--
-- Name: create_zone(text, jsonb, boolean, jsonb); Type: FUNCTION; Schema: dispatch; Owner: -
--

CREATE FUNCTION dispatch.create_zone(name text, geometry jsonb, serviceable boolean DEFAULT true, tariffs jsonb DEFAULT '[]'::jsonb) RETURNS jsonb
    LANGUAGE plpgsql
    AS $$
DECLARE
    new_id bigint;
BEGIN
    INSERT INTO dispatch.service_zones (name, geom, serviceable)
    VALUES (create_zone.name, dispatch.zone_geometry(create_zone.geometry),
            coalesce(create_zone.serviceable, true))
    RETURNING id INTO new_id;
    PERFORM dispatch.set_zone_tariffs(new_id, create_zone.tariffs);
    RETURN dispatch.zone_json(new_id);
END;
$$;

--
-- Name: FUNCTION create_zone(name text, geometry jsonb, serviceable boolean, tariffs jsonb); Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON FUNCTION dispatch.create_zone(name text, geometry jsonb, serviceable boolean, tariffs jsonb) IS 'Create a service zone from a GeoJSON Polygon or MultiPolygon with its own tariffs ([{service_type, vehicle_type, base_fare, per_km}]); returns dispatch.zone_json. DP022 invalid geometry (with the reason), unique violation service_zones_name_key for a taken name.';

--
-- Name: currency_minor_units(text); Type: FUNCTION; Schema: dispatch; Owner: -
--

CREATE FUNCTION dispatch.currency_minor_units(currency text) RETURNS integer
    LANGUAGE plpgsql STABLE PARALLEL SAFE
    AS $$
BEGIN
    RETURN coalesce((SELECT c.minor_units FROM dispatch.currencies c
                      WHERE c.code = currency_minor_units.currency), 2)::integer;
END;
$$;

--
-- Name: FUNCTION currency_minor_units(currency text); Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON FUNCTION dispatch.currency_minor_units(currency text) IS 'Decimal places of a currency''s minor unit (dispatch.currencies; 2 when unknown): money is rounded to it once per line.';

--
-- Name: decline_offer(bigint, bigint); Type: FUNCTION; Schema: dispatch; Owner: -
--

CREATE FUNCTION dispatch.decline_offer(assistance_id bigint, assistant_id bigint) RETURNS jsonb
    LANGUAGE plpgsql
    AS $$
#variable_conflict use_column
DECLARE
    req      dispatch.assistance_requests;
    declined dispatch.offers;
BEGIN
    -- Lock the request first, as the round driver and accept do: a decline and a round end
    -- cannot both close the same offer.
    SELECT * INTO req FROM dispatch.assistance_requests r WHERE r.id = decline_offer.assistance_id
    FOR UPDATE;
    UPDATE dispatch.offers o SET state = 'declined', closed_at = now()
     WHERE o.assistance_id = decline_offer.assistance_id
       AND o.assistant_id = decline_offer.assistant_id AND o.state = 'open'
    RETURNING o.* INTO declined;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'You hold no open offer for this request.' USING ERRCODE = 'DP017';
    END IF;
    PERFORM dispatch.emit('dispatch',
                          dispatch.feed_offer_frame(declined, dispatch.point_json(req.pickup)));
    -- Everyone offered this round said no: the next round starts now, not at the deadline. An
    -- exclusive offer of an assignment batch declined: back into the next batch (assignment.sql).
    IF req.searching AND NOT EXISTS (
        SELECT 1 FROM dispatch.offers o WHERE o.assistance_id = req.id AND o.state = 'open'
    ) THEN
        IF req.assigning THEN
            PERFORM dispatch.assignment_requeue(req);
        ELSE
            PERFORM dispatch.advance_offer_round(req);
        END IF;
    END IF;
    RETURN jsonb_build_object('assistance_id', req.id, 'declined', true);
END;
$$;

--
-- Name: FUNCTION decline_offer(assistance_id bigint, assistant_id bigint); Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON FUNCTION dispatch.decline_offer(assistance_id bigint, assistant_id bigint) IS 'An assistant declines its open offer of a request (never offered it again); when no open offer of the request is left the next round starts at once (an exclusive offer of an assignment batch: the request waits for the next batch). DP017 without an open offer.';

--
-- Name: delete_vehicle(bigint, bigint); Type: FUNCTION; Schema: dispatch; Owner: -
--

CREATE FUNCTION dispatch.delete_vehicle(owner_id bigint, vehicle_id bigint) RETURNS boolean
    LANGUAGE plpgsql
    AS $$
DECLARE
    found_id   bigint;
    booking    dispatch.bookings;
BEGIN
    -- The row lock waits for a booking being made with this vehicle (the foreign key's check
    -- holds KEY SHARE on it) and keeps new ones out until this transaction ends; a booking that
    -- loses the race fails on bookings_vehicle_fkey (404 VEHICLE_NOT_FOUND).
    SELECT v.id INTO found_id FROM dispatch.vehicles v
     WHERE v.id = delete_vehicle.vehicle_id AND v.owner_id = delete_vehicle.owner_id
       FOR UPDATE;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    -- Open: still scheduled, or converted into a request that is not finished.
    SELECT b.* INTO booking FROM dispatch.bookings b
      LEFT JOIN dispatch.assistance_requests r ON r.id = b.assistance_id
     WHERE b.vehicle_id = found_id
       AND (b.status = 'scheduled'
            OR (b.status = 'converted' AND r.status IN ('requested', 'accepted', 'ongoing')))
     ORDER BY b.scheduled_for, b.id
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'This vehicle is used by an open booking or job; cancel it first.'
            USING ERRCODE = 'DP025',
                  DETAIL = jsonb_build_object('booking_id', booking.id,
                                              'assistance_id', booking.assistance_id)::text;
    END IF;
    DELETE FROM dispatch.vehicles v WHERE v.id = found_id;  -- finished bookings: SET NULL
    RETURN true;
END;
$$;

--
-- Name: FUNCTION delete_vehicle(owner_id bigint, vehicle_id bigint); Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON FUNCTION dispatch.delete_vehicle(owner_id bigint, vehicle_id bigint) IS 'A client deletes its own vehicle: false when there is no such vehicle of theirs; DP025 while a booking that names it is scheduled, or converted into a request still requested, accepted or ongoing (booking_id and assistance_id in DETAIL). Finished bookings forget it (bookings_vehicle_fkey ON DELETE SET NULL): no booking is left with a dangling id.';

--
-- Name: delete_zone(bigint); Type: FUNCTION; Schema: dispatch; Owner: -
--

CREATE FUNCTION dispatch.delete_zone(zone_id bigint) RETURNS void
    LANGUAGE plpgsql
    AS $$
BEGIN
    DELETE FROM dispatch.service_zones z WHERE z.id = delete_zone.zone_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'Service zone not found.' USING ERRCODE = 'DP023';
    END IF;
END;
$$;

--
-- Name: FUNCTION delete_zone(zone_id bigint); Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON FUNCTION dispatch.delete_zone(zone_id bigint) IS 'Delete a zone and its tariffs (pickups there fall back to the enclosing zone or the default tariffs). DP023 unknown zone.';

--
-- Name: dispatch_assistance_json(dispatch.assistance_requests); Type: FUNCTION; Schema: dispatch; Owner: -
--

CREATE FUNCTION dispatch.dispatch_assistance_json(request dispatch.assistance_requests) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$
    SELECT dispatch.assistance_json(request) || jsonb_build_object(
        'searching', request.searching,
        'offer_round', request.offer_round,
        'exhausted_at', dispatch.iso_utc(request.exhausted_at))
$$;

--
-- Name: FUNCTION dispatch_assistance_json(request dispatch.assistance_requests); Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON FUNCTION dispatch.dispatch_assistance_json(request dispatch.assistance_requests) IS 'The assistance object with the search state a dispatcher needs (searching, offer_round, exhausted_at).';

--
-- Name: dispatch_assistants(bigint, text, text, double precision[], integer, integer); Type: FUNCTION; Schema: dispatch; Owner: -
--

CREATE FUNCTION dispatch.dispatch_assistants(dispatcher_id bigint, state text DEFAULT NULL::text, service_type text DEFAULT NULL::text, bbox double precision[] DEFAULT NULL::double precision[], page_size integer DEFAULT 200, page_offset integer DEFAULT 0) RETURNS jsonb
    LANGUAGE plpgsql STABLE
    AS $$
#variable_conflict use_column
DECLARE
    area   geometry;
    result jsonb;
BEGIN
    PERFORM dispatch.require_dispatcher(dispatcher_id);
    IF bbox IS NOT NULL THEN
        area := ST_MakeEnvelope(bbox[1], bbox[2], bbox[3], bbox[4], 4326);
    END IF;
    WITH fleet AS (
        SELECT a.user_id AS id, u.name, a.service_type, a.vehicle_type, a.is_active,
               ST_Y(p.geog::geometry) AS lat, ST_X(p.geog::geometry) AS lng, p.updated_at,
               dispatch.assistant_state(a.user_id) AS state,
               (SELECT r.id FROM dispatch.assistance_requests r
                 WHERE r.assistant_id = a.user_id AND r.status IN ('accepted', 'ongoing')) AS open_id
        FROM dispatch.assistants a
        JOIN dispatch.users u ON u.id = a.user_id
        LEFT JOIN dispatch.positions p ON p.user_id = a.user_id
        WHERE (dispatch_assistants.service_type IS NULL
               OR a.service_type = dispatch_assistants.service_type)
          AND (area IS NULL OR (p.geog IS NOT NULL AND ST_Intersects(p.geog::geometry, area)))
    ), chosen AS (
        SELECT * FROM fleet f WHERE dispatch_assistants.state IS NULL OR f.state = dispatch_assistants.state
    )
    SELECT jsonb_build_object(
        'count', (SELECT count(*) FROM chosen),
        'results', coalesce((
            SELECT jsonb_agg(jsonb_build_object(
                       'id', c.id, 'name', c.name, 'service_type', c.service_type,
                       'vehicle_type', c.vehicle_type, 'is_active', c.is_active,
                       'lat', c.lat, 'lng', c.lng, 'state', c.state,
                       'last_seen', dispatch.iso_utc(c.updated_at),
                       'open_assistance_id', c.open_id) ORDER BY c.id)
            FROM (SELECT * FROM chosen ORDER BY id LIMIT page_size OFFSET page_offset) c), '[]'))
    INTO result;
    RETURN result;
END;
$$;

--
-- Name: FUNCTION dispatch_assistants(dispatcher_id bigint, state text, service_type text, bbox double precision[], page_size integer, page_offset integer); Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON FUNCTION dispatch.dispatch_assistants(dispatcher_id bigint, state text, service_type text, bbox double precision[], page_size integer, page_offset integer) IS 'The fleet for a dispatcher: {count, results: [{id, name, service_type, vehicle_type, is_active, lat, lng, state, last_seen, open_assistance_id}]} by id, filtered by state (idle|offered|busy|offline), service type and a bbox of the last position. DP046 unless the caller is a dispatcher.';

--
-- Name: dispatch_cancel_assistance(bigint, bigint, text); Type: FUNCTION; Schema: dispatch; Owner: -
--

CREATE FUNCTION dispatch.dispatch_cancel_assistance(assistance_id bigint, dispatcher_id bigint, reason text) RETURNS jsonb
    LANGUAGE plpgsql
    AS $$
#variable_conflict use_column
DECLARE
    req        dispatch.assistance_requests;
    old_status text;
BEGIN
    PERFORM dispatch.require_dispatcher(dispatcher_id);
    IF reason IS NULL OR btrim(reason) = '' THEN
        RAISE EXCEPTION 'A cancellation needs a reason.' USING ERRCODE = 'DP009';
    END IF;
    SELECT * INTO req FROM dispatch.assistance_requests r
    WHERE r.id = dispatch_cancel_assistance.assistance_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'Assistance request not found.' USING ERRCODE = 'DP001';
    END IF;
    IF req.status IN ('completed', 'canceled') THEN
        RAISE EXCEPTION 'This assistance request is already %.', req.status USING ERRCODE = 'DP006';
    END IF;
    old_status := req.status;
    UPDATE dispatch.assistance_requests AS r
       SET status = 'canceled', canceled_at = now(), updated_at = now(), searching = false,
           round_ends_at = NULL
     WHERE r.id = req.id
    RETURNING * INTO req;
    -- Open offers are withdrawn (reason canceled) by trigger assistance_withdraw_offers.
    PERFORM dispatch.record_dispatch(req, dispatcher_id, old_status, reason);
    RETURN dispatch.dispatch_assistance_json(req);
END;
$$;

--
-- Name: FUNCTION dispatch_cancel_assistance(assistance_id bigint, dispatcher_id bigint, reason text); Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON FUNCTION dispatch.dispatch_cancel_assistance(assistance_id bigint, dispatcher_id bigint, reason text) IS 'A dispatcher cancels a requested, accepted or ongoing job with a reason: open offers are withdrawn (offer_withdrawn, reason canceled), the parties and the feed get a status frame. DP001 unknown, DP006 already final, DP009 no reason.';

--
-- Name: dispatch_post_chat(bigint, bigint, text, integer); Type: FUNCTION; Schema: dispatch; Owner: -
--

CREATE FUNCTION dispatch.dispatch_post_chat(assistance_id bigint, dispatcher_id bigint, message text, per_minute integer DEFAULT 0) RETURNS jsonb
    LANGUAGE plpgsql
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

--
-- Name: FUNCTION dispatch_post_chat(assistance_id bigint, dispatcher_id bigint, message text, per_minute integer); Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON FUNCTION dispatch.dispatch_post_chat(assistance_id bigint, dispatcher_id bigint, message text, per_minute integer) IS 'A dispatcher writes in a job''s chat: stored in dispatch.chat_messages and relayed on the job''s channel as {type: chat, message, sender, sender_name, sender_role: dispatcher, sent_at} (dispatch.post_chat''s frame). With per_minute > 0 the sender''s chat bucket must hold a token (DPC01). DP001 unknown request, DP046 unless the caller is a dispatcher.';

--
-- Name: dispatch_request_detail(bigint, bigint); Type: FUNCTION; Schema: dispatch; Owner: -
--

CREATE FUNCTION dispatch.dispatch_request_detail(assistance_id bigint, dispatcher_id bigint) RETURNS jsonb
    LANGUAGE plpgsql STABLE
    AS $$
BEGIN
    PERFORM dispatch.require_dispatcher(dispatcher_id);
    RETURN (
        SELECT dispatch.dispatch_assistance_json(r) || jsonb_build_object(
            'offers', coalesce((
                SELECT jsonb_agg(jsonb_build_object(
                           'assistant_id', o.assistant_id,
                           'assistant_name', u.name,
                           'round', o.round,
                           'distance', round((o.distance_m / 1000)::numeric, 3),
                           'eta_s', o.eta_s,
                           'eta_source', o.eta_source,
                           'sent_at', dispatch.iso_utc(o.sent_at),
                           'expires_at', dispatch.iso_utc(o.expires_at),
                           'closed_at', dispatch.iso_utc(o.closed_at),
                           'state', o.state)
                       ORDER BY o.round, o.distance_m, o.assistant_id)
                FROM dispatch.offers o JOIN dispatch.users u ON u.id = o.assistant_id
                WHERE o.assistance_id = r.id), '[]'),
            'events', coalesce((
                SELECT jsonb_agg(jsonb_build_object(
                           'from_status', e.from_status,
                           'to_status', e.to_status,
                           'actor_id', e.actor_id,
                           'actor_role', e.actor_role,
                           'reason', e.reason,
                           'at', dispatch.iso_utc(e.created_at))
                       ORDER BY e.id)
                FROM dispatch.assistance_events e WHERE e.assistance_id = r.id), '[]'),
            -- offer_policy assignment: each batch's decision for it, and why (assignment.sql).
            'batches', dispatch.request_batches(r.id),
            -- Who could take it now: the ten soonest (the offer rounds' ranking, but anyone
            -- available within the widest round, offered before or not); the first is the
            -- suggestion.
            'candidates', CASE WHEN r.status = 'requested' THEN coalesce((
                SELECT jsonb_agg(jsonb_build_object(
                           'assistant_id', c.assistant_id,
                           'assistant_name', u.name,
                           'distance', round((c.distance_m / 1000)::numeric, 3),
                           'eta_s', c.eta_s,
                           'eta_source', c.eta_source)
                       ORDER BY c.eta_source = 'straight_line', c.rank_s, c.assistant_id)
                FROM dispatch.offer_candidates(NULL, r.pickup, r.service_type,
                                               dispatch.setting_numeric('offer_max_radius_m')
                                                   ::double precision,
                                               10) c
                JOIN dispatch.users u ON u.id = c.assistant_id), '[]') ELSE '[]' END)
        FROM dispatch.assistance_requests r
        WHERE r.id = dispatch_request_detail.assistance_id
    );
END;
$$;

--
-- Name: FUNCTION dispatch_request_detail(assistance_id bigint, dispatcher_id bigint); Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON FUNCTION dispatch.dispatch_request_detail(assistance_id bigint, dispatcher_id bigint) IS 'One request for a dispatcher: the assistance object plus offers [{assistant_id, round, distance, eta_s, eta_source, sent_at, state, ...}], events [{from_status, to_status, actor_id, actor_role, reason, at}], batches (dispatch.request_batches: each assignment batch''s decision for it) and, while requested, candidates [{assistant_id, assistant_name, distance, eta_s, eta_source}], the ten soonest; NULL for an unknown id. DP046 unless the caller is a dispatcher.';

--
-- Name: dispatch_requests(bigint, text[], boolean, timestamp with time zone, double precision[], integer, integer); Type: FUNCTION; Schema: dispatch; Owner: -
--

CREATE FUNCTION dispatch.dispatch_requests(dispatcher_id bigint, statuses text[] DEFAULT NULL::text[], searching boolean DEFAULT NULL::boolean, since timestamp with time zone DEFAULT NULL::timestamp with time zone, bbox double precision[] DEFAULT NULL::double precision[], page_size integer DEFAULT 50, page_offset integer DEFAULT 0) RETURNS jsonb
    LANGUAGE plpgsql STABLE
    AS $$
DECLARE
    area   geometry;
    result jsonb;
BEGIN
    PERFORM dispatch.require_dispatcher(dispatcher_id);
    IF bbox IS NOT NULL THEN
        area := ST_MakeEnvelope(bbox[1], bbox[2], bbox[3], bbox[4], 4326);
    END IF;
    WITH matching AS (
        SELECT r.* FROM dispatch.assistance_requests r
        WHERE (statuses IS NULL OR r.status = ANY (statuses))
          AND (dispatch_requests.searching IS NULL OR r.searching = dispatch_requests.searching)
          AND (since IS NULL OR r.created_at >= since)
          AND (area IS NULL OR ST_Intersects(r.pickup::geometry, area))
    )
    SELECT jsonb_build_object(
        'count', (SELECT count(*) FROM matching),
        'results', coalesce((SELECT jsonb_agg(dispatch.dispatch_assistance_json(p)
                                              ORDER BY p.created_at DESC, p.id DESC)
                             FROM (SELECT * FROM matching m ORDER BY m.created_at DESC, m.id DESC
                                   LIMIT page_size OFFSET page_offset) p), '[]'))
    INTO result;
    RETURN result;
END;
$$;

--
-- Name: FUNCTION dispatch_requests(dispatcher_id bigint, statuses text[], searching boolean, since timestamp with time zone, bbox double precision[], page_size integer, page_offset integer); Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON FUNCTION dispatch.dispatch_requests(dispatcher_id bigint, statuses text[], searching boolean, since timestamp with time zone, bbox double precision[], page_size integer, page_offset integer) IS 'The dispatcher''s queue: {count, results} of requests newest first, filtered by statuses, searching, created since, and a pickup bbox [minLng, minLat, maxLng, maxLat]. DP046 unless the caller is a dispatcher.';

--
-- Name: drop_function_lacking(text, text); Type: FUNCTION; Schema: dispatch; Owner: -
--

CREATE FUNCTION dispatch.drop_function_lacking(signature text, argument text) RETURNS void
    LANGUAGE plpgsql
    AS $$
DECLARE
    fn regprocedure := to_regprocedure(signature);
BEGIN
    IF fn IS NOT NULL
       AND NOT EXISTS (SELECT 1 FROM pg_proc p
                        WHERE p.oid = fn AND drop_function_lacking.argument = ANY (p.proargnames))
    THEN
        EXECUTE format('DROP FUNCTION %s', fn);
    END IF;
END;
$$;

--
-- Name: FUNCTION drop_function_lacking(signature text, argument text); Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON FUNCTION dispatch.drop_function_lacking(signature text, argument text) IS 'Migrations: drop the function of this signature if it exists without an argument (or result column) of this name, so that its file can create the new definition.';

--
-- Name: emit(text, jsonb); Type: FUNCTION; Schema: dispatch; Owner: -
--

CREATE FUNCTION dispatch.emit(topic text, message jsonb) RETURNS void
    LANGUAGE plpgsql
    AS $$
BEGIN
    INSERT INTO dispatch.event_log (topics, messages)
    VALUES (ARRAY[emit.topic], ARRAY[emit.message::text]);
END;
$$;

--
-- Name: FUNCTION emit(topic text, message jsonb); Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON FUNCTION dispatch.emit(topic text, message jsonb) IS 'Publish a WebSocket message to a topic (assistant:<id>, assistance:<id>, dispatch) on commit: a batch of one in dispatch.event_log, numbered (seq) by dispatch.publish_events once committed.';

--
-- Name: emit_except(text, jsonb, bigint); Type: FUNCTION; Schema: dispatch; Owner: -
--

CREATE FUNCTION dispatch.emit_except(topic text, message jsonb, skip_user bigint) RETURNS void
    LANGUAGE plpgsql
    AS $$
BEGIN
    INSERT INTO dispatch.event_log (topics, messages, skip_user)
    VALUES (ARRAY[emit_except.topic], ARRAY[emit_except.message::text], emit_except.skip_user);
END;
$$;

--
-- Name: FUNCTION emit_except(topic text, message jsonb, skip_user bigint); Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON FUNCTION dispatch.emit_except(topic text, message jsonb, skip_user bigint) IS 'Publish a WebSocket message to a topic on commit (a batch of one in dispatch.event_log), not delivered to sockets of skip_user.';

--
-- Name: emit_many(text[], jsonb[]); Type: FUNCTION; Schema: dispatch; Owner: -
--

CREATE FUNCTION dispatch.emit_many(topics text[], messages jsonb[]) RETURNS void
    LANGUAGE plpgsql
    AS $$
BEGIN
    IF array_position(emit_many.topics, NULL) IS NULL THEN
        IF cardinality(emit_many.topics) > 0 THEN
            INSERT INTO dispatch.event_log (topics, messages)
            VALUES (emit_many.topics, emit_many.messages::text[]);
        END IF;
        RETURN;
    END IF;
    -- NULL topics are left out (a caller's "nobody to tell"); the others keep their order.
    INSERT INTO dispatch.event_log (topics, messages)
    SELECT array_agg(t.topic ORDER BY t.n), array_agg(t.message::text ORDER BY t.n)
      FROM unnest(emit_many.topics, emit_many.messages) WITH ORDINALITY AS t(topic, message, n)
     WHERE t.topic IS NOT NULL
    HAVING count(*) > 0;
END;
$$;

--
-- Name: FUNCTION emit_many(topics text[], messages jsonb[]); Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON FUNCTION dispatch.emit_many(topics text[], messages jsonb[]) IS 'Publish several WebSocket messages (topics[i] gets messages[i]) on commit, in this order, as one batch of dispatch.event_log (entries with a NULL topic are left out).';

--
-- Name: eta_frame(dispatch.assistance_requests); Type: FUNCTION; Schema: dispatch; Owner: -
--

CREATE FUNCTION dispatch.eta_frame(request dispatch.assistance_requests) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$
    SELECT jsonb_build_object('type', 'eta', 'assistance_id', request.id,
                              'assistant_id', request.assistant_id,
                              'eta_s', request.eta_s, 'eta_source', request.eta_source,
                              'at', dispatch.iso_utc(request.eta_at))
$$;

--
-- Name: FUNCTION eta_frame(request dispatch.assistance_requests); Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON FUNCTION dispatch.eta_frame(request dispatch.assistance_requests) IS 'The {type: eta, assistance_id, assistant_id, eta_s, eta_source, at} frame of a job''s channel.';

--
-- Name: event_frame(jsonb, bigint); Type: FUNCTION; Schema: dispatch; Owner: -
--

CREATE FUNCTION dispatch.event_frame(message jsonb, seq bigint) RETURNS text
    LANGUAGE sql IMMUTABLE
    AS $$
    SELECT (CASE WHEN jsonb_typeof(message) = 'object'
                 THEN message || jsonb_build_object('seq', seq) ELSE message END)::text
$$;

--
-- Name: FUNCTION event_frame(message jsonb, seq bigint); Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON FUNCTION dispatch.event_frame(message jsonb, seq bigint) IS 'The text of an event''s WebSocket frame: its message with "seq" added (the servers add it to the stored text themselves; this is the same frame for psql).';

--
-- Name: offers; Type: TABLE; Schema: dispatch; Owner: -
--

CREATE TABLE dispatch.offers (
    assistance_id bigint NOT NULL,
    assistant_id bigint NOT NULL,
    round smallint NOT NULL,
    distance_m double precision NOT NULL,
    sent_at timestamp with time zone DEFAULT now() NOT NULL,
    expires_at timestamp with time zone NOT NULL,
    state text DEFAULT 'open'::text NOT NULL,
    closed_at timestamp with time zone,
    close_reason text,
    eta_s integer,
    eta_source text,
    batch_id bigint,
    CONSTRAINT offers_closed_check CHECK (((state = 'open'::text) = (closed_at IS NULL))),
    CONSTRAINT offers_distance_check CHECK ((distance_m >= (0)::double precision)),
    CONSTRAINT offers_eta_s_check CHECK ((eta_s >= 0)),
    CONSTRAINT offers_eta_source_check CHECK ((eta_source = ANY (ARRAY['road'::text, 'straight_line'::text]))),
    CONSTRAINT offers_expiry_check CHECK ((expires_at > sent_at)),
    CONSTRAINT offers_round_check CHECK ((round >= 1)),
    CONSTRAINT offers_state_check CHECK ((state = ANY (ARRAY['open'::text, 'declined'::text, 'expired'::text, 'withdrawn'::text, 'accepted'::text])))
)
WITH (fillfactor='70');

--
-- Name: TABLE offers; Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON TABLE dispatch.offers IS 'Every offer of a request to an assistant: its round, distance, when it was sent and expires, and how it ended (open, declined, expired, withdrawn, accepted). Closing states are final.';

--
-- Name: COLUMN offers.assistance_id; Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON COLUMN dispatch.offers.assistance_id IS 'The request offered. No foreign key: offers are written by dispatch.send_offers alone, for the request it holds locked; deleting or truncating requests deletes their offers by trigger (docs/decisions/0003-offers-lean-writes.md).';

--
-- Name: COLUMN offers.assistant_id; Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON COLUMN dispatch.offers.assistant_id IS 'The assistant offered it. No foreign key: dispatch.send_offers offers only assistants it has just read from dispatch.available_assistants; deleting or truncating users deletes their offers by trigger (docs/decisions/0003-offers-lean-writes.md).';

--
-- Name: COLUMN offers.close_reason; Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON COLUMN dispatch.offers.close_reason IS 'Why a withdrawn offer closed: accepted (by someone else) | canceled | assigned.';

--
-- Name: COLUMN offers.eta_s; Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON COLUMN dispatch.offers.eta_s IS 'The assistant''s travel time to the pickup when offered, seconds (eta_source: by road or by the straight line at straight_line_speed_kmh).';

--
-- Name: COLUMN offers.batch_id; Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON COLUMN dispatch.offers.batch_id IS 'The assignment batch that made this exclusive offer (dispatch.assignment_batches); NULL for an offer of the rounds.';

--
-- Name: feed_offer_frame(dispatch.offers, jsonb); Type: FUNCTION; Schema: dispatch; Owner: -
--

CREATE FUNCTION dispatch.feed_offer_frame(offer dispatch.offers, pickup jsonb) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$
    SELECT jsonb_build_object(
        'type', 'offer', 'assistance_id', offer.assistance_id, 'assistant_id', offer.assistant_id,
        'round', offer.round, 'distance', round((offer.distance_m / 1000)::numeric, 3),
        'eta_s', offer.eta_s, 'eta_source', offer.eta_source, 'state', offer.state, 'close_reason', offer.close_reason,
        'sent_at', dispatch.iso_utc(offer.sent_at), 'closed_at', dispatch.iso_utc(offer.closed_at),
        'pickup', pickup)
$$;

--
-- Name: FUNCTION feed_offer_frame(offer dispatch.offers, pickup jsonb); Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON FUNCTION dispatch.feed_offer_frame(offer dispatch.offers, pickup jsonb) IS 'The dispatchers'' feed frame (topic dispatch) of an offer that just closed: "offer" {assistance_id, assistant_id, round, distance, eta_s, eta_source, state, close_reason, sent_at, closed_at, pickup}. The functions that close offers emit it in the batch of their own frames.';

--
-- Name: feed_status_frame(dispatch.assistance_requests, text, jsonb); Type: FUNCTION; Schema: dispatch; Owner: -
--

CREATE FUNCTION dispatch.feed_status_frame(request dispatch.assistance_requests, from_status text, status jsonb) RETURNS jsonb
    LANGUAGE sql STABLE
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

--
-- Name: FUNCTION feed_status_frame(request dispatch.assistance_requests, from_status text, status jsonb); Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON FUNCTION dispatch.feed_status_frame(request dispatch.assistance_requests, from_status text, status jsonb) IS 'The dispatchers'' feed frame of a transition (request_created when from_status is NULL, else status): the request''s status frame (dispatch.status_message) plus type, service and vehicle type, pickup {lat, lng}, searching, offer_round, exhausted_at, created_at, updated_at.';

--
-- Name: get_assistance(bigint, bigint); Type: FUNCTION; Schema: dispatch; Owner: -
--

CREATE FUNCTION dispatch.get_assistance(assistance_id bigint, user_id bigint) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$
    SELECT dispatch.assistance_json(r)
    FROM dispatch.assistance_requests r
    WHERE r.id = get_assistance.assistance_id
      AND dispatch.can_read_assistance(r.id, get_assistance.user_id)
$$;

--
-- Name: FUNCTION get_assistance(assistance_id bigint, user_id bigint); Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON FUNCTION dispatch.get_assistance(assistance_id bigint, user_id bigint) IS 'One assistance object if the user is its client, its assistant or a dispatcher; else NULL.';

--
-- Name: get_invoice(bigint, bigint); Type: FUNCTION; Schema: dispatch; Owner: -
--

CREATE FUNCTION dispatch.get_invoice(assistance_id bigint, user_id bigint) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$
    SELECT dispatch.invoice_json(i.number)
    FROM dispatch.invoices i
    WHERE i.assistance_id = get_invoice.assistance_id
      AND dispatch.can_read_assistance(i.assistance_id, get_invoice.user_id)
$$;

--
-- Name: FUNCTION get_invoice(assistance_id bigint, user_id bigint); Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON FUNCTION dispatch.get_invoice(assistance_id bigint, user_id bigint) IS 'The invoice of a request for its client, its assistant or a dispatcher; NULL before completion or for anyone else.';

--
-- Name: h3_parent(bigint, integer); Type: FUNCTION; Schema: dispatch; Owner: -
--

CREATE FUNCTION dispatch.h3_parent(cell bigint, resolution integer) RETURNS bigint
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
    -- An H3 index holds its resolution in bits 52-55 and one 3-bit digit per resolution below
    -- the base cell; a parent is the same index with a coarser resolution and its finer digits
    -- set to 7 ("unused"). Pure bit work: no H3 extension needed.
    SELECT (cell & ~(15::bigint << 52)) | (resolution::bigint << 52)
           | ((1::bigint << (3 * (15 - resolution))) - 1)
$$;

--
-- Name: FUNCTION h3_parent(cell bigint, resolution integer); Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON FUNCTION dispatch.h3_parent(cell bigint, resolution integer) IS 'The H3 parent (as bigint) of an H3 cell at a coarser resolution, e.g. the r7 cell of a stored r9 cell: h3_parent(h3_r9, 7). The resolution must not be finer than the cell''s.';

--
-- Name: heatmap(integer, timestamp with time zone, timestamp with time zone); Type: FUNCTION; Schema: dispatch; Owner: -
--

CREATE FUNCTION dispatch.heatmap(resolution integer, since timestamp with time zone, until timestamp with time zone DEFAULT now()) RETURNS TABLE(cell bigint, requests bigint, accepted bigint, exhausted bigint, unserved bigint, idle_assistant_hours bigint, peak_idle_assistants bigint, p50_accept_s double precision, p90_accept_s double precision)
    LANGUAGE sql STABLE
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

--
-- Name: FUNCTION heatmap(resolution integer, since timestamp with time zone, until timestamp with time zone); Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON FUNCTION dispatch.heatmap(resolution integer, since timestamp with time zone, until timestamp with time zone) IS 'Per H3 cell (resolution 7 or 8) over [since, until): requests, accepted, exhausted, unserved, idle assistant-hours (sum over hours of dispatch.cell_demand_supply''s idle_assistants), the peak idle assistants in one hour, and the median and 90th percentile time to accept in seconds. What `dispatch export heatmap` writes as GeoJSON. DP048 for another resolution.';

--
-- Name: insert_offers(dispatch.assistance_requests, jsonb); Type: FUNCTION; Schema: dispatch; Owner: -
--

CREATE FUNCTION dispatch.insert_offers(request dispatch.assistance_requests, candidates jsonb) RETURNS integer
    LANGUAGE plpgsql
    AS $$
BEGIN
    -- A duplicate here would be a bug (the caller holds the request's lock and left out everyone
    -- already offered): the primary key makes it an error rather than a second offer.
    INSERT INTO dispatch.offers (assistance_id, assistant_id, round, distance_m, expires_at, eta_s,
                                 eta_source)
    SELECT request.id, (c ->> 'assistant_id')::bigint, request.offer_round,
           (c ->> 'distance_m')::double precision, request.round_ends_at, (c ->> 'eta_s')::integer,
           c ->> 'eta_source'
    FROM jsonb_array_elements(candidates) c;
    RETURN jsonb_array_length(candidates);
END;
$$;

--
-- Name: FUNCTION insert_offers(request dispatch.assistance_requests, candidates jsonb); Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON FUNCTION dispatch.insert_offers(request dispatch.assistance_requests, candidates jsonb) IS 'Internal: record offers of the request''s current round to candidates ([{assistant_id, distance (km), distance_m, eta_s, eta_source}]), announcing nothing (dispatch.offer_batch). Returns the count.';

--
-- Name: invoice_json(bigint); Type: FUNCTION; Schema: dispatch; Owner: -
--

CREATE FUNCTION dispatch.invoice_json(invoice_number bigint) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$
    SELECT jsonb_build_object(
        'number', i.number,
        'assistance_id', i.assistance_id,
        'issued_at', dispatch.iso_utc(i.issued_at),
        'currency', i.currency,
        'lines', (SELECT coalesce(jsonb_agg(jsonb_build_object(
                             'label', l.label, 'quantity', trim_scale(l.quantity),
                             'unit_price', trim_scale(l.unit_price), 'amount', trim_scale(l.amount))
                         ORDER BY l.position), '[]')
                    FROM dispatch.invoice_lines l WHERE l.invoice_number = i.number),
        'subtotal', trim_scale(i.subtotal),
        'total', trim_scale(i.total)
    )
    FROM dispatch.invoices i
    WHERE i.number = invoice_json.invoice_number
$$;

--
-- Name: FUNCTION invoice_json(invoice_number bigint); Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON FUNCTION dispatch.invoice_json(invoice_number bigint) IS 'An invoice as the API shows it: {number, assistance_id, issued_at, currency, lines: [{label, quantity, unit_price, amount}], subtotal, total}.';

--
-- Name: invoice_lines_of(dispatch.assistance_requests); Type: FUNCTION; Schema: dispatch; Owner: -
--

CREATE FUNCTION dispatch.invoice_lines_of(req dispatch.assistance_requests) RETURNS TABLE(line_number bigint, label text, quantity numeric, unit_price numeric, amount numeric)
    LANGUAGE sql STABLE
    AS $$
    -- The quote's lines (with a repair's final price) first, then the cost lines in order.
    SELECT row_number() OVER (ORDER BY x.src, x.ord), x.label, x.quantity, x.unit_price,
           round(x.quantity * x.unit_price, dispatch.currency_minor_units(req.currency))
    FROM (
        SELECT 1 AS src, q.ord, q.line ->> 'label' AS label, 1::numeric AS quantity,
               (q.line ->> 'amount')::numeric AS unit_price
        FROM jsonb_array_elements(req.price -> 'lines') WITH ORDINALITY AS q(line, ord)
        UNION ALL
        SELECT 2, c.id, c.label, c.quantity, c.unit_price
        FROM dispatch.cost_lines c WHERE c.assistance_id = req.id
    ) x
$$;

--
-- Name: FUNCTION invoice_lines_of(req dispatch.assistance_requests); Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON FUNCTION dispatch.invoice_lines_of(req dispatch.assistance_requests) IS 'The lines a request''s invoice gets: the quote''s (quantity 1) then the cost lines in the order added, each amount rounded once to the currency''s minor unit.';

--
-- Name: iso_utc(timestamp with time zone); Type: FUNCTION; Schema: dispatch; Owner: -
--

CREATE FUNCTION dispatch.iso_utc(ts timestamp with time zone) RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
    SELECT to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
$$;

--
-- Name: FUNCTION iso_utc(ts timestamp with time zone); Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON FUNCTION dispatch.iso_utc(ts timestamp with time zone) IS 'A timestamp as ISO 8601 in UTC with a Z suffix and milliseconds, as the API writes times.';

--
-- Name: issue_assignment_batch(text, jsonb, jsonb, double precision); Type: FUNCTION; Schema: dispatch; Owner: -
--

CREATE FUNCTION dispatch.issue_assignment_batch(area text, problem jsonb, solution jsonb, solve_ms double precision) RETURNS jsonb
    LANGUAGE plpgsql
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

--
-- Name: FUNCTION issue_assignment_batch(area text, problem jsonb, solution jsonb, solve_ms double precision); Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON FUNCTION dispatch.issue_assignment_batch(area text, problem jsonb, solution jsonb, solve_ms double precision) IS 'The batch driver''s answer, in its transaction (the requests locked by dispatch.assignment_problems): record the batch (problem as that function returned it, solution [[assistance_id, assistant_id]], the solve''s milliseconds) and each request''s decision, and send each matched request one exclusive offer (new_assistance_request with offer_policy assignment, batch_id, expires_at now() + assignment_offer_timeout_s) to an assistant still idle who holds no open offer; the others wait for the next batch, or fall back to the rounds after assignment_max_batches. Returns {batch_id, offered, fell_back}.';

--
-- Name: issue_invoice(dispatch.assistance_requests); Type: FUNCTION; Schema: dispatch; Owner: -
--

CREATE FUNCTION dispatch.issue_invoice(req dispatch.assistance_requests) RETURNS bigint
    LANGUAGE plpgsql
    AS $$
DECLARE
    num           bigint;
    line_count    bigint;
    biggest       numeric;
    invoice_total numeric;
    line_max      numeric;
    total_max     numeric;
BEGIN
    -- Called on every transition (a cancel too): nothing is looked up before this test.
    IF req.status IS DISTINCT FROM 'completed' THEN
        RETURN NULL;
    END IF;
    SELECT i.number INTO num FROM dispatch.invoices i WHERE i.assistance_id = req.id;
    IF FOUND THEN
        RETURN num;
    END IF;
    -- Stored lines that the invoice cannot hold (added before the bounds of add_cost_line, by
    -- hand, or pushed over by a repair's final price) refuse the completion with a code, never
    -- a numeric overflow: the job stays ongoing and its assistant can remove lines.
    SELECT count(*), max(l.amount), coalesce(sum(l.amount), 0)
      INTO line_count, biggest, invoice_total
      FROM dispatch.invoice_lines_of(req) l;
    line_max := dispatch.numeric_max('dispatch.invoice_lines', 'amount');
    total_max := dispatch.numeric_max('dispatch.invoices', 'total');
    IF line_count > 32767 THEN  -- invoice_lines.position is a smallint
        RAISE EXCEPTION 'This job has too many cost lines to be invoiced; remove some first.'
            USING ERRCODE = 'DP026';
    END IF;
    IF biggest > line_max OR invoice_total > total_max THEN
        RAISE EXCEPTION 'The invoice would total % %, over the % % an invoice holds; remove cost '
            'lines before completing.', trim_scale(invoice_total), req.currency,
            trim_scale(total_max), req.currency
            USING ERRCODE = 'DP027',
                  DETAIL = jsonb_build_object('invoice_total_limit', trim_scale(total_max))::text;
    END IF;
    -- The counter row stays locked until this transaction ends: concurrent completions take
    -- consecutive numbers one after the other, and a rollback hands its number back.
    UPDATE dispatch.invoice_counter c SET next_number = c.next_number + 1
    RETURNING c.next_number - 1 INTO num;
    INSERT INTO dispatch.invoices (number, assistance_id, currency, subtotal, total)
    VALUES (num, req.id, req.currency, 0, 0);
    INSERT INTO dispatch.invoice_lines (invoice_number, position, label, quantity, unit_price, amount)
    SELECT num, l.line_number, l.label, l.quantity, l.unit_price, l.amount
    FROM dispatch.invoice_lines_of(req) l;
    UPDATE dispatch.invoices i
       SET subtotal = s.amount, total = s.amount
      FROM (SELECT coalesce(sum(l.amount), 0) AS amount
              FROM dispatch.invoice_lines l WHERE l.invoice_number = num) s
     WHERE i.number = num;
    RETURN num;
END;
$$;

--
-- Name: FUNCTION issue_invoice(req dispatch.assistance_requests); Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON FUNCTION dispatch.issue_invoice(req dispatch.assistance_requests) IS 'Issue the invoice of a completed request (nothing for another status; the existing number if already issued): the next number from dispatch.invoice_counter (no gaps: the row lock lasts until commit), lines = dispatch.invoice_lines_of (the quote''s lines + the cost lines, each rounded once to the currency''s minor unit); total = subtotal = their sum. DP027 when a line or the total would not fit the invoice columns (DP026 too many lines): the completion fails with a code instead of a numeric overflow. Called by dispatch.update_assistance_status in the completing transaction.';

--
-- Name: list_assistance(bigint, text, integer, integer); Type: FUNCTION; Schema: dispatch; Owner: -
--

CREATE FUNCTION dispatch.list_assistance(user_id bigint, status text DEFAULT NULL::text, page_size integer DEFAULT 20, page_offset integer DEFAULT 0) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$
    SELECT coalesce(jsonb_agg(dispatch.assistance_json(r) ORDER BY r.created_at DESC, r.id DESC),
                    '[]')
    FROM (
        SELECT r.*
        FROM dispatch.assistance_requests r
        JOIN dispatch.users u ON u.id = list_assistance.user_id
        WHERE CASE u.role
                  WHEN 'client' THEN r.client_id = u.id
                  WHEN 'assistant' THEN r.assistant_id = u.id
                  ELSE u.role = 'dispatcher'
              END
          AND (list_assistance.status IS NULL OR r.status = list_assistance.status)
        ORDER BY r.created_at DESC, r.id DESC
        LIMIT list_assistance.page_size OFFSET list_assistance.page_offset
    ) r
$$;

--
-- Name: FUNCTION list_assistance(user_id bigint, status text, page_size integer, page_offset integer); Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON FUNCTION dispatch.list_assistance(user_id bigint, status text, page_size integer, page_offset integer) IS 'The requests a user may see, newest first, as a JSON array of assistance objects: a client''s own, an assistant''s accepted ones, every one for a dispatcher; optional status filter.';

--
-- Name: list_bookings(bigint, text, integer, integer); Type: FUNCTION; Schema: dispatch; Owner: -
--

CREATE FUNCTION dispatch.list_bookings(user_id bigint, status text DEFAULT NULL::text, page_size integer DEFAULT 20, page_offset integer DEFAULT 0) RETURNS jsonb
    LANGUAGE plpgsql STABLE
    AS $$
BEGIN
    RETURN (
        SELECT coalesce(jsonb_agg(dispatch.booking_json(b) ORDER BY b.scheduled_for DESC, b.id DESC),
                        '[]')
          FROM (
              SELECT b.* FROM dispatch.bookings b
                JOIN dispatch.users u ON u.id = list_bookings.user_id
               WHERE (b.client_id = u.id OR u.role = 'dispatcher')
                 AND (list_bookings.status IS NULL OR b.status = list_bookings.status)
               ORDER BY b.scheduled_for DESC, b.id DESC
               LIMIT list_bookings.page_size OFFSET list_bookings.page_offset
          ) b
    );
END;
$$;

--
-- Name: FUNCTION list_bookings(user_id bigint, status text, page_size integer, page_offset integer); Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON FUNCTION dispatch.list_bookings(user_id bigint, status text, page_size integer, page_offset integer) IS 'The bookings a user may see (a client''s own, every one for a dispatcher), latest scheduled_for first, as a JSON array of booking objects.';

--
-- Name: list_cost_lines(bigint, bigint); Type: FUNCTION; Schema: dispatch; Owner: -
--

CREATE FUNCTION dispatch.list_cost_lines(assistance_id bigint, user_id bigint) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$
    SELECT (SELECT coalesce(jsonb_agg(dispatch.cost_line_json(c, r.currency) ORDER BY c.id), '[]')
              FROM dispatch.cost_lines c WHERE c.assistance_id = r.id)
    FROM dispatch.assistance_requests r
    WHERE r.id = list_cost_lines.assistance_id
      AND dispatch.can_read_assistance(r.id, list_cost_lines.user_id)
$$;

--
-- Name: FUNCTION list_cost_lines(assistance_id bigint, user_id bigint); Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON FUNCTION dispatch.list_cost_lines(assistance_id bigint, user_id bigint) IS 'The cost lines of a request so far, in the order added, for its client, its assistant or a dispatcher; NULL for anyone else.';

--
-- Name: list_shifts(bigint, timestamp with time zone, integer); Type: FUNCTION; Schema: dispatch; Owner: -
--

CREATE FUNCTION dispatch.list_shifts(assistant_id bigint, since timestamp with time zone DEFAULT NULL::timestamp with time zone, page_size integer DEFAULT 100) RETURNS jsonb
    LANGUAGE plpgsql STABLE
    AS $$
BEGIN
    RETURN (
        SELECT coalesce(jsonb_agg(jsonb_build_object(
                   'id', r.shift_id,
                   'started_at', dispatch.iso_utc(r.started_at),
                   'ended_at', dispatch.iso_utc(r.ended_at),
                   'end_reason', r.end_reason,
                   'online_minutes', r.online_minutes,
                   'on_job_minutes', r.on_job_minutes,
                   'jobs', r.jobs) ORDER BY r.started_at DESC, r.shift_id DESC), '[]')
          FROM (
              SELECT * FROM dispatch.shift_report r
               WHERE r.assistant_id = list_shifts.assistant_id
                 AND (list_shifts.since IS NULL OR coalesce(r.ended_at, 'infinity') >= list_shifts.since)
               ORDER BY r.started_at DESC, r.shift_id DESC
               LIMIT list_shifts.page_size
          ) r
    );
END;
$$;

--
-- Name: FUNCTION list_shifts(assistant_id bigint, since timestamp with time zone, page_size integer); Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON FUNCTION dispatch.list_shifts(assistant_id bigint, since timestamp with time zone, page_size integer) IS 'An assistant''s shifts that ended at or after `since` (or are open), newest first, with online_minutes, on_job_minutes and jobs (dispatch.shift_report).';

--
-- Name: list_zones(); Type: FUNCTION; Schema: dispatch; Owner: -
--

CREATE FUNCTION dispatch.list_zones() RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$
    SELECT coalesce(jsonb_agg(dispatch.zone_json(z.id) ORDER BY z.id), '[]')
    FROM dispatch.service_zones z
$$;

--
-- Name: FUNCTION list_zones(); Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON FUNCTION dispatch.list_zones() IS 'Every service zone (dispatch.zone_json), by id.';

--
-- Name: assistants; Type: TABLE; Schema: dispatch; Owner: -
--

CREATE TABLE dispatch.assistants (
    user_id bigint NOT NULL,
    service_type text NOT NULL,
    vehicle_type text NOT NULL,
    driving_license_cat text NOT NULL,
    driving_license_num text NOT NULL,
    driving_license_expiry date NOT NULL,
    vehicle_registration_num bigint NOT NULL,
    is_active boolean DEFAULT false NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT assistants_license_cat_check CHECK ((driving_license_cat = ANY (ARRAY['b'::text, 'c'::text]))),
    CONSTRAINT assistants_service_type_check CHECK ((service_type = ANY (ARRAY['towing'::text, 'repair'::text])))
);

--
-- Name: lock_job_taker(bigint, text, boolean); Type: FUNCTION; Schema: dispatch; Owner: -
--

CREATE FUNCTION dispatch.lock_job_taker(assistant_id bigint, service_type text, by_dispatcher boolean) RETURNS dispatch.assistants
    LANGUAGE plpgsql
    AS $$
#variable_conflict use_column
DECLARE
    profile  dispatch.assistants;
    disabled boolean;
    busy_id  bigint;
BEGIN
    -- Locking the profile serialises one assistant's concurrent accepts and assigns, so the
    -- open-job check below sees the other one's outcome; every taker locks the profile before
    -- the request, which rules out deadlocks.
    SELECT a.* INTO profile FROM dispatch.assistants a
    WHERE a.user_id = lock_job_taker.assistant_id FOR UPDATE;
    IF NOT FOUND AND by_dispatcher THEN
        RAISE EXCEPTION 'Assistant not found.' USING ERRCODE = 'DP045';
    ELSIF NOT FOUND THEN
        RAISE EXCEPTION 'Only assistants can accept assistance requests.' USING ERRCODE = 'DP008';
    END IF;
    SELECT u.is_disabled INTO disabled FROM dispatch.users u WHERE u.id = profile.user_id;
    IF NOT profile.is_active OR disabled THEN
        RAISE EXCEPTION '%', CASE WHEN by_dispatcher THEN 'This assistant is not active.'
                                  ELSE 'Go active before accepting assistance requests.' END
            USING ERRCODE = 'DP005';
    END IF;
    IF profile.driving_license_expiry < current_date THEN
        RAISE EXCEPTION '%', CASE WHEN by_dispatcher
                                  THEN 'This assistant''s driving licence has expired.'
                                  ELSE 'Your driving licence has expired.' END
            USING ERRCODE = 'DP005';
    END IF;
    IF lock_job_taker.service_type IS NOT NULL
       AND profile.service_type <> lock_job_taker.service_type THEN
        RAISE EXCEPTION 'This request needs a % assistant.', lock_job_taker.service_type
            USING ERRCODE = 'DP005';
    END IF;
    SELECT r.id INTO busy_id FROM dispatch.assistance_requests r
    WHERE r.assistant_id = profile.user_id AND r.status IN ('accepted', 'ongoing');
    IF FOUND THEN
        RAISE EXCEPTION '%', CASE WHEN by_dispatcher THEN 'This assistant already has an open job.'
                                  ELSE 'You already have an open job.' END
            USING ERRCODE = 'DP004', DETAIL = jsonb_build_object('assistance_id', busy_id)::text;
    END IF;
    RETURN profile;
END;
$$;

--
-- Name: FUNCTION lock_job_taker(assistant_id bigint, service_type text, by_dispatcher boolean); Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON FUNCTION dispatch.lock_job_taker(assistant_id bigint, service_type text, by_dispatcher boolean) IS 'Internal: lock the assistant''s profile and raise unless they could take a job (of service_type, when given) now: DP008 (accept) / DP045 (dispatcher) no such assistant, DP005 inactive, licence expired or other service type, DP004 an open job. Returns the profile.';

--
-- Name: maintain_position_history(integer, integer, date); Type: FUNCTION; Schema: dispatch; Owner: -
--

CREATE FUNCTION dispatch.maintain_position_history(retention_days integer DEFAULT NULL::integer, premake_days integer DEFAULT NULL::integer, today date DEFAULT NULL::date) RETURNS jsonb
    LANGUAGE plpgsql
    AS $_$
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
$_$;

--
-- Name: FUNCTION maintain_position_history(retention_days integer, premake_days integer, today date); Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON FUNCTION dispatch.maintain_position_history(retention_days integer, premake_days integer, today date) IS 'Create the daily partitions of dispatch.position_history from today to premake_days ahead (and for any day found in the default partition, moving those rows), and drop the partitions of days older than retention_days (defaults: the settings position_history_retention_days and position_history_premake_days). Returns {created, dropped}; NULL when another session is maintaining. Every server process calls it every DISPATCH_HISTORY_MAINTENANCE_S seconds; it can also be scheduled with pg_cron where that exists.';

--
-- Name: matchable_from_deleted_jobs(); Type: FUNCTION; Schema: dispatch; Owner: -
--

CREATE FUNCTION dispatch.matchable_from_deleted_jobs() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    PERFORM dispatch.refresh_matchable(ARRAY(
        SELECT o.assistant_id FROM old_rows o WHERE o.assistant_id IS NOT NULL));
    RETURN NULL;
END;
$$;

--
-- Name: FUNCTION matchable_from_deleted_jobs(); Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON FUNCTION dispatch.matchable_from_deleted_jobs() IS 'Trigger: refresh positions.matchable of assistants whose job was deleted.';

--
-- Name: matchable_from_job(); Type: FUNCTION; Schema: dispatch; Owner: -
--

CREATE FUNCTION dispatch.matchable_from_job() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM dispatch.refresh_matchable(ARRAY[NEW.assistant_id]);
    ELSE
        PERFORM dispatch.refresh_matchable(ARRAY(
            SELECT DISTINCT a FROM unnest(ARRAY[OLD.assistant_id, NEW.assistant_id]) a
             WHERE a IS NOT NULL));
    END IF;
    RETURN NULL;
END;
$$;

--
-- Name: FUNCTION matchable_from_job(); Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON FUNCTION dispatch.matchable_from_job() IS 'Trigger: refresh positions.matchable of the assistants whose job was created with them, or whose job status or assignment changed (the old and the new assistant).';

--
-- Name: matchable_from_new_rows(); Type: FUNCTION; Schema: dispatch; Owner: -
--

CREATE FUNCTION dispatch.matchable_from_new_rows() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    PERFORM dispatch.refresh_matchable(ARRAY(SELECT n.user_id FROM new_rows n));
    RETURN NULL;
END;
$$;

--
-- Name: FUNCTION matchable_from_new_rows(); Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON FUNCTION dispatch.matchable_from_new_rows() IS 'Trigger: refresh positions.matchable for the user_id of every new or changed row.';

--
-- Name: matchable_from_users(); Type: FUNCTION; Schema: dispatch; Owner: -
--

CREATE FUNCTION dispatch.matchable_from_users() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    PERFORM dispatch.refresh_matchable(ARRAY(
        SELECT n.id FROM new_rows n JOIN old_rows o ON o.id = n.id
         WHERE n.is_disabled IS DISTINCT FROM o.is_disabled));
    RETURN NULL;
END;
$$;

--
-- Name: FUNCTION matchable_from_users(); Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON FUNCTION dispatch.matchable_from_users() IS 'Trigger: refresh positions.matchable for users whose is_disabled changed.';

--
-- Name: nearby_assistants(double precision, double precision, text, double precision, integer); Type: FUNCTION; Schema: dispatch; Owner: -
--

CREATE FUNCTION dispatch.nearby_assistants(lat double precision, lng double precision, service_type text DEFAULT NULL::text, radius_m double precision DEFAULT NULL::double precision, max_results integer DEFAULT NULL::integer) RETURNS TABLE(assistant_id bigint, distance_m double precision, assistant_service_type text, vehicle_type text)
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
    -- Exact geodesic (WGS84 spheroid) top-N in two index-driven steps, each touching O(N) rows
    -- whatever the number of assistants around:
    -- 1. the GiST index's KNN order (<->, sphere distance) yields N eligible candidates within
    --    the radius; the largest spheroid distance among them, M, bounds the true N-th nearest;
    -- 2. every eligible assistant within M (+1 %, more than the sphere/spheroid difference of
    --    at most 0.6 %) is re-ranked by spheroid distance. Step 2's only index condition is that
    --    bound: with the search radius as a second ST_DWithin the planner scanned the whole radius
    --    (6,000 predicate calls per request with 3,000 assistants within 5 km).
    WITH params AS (
        SELECT ST_SetSRID(ST_MakePoint(nearby_assistants.lng, nearby_assistants.lat), 4326)::geography
                   AS g,
               coalesce(nearby_assistants.radius_m,
                        dispatch.setting_numeric('matching_radius_m')::double precision) AS r,
               coalesce(nearby_assistants.max_results,
                        dispatch.setting_numeric('matching_max_results')::integer) AS n
    ), knn AS (
        SELECT ST_Distance(c.geog, params.g) AS d
        FROM params, LATERAL (
            SELECT v.geog
            FROM dispatch.available_assistants v
            WHERE (nearby_assistants.service_type IS NULL
                   OR v.service_type = nearby_assistants.service_type)
              AND ST_DWithin(v.geog, params.g, params.r)
            ORDER BY v.geog <-> params.g
            LIMIT params.n
        ) c
    ), bound AS (
        SELECT least(max(knn.d), params.r) * 1.01 AS b FROM knn, params GROUP BY params.r
    )
    SELECT v.user_id, x.d, v.service_type, v.vehicle_type
    FROM params, bound, dispatch.available_assistants v,
         LATERAL (SELECT ST_Distance(v.geog, params.g) AS d) x
    WHERE (nearby_assistants.service_type IS NULL OR v.service_type = nearby_assistants.service_type)
      AND ST_DWithin(v.geog, params.g, bound.b, false)
      AND x.d <= params.r
    ORDER BY x.d, v.user_id
    LIMIT (SELECT n FROM params)
$$;

--
-- Name: FUNCTION nearby_assistants(lat double precision, lng double precision, service_type text, radius_m double precision, max_results integer); Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON FUNCTION dispatch.nearby_assistants(lat double precision, lng double precision, service_type text, radius_m double precision, max_results integer) IS 'Available assistants (see dispatch.available_assistants) of service_type (NULL = any) within radius_m metres of (lat, lng), nearest first by geodesic distance (WGS84), at most max_results. NULL radius_m / max_results take the settings matching_radius_m / matching_max_results.';

--
-- Name: numeric_max(regclass, name); Type: FUNCTION; Schema: dispatch; Owner: -
--

CREATE FUNCTION dispatch.numeric_max(tab regclass, col name) RETURNS numeric
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
    -- A numeric(p, s) column keeps ((p << 16) | s) + 4 in atttypmod; unconstrained (-1): NULL.
    SELECT 10::numeric ^ ((((a.atttypmod - 4) >> 16) & 65535) - ((a.atttypmod - 4) & 65535))
           - 10::numeric ^ (-((a.atttypmod - 4) & 65535))
    FROM pg_attribute a
    WHERE a.attrelid = numeric_max.tab AND a.attname = numeric_max.col AND NOT a.attisdropped
      AND a.atttypid = 'numeric'::regtype AND a.atttypmod >= 4
$$;

--
-- Name: FUNCTION numeric_max(tab regclass, col name); Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON FUNCTION dispatch.numeric_max(tab regclass, col name) IS 'The largest value a numeric(p, s) column holds (numeric(14, 4): 9999999999.9999), read from the column''s type so that a bound and its storage cannot disagree; NULL for a column that is not numeric(p, s).';

--
-- Name: offer_batch(dispatch.assistance_requests, jsonb); Type: FUNCTION; Schema: dispatch; Owner: -
--

CREATE FUNCTION dispatch.offer_batch(request dispatch.assistance_requests, candidates jsonb, OUT topics text[], OUT frames jsonb[]) RETURNS record
    LANGUAGE plpgsql STABLE
    AS $$
DECLARE
    frame jsonb;
BEGIN
    IF jsonb_array_length(candidates) = 0 THEN
        RETURN;
    END IF;
    frame := dispatch.offer_frame(request);
    SELECT array_agg('assistant:' || (c ->> 'assistant_id')) || ARRAY['dispatch'],
           array_agg(frame || jsonb_build_object('distance', c -> 'distance', 'eta_s', c -> 'eta_s',
                                                 'eta_source', c -> 'eta_source'))
               || ARRAY[jsonb_build_object(
                      'type', 'offer',
                      'assistance_id', request.id,
                      'round', request.offer_round,
                      'assistant_ids', jsonb_agg((c ->> 'assistant_id')::bigint),
                      'expires_at', dispatch.iso_utc(request.round_ends_at))]
      INTO topics, frames
      FROM jsonb_array_elements(candidates) c;
END;
$$;

--
-- Name: FUNCTION offer_batch(request dispatch.assistance_requests, candidates jsonb, OUT topics text[], OUT frames jsonb[]); Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON FUNCTION dispatch.offer_batch(request dispatch.assistance_requests, candidates jsonb, OUT topics text[], OUT frames jsonb[]) IS 'Internal: the frames announcing offers to candidates: new_assistance_request (with the assistant''s distance, eta_s and eta_source) to each assistant:<id>, then one {type: offer, assistance_id, round, assistant_ids, expires_at} to dispatch (NULL arrays for no candidate).';

--
-- Name: offer_candidates(bigint, public.geography, text, double precision, integer); Type: FUNCTION; Schema: dispatch; Owner: -
--

CREATE FUNCTION dispatch.offer_candidates(assistance_id bigint, pickup public.geography, service_type text, radius_m double precision, max_results integer) RETURNS TABLE(assistant_id bigint, distance_m double precision, eta_s integer, eta_source text, rank_s double precision)
    LANGUAGE plpgsql STABLE
    AS $$
DECLARE
    ids    bigint[];
    places geography[];
    ds     double precision[];
BEGIN
    SELECT array_agg(n.assistant_id ORDER BY n.distance_m, n.assistant_id),
           array_agg(n.place ORDER BY n.distance_m, n.assistant_id),
           array_agg(n.distance_m ORDER BY n.distance_m, n.assistant_id)
      INTO ids, places, ds
      FROM dispatch.preselect_candidates(assistance_id, pickup, service_type, radius_m,
                                         max_results * dispatch.preselect_factor(pickup)) n;
    IF ids IS NULL THEN
        RETURN;
    END IF;
    RETURN QUERY SELECT * FROM dispatch.rank_by_eta(pickup, ids, places, ds, max_results);
END;
$$;

--
-- Name: FUNCTION offer_candidates(assistance_id bigint, pickup public.geography, service_type text, radius_m double precision, max_results integer); Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON FUNCTION dispatch.offer_candidates(assistance_id bigint, pickup public.geography, service_type text, radius_m double precision, max_results integer) IS 'The max_results available assistants of service_type within radius_m metres of pickup who were never offered request assistance_id and hold no open exclusive offer of an assignment batch, soonest first: by road travel time where a graph covers the pickup (among the straight-line nearest roads_preselect_factor x max_results), else by geodesic distance; each with distance_m, eta_s, eta_source and the ranking key rank_s.';

--
-- Name: offer_frame(dispatch.assistance_requests); Type: FUNCTION; Schema: dispatch; Owner: -
--

CREATE FUNCTION dispatch.offer_frame(request dispatch.assistance_requests) RETURNS jsonb
    LANGUAGE plpgsql STABLE
    AS $$
BEGIN
    -- The offer is the same for everyone but for the distance: built once per batch.
    RETURN jsonb_build_object(
        'type', 'new_assistance_request',
        'assistance_id', request.id,
        'service_type', request.service_type,
        'assistance_type', request.service_type,
        'vehicle_type', request.vehicle_type,
        'description', request.description,
        'pickup_location', dispatch.point_json(request.pickup),
        'dropoff_location', dispatch.point_json(request.dropoff),
        'distance_km', round(request.distance_km::numeric, 3),
        'total_price', request.total_price,
        'currency', request.currency,
        'offer_round', request.offer_round,
        'expires_at', dispatch.iso_utc(request.round_ends_at),
        'client', (SELECT jsonb_build_object('id', c.id, 'name', c.name)
                     FROM dispatch.users c WHERE c.id = request.client_id));
END;
$$;

--
-- Name: FUNCTION offer_frame(request dispatch.assistance_requests); Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON FUNCTION dispatch.offer_frame(request dispatch.assistance_requests) IS 'The new_assistance_request frame of a request''s current round, without the distance.';

--
-- Name: offer_policy(); Type: FUNCTION; Schema: dispatch; Owner: -
--

CREATE FUNCTION dispatch.offer_policy() RETURNS text
    LANGUAGE plpgsql STABLE
    AS $$
BEGIN
    RETURN coalesce((SELECT s.value #>> '{}' FROM dispatch.settings s WHERE s.key = 'offer_policy'),
                    'rounds');
END;
$$;

--
-- Name: FUNCTION offer_policy(); Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON FUNCTION dispatch.offer_policy() IS 'The offer policy in force: rounds (default) or assignment (the settings row offer_policy).';

--
-- Name: offer_round_ends_at(); Type: FUNCTION; Schema: dispatch; Owner: -
--

CREATE FUNCTION dispatch.offer_round_ends_at() RETURNS timestamp with time zone
    LANGUAGE sql STABLE
    AS $$
    -- At least 100 ms, so that an offer always expires after it was sent.
    SELECT now() + make_interval(secs => greatest(dispatch.setting_numeric('offer_timeout_s'), 0.1))
$$;

--
-- Name: FUNCTION offer_round_ends_at(); Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON FUNCTION dispatch.offer_round_ends_at() IS 'When a round starting now ends: now() + offer_timeout_s (database clock).';

--
-- Name: offer_round_radius_m(integer); Type: FUNCTION; Schema: dispatch; Owner: -
--

CREATE FUNCTION dispatch.offer_round_radius_m(round_number integer) RETURNS double precision
    LANGUAGE sql STABLE
    AS $$
    SELECT least(dispatch.setting_numeric('matching_radius_m')
                 * power(dispatch.setting_numeric('offer_radius_growth'),
                         greatest(offer_round_radius_m.round_number, 1) - 1),
                 dispatch.setting_numeric('offer_max_radius_m'))::double precision
$$;

--
-- Name: FUNCTION offer_round_radius_m(round_number integer); Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON FUNCTION dispatch.offer_round_radius_m(round_number integer) IS 'Search radius of round k in metres: matching_radius_m * offer_radius_growth^(k-1), at most offer_max_radius_m.';

--
-- Name: offer_to_arrivals(dispatch.assistance_requests); Type: FUNCTION; Schema: dispatch; Owner: -
--

CREATE FUNCTION dispatch.offer_to_arrivals(request dispatch.assistance_requests) RETURNS integer
    LANGUAGE plpgsql
    AS $$
DECLARE
    n_max      integer := dispatch.setting_numeric('matching_max_results')::integer;
    factor     integer;
    key        integer;
    offered    integer;
    farthest   double precision;
    candidates jsonb;
    sent       integer;
BEGIN
    -- An assistant who became eligible (or came within reach) during the round joins it when the
    -- round start would have picked them: anyone within the radius while the round reached fewer
    -- than N, else anyone sooner than the latest assistant the round reached (by road time, or
    -- by the straight line, as each was ranked).
    -- Road ranking costs a routing call; when the straight-line preselection is who it was at
    -- the last look, nobody new, nobody moved, there is nothing to route (hashtext: a collision
    -- only delays a newcomer to the next change of the set).
    factor := dispatch.preselect_factor(request.pickup);
    IF factor > 1 THEN
        key := dispatch.arrivals_key(request, n_max * factor);
        IF key = request.arrivals_key THEN
            UPDATE dispatch.assistance_requests r SET arrivals_checked_at = now()
             WHERE r.id = request.id;
            RETURN 0;
        END IF;
    END IF;
    SELECT count(*),
           max(CASE WHEN o.eta_source = 'road' THEN o.eta_s
                    ELSE dispatch.straight_line_eta_s(o.distance_m) END)
      INTO offered, farthest
      FROM dispatch.offers o
     WHERE o.assistance_id = request.id AND o.round = request.offer_round;
    candidates := dispatch.candidates_json(
        request.id, request.pickup, request.service_type, request.round_radius_m,
        CASE WHEN offered < n_max THEN NULL ELSE farthest END);
    sent := dispatch.send_offers(request, candidates);
    IF sent > 0 THEN
        UPDATE dispatch.offer_rounds x SET arrivals = x.arrivals + sent
         WHERE x.assistance_id = request.id AND x.round = request.offer_round;
        IF factor > 1 THEN  -- those just offered leave the preselection
            key := dispatch.arrivals_key(request, n_max * factor);
        END IF;
    END IF;
    UPDATE dispatch.assistance_requests r SET arrivals_checked_at = now(), arrivals_key = key
     WHERE r.id = request.id;
    RETURN sent;
END;
$$;

--
-- Name: FUNCTION offer_to_arrivals(request dispatch.assistance_requests); Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON FUNCTION dispatch.offer_to_arrivals(request dispatch.assistance_requests) IS 'Internal (request row locked): offer the current round to assistants who became eligible within its reach since it started (expiring with the round). Returns the number offered.';

--
-- Name: offers_final_guard(); Type: FUNCTION; Schema: dispatch; Owner: -
--

CREATE FUNCTION dispatch.offers_final_guard() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    IF OLD.state <> 'open' AND (NEW.state, NEW.closed_at, NEW.close_reason)
                               IS DISTINCT FROM (OLD.state, OLD.closed_at, OLD.close_reason) THEN
        RAISE EXCEPTION 'An offer in state % is final.', OLD.state USING ERRCODE = 'DP013';
    END IF;
    RETURN NEW;
END;
$$;

--
-- Name: FUNCTION offers_final_guard(); Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON FUNCTION dispatch.offers_final_guard() IS 'Trigger: a closed offer (declined, expired, withdrawn, accepted) never changes again (DP013).';

--
-- Name: offers_of_deleted_requests(); Type: FUNCTION; Schema: dispatch; Owner: -
--

CREATE FUNCTION dispatch.offers_of_deleted_requests() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    DELETE FROM dispatch.offers o USING old_rows r WHERE o.assistance_id = r.id;
    RETURN NULL;
END;
$$;

--
-- Name: FUNCTION offers_of_deleted_requests(); Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON FUNCTION dispatch.offers_of_deleted_requests() IS 'Trigger: deleting assistance requests deletes their offers (the cascade of a foreign key).';

--
-- Name: offers_of_deleted_users(); Type: FUNCTION; Schema: dispatch; Owner: -
--

CREATE FUNCTION dispatch.offers_of_deleted_users() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    DELETE FROM dispatch.offers o USING old_rows u WHERE o.assistant_id = u.id;
    RETURN NULL;
END;
$$;

--
-- Name: FUNCTION offers_of_deleted_users(); Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON FUNCTION dispatch.offers_of_deleted_users() IS 'Trigger: deleting users deletes the offers made to them (the cascade of a foreign key).';

--
-- Name: offers_truncated(); Type: FUNCTION; Schema: dispatch; Owner: -
--

CREATE FUNCTION dispatch.offers_truncated() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    -- DELETE, not TRUNCATE: a TRUNCATE that lists dispatch.offers too holds it open here (and has
    -- emptied it already: AFTER TRUNCATE triggers run once every listed table is truncated).
    DELETE FROM dispatch.offers;
    RETURN NULL;
END;
$$;

--
-- Name: FUNCTION offers_truncated(); Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON FUNCTION dispatch.offers_truncated() IS 'Trigger: truncating users or assistance requests empties the offers too (TRUNCATE ... CASCADE reached them through foreign keys).';

--
-- Name: point_json(public.geography); Type: FUNCTION; Schema: dispatch; Owner: -
--

CREATE FUNCTION dispatch.point_json(geog public.geography) RETURNS jsonb
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
    SELECT CASE WHEN geog IS NULL THEN NULL
                ELSE jsonb_build_object('lat', ST_Y(geog::geometry), 'lng', ST_X(geog::geometry))
           END
$$;

--
-- Name: FUNCTION point_json(geog public.geography); Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON FUNCTION dispatch.point_json(geog public.geography) IS 'A point as {"lat", "lng"}; NULL for NULL.';

--
-- Name: position_history_partition(date); Type: FUNCTION; Schema: dispatch; Owner: -
--

CREATE FUNCTION dispatch.position_history_partition(day date) RETURNS text
    LANGUAGE plpgsql
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

--
-- Name: FUNCTION position_history_partition(day date); Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON FUNCTION dispatch.position_history_partition(day date) IS 'Internal: create and attach the daily partition of position history for a UTC day (moving its rows out of the default partition); NULL when it exists already.';

--
-- Name: post_chat(bigint, bigint, text, integer); Type: FUNCTION; Schema: dispatch; Owner: -
--

CREATE FUNCTION dispatch.post_chat(assistance_id bigint, sender_id bigint, message text, per_minute integer DEFAULT 0) RETURNS jsonb
    LANGUAGE plpgsql
    AS $$
DECLARE
    frame jsonb;
BEGIN
    -- One bucket per user for every socket in every process (DISPATCH_WS_CHAT_PER_MINUTE):
    -- bursts of per_minute, refilled at per_minute a minute.
    IF per_minute > 0
       AND NOT dispatch.take_token('chat:' || post_chat.sender_id, per_minute, per_minute / 60.0) THEN
        RAISE EXCEPTION 'too many chat messages; slow down' USING ERRCODE = 'DPC01';
    END IF;
    INSERT INTO dispatch.chat_messages (assistance_id, sender_id, message)
    SELECT r.id, post_chat.sender_id, post_chat.message
    FROM dispatch.assistance_requests r
    WHERE r.id = post_chat.assistance_id AND dispatch.channel_party(r, post_chat.sender_id)
    RETURNING jsonb_build_object(
        'type', 'chat',
        'message', chat_messages.message,
        'sender', chat_messages.sender_id,
        'sender_name', (SELECT u.name FROM dispatch.users u WHERE u.id = chat_messages.sender_id),
        'sender_role', (SELECT u.role FROM dispatch.users u WHERE u.id = chat_messages.sender_id),
        'sent_at', dispatch.iso_utc(chat_messages.sent_at)
    ) INTO frame;
    IF frame IS NULL THEN
        RAISE EXCEPTION 'You are not a party to this assistance request.' USING ERRCODE = 'DP001';
    END IF;
    PERFORM dispatch.emit('assistance:' || post_chat.assistance_id, frame);
    RETURN frame;
END;
$$;

--
-- Name: FUNCTION post_chat(assistance_id bigint, sender_id bigint, message text, per_minute integer); Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON FUNCTION dispatch.post_chat(assistance_id bigint, sender_id bigint, message text, per_minute integer) IS 'Store a chat message from a party of a request''s channel (dispatch.channel_party; DP001 otherwise) and relay it on the request''s channel (frame {type: chat, message, sender, sender_name, sender_role, sent_at}). With per_minute > 0, the sender''s chat bucket (dispatch.take_token, key chat:<user id>) must hold a token, else DPC01.';

--
-- Name: preselect_candidates(bigint, public.geography, text, double precision, integer); Type: FUNCTION; Schema: dispatch; Owner: -
--

CREATE FUNCTION dispatch.preselect_candidates(assistance_id bigint, pickup public.geography, service_type text, radius_m double precision, k integer) RETURNS TABLE(assistant_id bigint, place public.geography, distance_m double precision, moved_at timestamp with time zone)
    LANGUAGE plpgsql STABLE
    AS $$
BEGIN
    -- plpgsql so the plan is cached per session. dispatch.nearby_assistants' exact top-k (KNN for
    -- k candidates, then a spheroid re-rank of everyone within the largest of their distances
    -- + 1 %; that bound is the re-rank's only index condition, so it touches O(k) rows whatever
    -- the density), leaving out whoever already had an offer of this request in any state:
    -- nobody is offered the same request twice.
    RETURN QUERY
    WITH knn AS (
        SELECT ST_Distance(v.geog, preselect_candidates.pickup) AS d
        FROM dispatch.available_assistants v
        WHERE v.service_type = preselect_candidates.service_type
          AND ST_DWithin(v.geog, preselect_candidates.pickup, preselect_candidates.radius_m)
          -- No request yet (round 1 inside request_assistance): nobody to leave out, and the
          -- test is skipped at run time (the plan is cached generic: it must not depend on it).
          AND (preselect_candidates.assistance_id IS NULL
               OR NOT EXISTS (SELECT 1 FROM dispatch.offers o
                               WHERE o.assistance_id = preselect_candidates.assistance_id
                                 AND o.assistant_id = v.user_id))
          -- Holding an exclusive offer of an assignment batch (assignment.sql): nothing else
          -- until it is answered or expires.
          AND NOT EXISTS (SELECT 1 FROM dispatch.offers x
                           WHERE x.assistant_id = v.user_id AND x.expires_at > now()
                             AND x.batch_id IS NOT NULL AND x.state = 'open')
        ORDER BY v.geog <-> preselect_candidates.pickup
        LIMIT preselect_candidates.k
    ), bound AS (
        SELECT least(max(knn.d), preselect_candidates.radius_m) * 1.01 AS b FROM knn
    )
    SELECT v.user_id, v.geog, x.d, p.updated_at
    FROM bound, dispatch.available_assistants v
    JOIN dispatch.positions p ON p.user_id = v.user_id,
         LATERAL (SELECT ST_Distance(v.geog, preselect_candidates.pickup) AS d) x
    WHERE v.service_type = preselect_candidates.service_type
      AND ST_DWithin(v.geog, preselect_candidates.pickup, bound.b, false)
      AND x.d <= preselect_candidates.radius_m
      AND (preselect_candidates.assistance_id IS NULL
           OR NOT EXISTS (SELECT 1 FROM dispatch.offers o
                           WHERE o.assistance_id = preselect_candidates.assistance_id
                             AND o.assistant_id = v.user_id))
      AND NOT EXISTS (SELECT 1 FROM dispatch.offers x
                       WHERE x.assistant_id = v.user_id AND x.expires_at > now()
                         AND x.batch_id IS NOT NULL AND x.state = 'open')
    ORDER BY x.d, v.user_id
    LIMIT preselect_candidates.k;
END;
$$;

--
-- Name: FUNCTION preselect_candidates(assistance_id bigint, pickup public.geography, service_type text, radius_m double precision, k integer); Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON FUNCTION dispatch.preselect_candidates(assistance_id bigint, pickup public.geography, service_type text, radius_m double precision, k integer) IS 'The k geodesically nearest available assistants of service_type within radius_m metres of pickup never offered request assistance_id (exact, nearest first), with their place and when their position last changed: what offer_candidates ranks.';

--
-- Name: preselect_factor(public.geography); Type: FUNCTION; Schema: dispatch; Owner: -
--

CREATE FUNCTION dispatch.preselect_factor(pickup public.geography) RETURNS integer
    LANGUAGE plpgsql STABLE
    AS $$
BEGIN
    -- Where a road graph covers the pickup, the straight line only preselects: the cut is by
    -- road time among roads_preselect_factor times as many (etas.sql, dispatch.rank_by_eta).
    IF roads.covers(pickup::geometry) THEN
        RETURN greatest(dispatch.setting_numeric('roads_preselect_factor'), 1)::integer;
    END IF;
    RETURN 1;
END;
$$;

--
-- Name: FUNCTION preselect_factor(pickup public.geography); Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON FUNCTION dispatch.preselect_factor(pickup public.geography) IS 'How many times N candidates the straight line preselects for a pickup: roads_preselect_factor where a road graph covers it, else 1.';

--
-- Name: prune_events(interval, integer); Type: FUNCTION; Schema: dispatch; Owner: -
--

CREATE FUNCTION dispatch.prune_events(keep interval, max_rows integer DEFAULT 10000) RETURNS integer
    LANGUAGE plpgsql
    AS $$
DECLARE
    pruned integer;
    top    bigint;
BEGIN
    -- The oldest max_rows published batches by seq (the seq index: no index on created_at to
    -- keep up on every publish), those of them older than keep.
    WITH gone AS (
        DELETE FROM dispatch.event_log e
         WHERE e.ctid IN (SELECT x.tid
                            FROM (SELECT b.ctid AS tid, b.created_at FROM dispatch.event_log b
                                   WHERE b.seq IS NOT NULL ORDER BY b.seq LIMIT max_rows) x
                           WHERE x.created_at < now() - keep)
        RETURNING e.seq + cardinality(e.topics) - 1 AS last_seq, cardinality(e.topics) AS n
    )
    SELECT coalesce(sum(n), 0), max(last_seq) INTO pruned, top FROM gone;
    IF pruned > 0 THEN
        UPDATE dispatch.event_cursor SET pruned_through = greatest(pruned_through, top);
    END IF;
    RETURN pruned;
END;
$$;

--
-- Name: FUNCTION prune_events(keep interval, max_rows integer); Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON FUNCTION dispatch.prune_events(keep interval, max_rows integer) IS 'Delete up to max_rows published batches older than keep; returns how many frames they held and records the highest seq pruned in dispatch.event_cursor.pruned_through. Safe to run from several processes at once.';

--
-- Name: publish_events(integer); Type: FUNCTION; Schema: dispatch; Owner: -
--

CREATE FUNCTION dispatch.publish_events(max_rows integer DEFAULT 1000) RETURNS TABLE(seq bigint, topics text[], messages text[], skip_user bigint)
    LANGUAGE plpgsql
    AS $$
#variable_conflict use_column
DECLARE
    last    bigint;
    top     bigint;
    b       record;
    j       text;
    payload text := '';
    upto    bigint;
    fits    boolean := true;
BEGIN
    -- Nothing pending: no lock taken, nothing written (a row lock would cost a WAL flush).
    IF NOT EXISTS (SELECT 1 FROM dispatch.event_log e WHERE e.seq IS NULL) THEN
        RETURN;
    END IF;
    -- Publishers serialise here. Under READ COMMITTED the next statement takes a new snapshot,
    -- so it sees every row the previous publisher numbered: seq order is the commit order of the
    -- publish transactions, and a reader that sees seq S also sees every seq below it.
    SELECT c.last_seq INTO last FROM dispatch.event_cursor c FOR UPDATE;
    -- The batches are returned as they are numbered and, as long as they fit, gathered into the
    -- payloads of the wake-up NOTIFY: "<last seq> [[seq, skip_user, topics, messages], ...]",
    -- under 8000 bytes each. A batch too large for one, and all after it, are announced by the
    -- bare highest seq ("<top>"), on which listeners read the table (dispatch/events/listener.py). The
    -- NOTIFY rides on this transaction, which publishers already take one at a time (the counter
    -- lock): it adds no serialisation of its own.
    FOR b IN
        WITH pending AS (
            -- By ctid below (event_log has no primary key): nobody else updates or deletes an
            -- unpublished row, and the counter's lock keeps other passes out until this one commits.
            SELECT e.ctid AS tid, e.id, cardinality(e.topics) AS n
              FROM dispatch.event_log e WHERE e.seq IS NULL ORDER BY e.id LIMIT max_rows
        ), placed AS (
            -- A batch's first seq follows the frames of the batches before it.
            SELECT p.tid, p.n, last + sum(p.n) OVER (ORDER BY p.id) - p.n + 1 AS first_seq
              FROM pending p
        ), counter AS (
            UPDATE dispatch.event_cursor SET last_seq = last + (SELECT coalesce(sum(n), 0) FROM pending)
            RETURNING 1
        ), numbered AS (
            UPDATE dispatch.event_log e SET seq = p.first_seq FROM placed p WHERE e.ctid = p.tid
            RETURNING e.seq, e.topics, e.messages, e.skip_user
        )
        SELECT n.seq, n.topics, n.messages, n.skip_user FROM numbered n ORDER BY n.seq
    LOOP
        seq := b.seq;
        topics := b.topics;
        messages := b.messages;
        skip_user := b.skip_user;
        RETURN NEXT;
        top := b.seq + cardinality(b.topics) - 1;
        IF fits THEN
            j := json_build_array(b.seq, b.skip_user, b.topics, b.messages)::text;
            fits := octet_length(j) <= 7900;
        END IF;
        IF fits THEN
            IF octet_length(payload) + octet_length(j) > 7900 THEN
                PERFORM pg_notify('dispatch_events', upto || ' [' || payload || ']');
                payload := '';
            END IF;
            payload := CASE WHEN payload = '' THEN j ELSE payload || ',' || j END;
            upto := top;
        END IF;
    END LOOP;
    IF payload <> '' THEN
        PERFORM pg_notify('dispatch_events', upto || ' [' || payload || ']');
    END IF;
    IF NOT fits THEN
        PERFORM pg_notify('dispatch_events', top::text);  -- dispatch.events.CHANNEL in Python
    END IF;
END;
$$;

--
-- Name: FUNCTION publish_events(max_rows integer); Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON FUNCTION dispatch.publish_events(max_rows integer) IS 'Number up to max_rows committed, unpublished batches of dispatch.event_log (a batch of k frames takes k consecutive seqs, in id order) and return them (seq of the first frame, topics, messages as JSON text, skip_user); on commit, NOTIFY dispatch_events with them ("<last seq> [[seq, skip_user, topics, messages], ...]" under 8000 bytes each) and, when some did not fit, with the bare highest seq. Must run in its own READ COMMITTED transaction; concurrent callers serialise.';

--
-- Name: publish_fleet_positions(double precision, integer); Type: FUNCTION; Schema: dispatch; Owner: -
--

CREATE FUNCTION dispatch.publish_fleet_positions(min_interval_s double precision DEFAULT 1, per_frame integer DEFAULT 40) RETURNS integer
    LANGUAGE plpgsql
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

--
-- Name: FUNCTION publish_fleet_positions(min_interval_s double precision, per_frame integer); Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON FUNCTION dispatch.publish_fleet_positions(min_interval_s double precision, per_frame integer) IS 'Publish to topic dispatch the assistants whose position changed since the last run, as "positions" frames {assistants: [{assistant_id, lat, lng, state, at}]} of up to per_frame each; no-op unless min_interval_s has passed since that run (or another process is running it). Returns how many assistants it published.';

--
-- Name: quote_price(text, text, double precision, bigint, bigint[], public.geography); Type: FUNCTION; Schema: dispatch; Owner: -
--

CREATE FUNCTION dispatch.quote_price(service_type text, vehicle_type text, distance_km double precision, pickup_cell_r7 bigint DEFAULT NULL::bigint, neighbour_cells_r7 bigint[] DEFAULT NULL::bigint[], pickup public.geography DEFAULT NULL::public.geography) RETURNS jsonb
    LANGUAGE plpgsql STABLE
    AS $$
DECLARE
    t         record;
    km        numeric := round(quote_price.distance_km::numeric, 3);
    surge     numeric := 1.0;
    base      numeric;
    by_km     numeric;
    subtotal  numeric;
    total     numeric;
    largest   numeric;
    lines     jsonb;
    zone      jsonb;
BEGIN
    IF quote_price.distance_km IS NULL OR quote_price.distance_km < 0
       OR quote_price.distance_km = 'Infinity'::double precision
       OR quote_price.distance_km = 'NaN'::double precision THEN
        RAISE EXCEPTION 'The distance must be a non-negative number of km.' USING ERRCODE = 'DP009';
    END IF;
    -- The tariff as it applies at the pickup (its zone's own, or the default): the same rows
    -- dispatch.service_catalogue shows (sql/functions/zones.sql).
    SELECT * INTO t FROM dispatch.tariffs_at(quote_price.pickup) x
    WHERE x.service_type = quote_price.service_type AND x.vehicle_type = quote_price.vehicle_type;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'There is no tariff for this service type and vehicle type.'
            USING ERRCODE = 'DP009';
    END IF;
    IF t.zone_id IS NOT NULL THEN
        zone := jsonb_build_object('id', t.zone_id, 'name', t.zone_name);
    END IF;
    -- Refused before anyone is matched or notified.
    IF NOT t.serviceable THEN
        RAISE EXCEPTION 'This place is in %, an area without service.', t.zone_name
            USING ERRCODE = 'DP020', DETAIL = jsonb_build_object('zone', zone)::text;
    END IF;
    IF quote_price.pickup_cell_r7 IS NOT NULL THEN
        surge := dispatch.surge_for_cells(
            array_append(coalesce(quote_price.neighbour_cells_r7, '{}'), quote_price.pickup_cell_r7));
    END IF;
    -- Each line rounded once, to the currency's minor unit.
    base := round(t.base_fare, t.minor_units);
    by_km := round(t.per_km * km, t.minor_units);
    subtotal := base + by_km;
    total := round(subtotal * surge, t.minor_units);
    -- A zone's per-km price times a long trip can pass what the request's total_price holds:
    -- refused with a code here rather than a numeric overflow when the request is stored.
    largest := dispatch.numeric_max('dispatch.assistance_requests', 'total_price');
    IF total > largest THEN
        RAISE EXCEPTION 'This trip would cost % %, more than the % % a quote can be.',
            trim_scale(total), t.currency, trim_scale(largest), t.currency
            USING ERRCODE = 'DP029',
                  DETAIL = jsonb_build_object('quote_limit', trim_scale(largest))::text;
    END IF;
    lines := jsonb_build_array(jsonb_build_object(
        'label', CASE WHEN zone IS NULL THEN t.base_label
                      ELSE format('%s (%s)', t.base_label, t.zone_name) END,
        'amount', base));
    IF t.per_km > 0 THEN
        lines := lines || jsonb_build_object(
            'label', format('Distance (%s km × %s %s/km)', km, trim_scale(t.per_km), t.currency),
            'amount', by_km);
    END IF;
    IF total <> subtotal THEN
        lines := lines || jsonb_build_object(
            'label', format('Surge × %s', trim_scale(surge)), 'amount', total - subtotal);
    END IF;
    RETURN jsonb_build_object(
        'total', total,
        'currency', t.currency,
        'surge_multiplier', surge,
        'lines', lines,
        'zone', zone,
        'final_price_on_completion', t.final_price_on_completion
    );
END;
$$;

--
-- Name: FUNCTION quote_price(service_type text, vehicle_type text, distance_km double precision, pickup_cell_r7 bigint, neighbour_cells_r7 bigint[], pickup public.geography); Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON FUNCTION dispatch.quote_price(service_type text, vehicle_type text, distance_km double precision, pickup_cell_r7 bigint, neighbour_cells_r7 bigint[], pickup public.geography) IS 'Price of a job: {total, currency, surge_multiplier, lines: [{label, amount}], zone: {id, name} | null, final_price_on_completion}. The tariff is the one dispatch.tariffs_at gives at the pickup (the smallest covering zone''s own, else dispatch.tariffs; the base line names the zone): base fare (or callout fee) + per-km × distance_km, times the surge over pickup_cell_r7 and neighbour_cells_r7 (1.0 when pickup_cell_r7 is NULL), each line rounded to the currency''s minor unit; the lines add up to the total. DP020 pickup in a zone that is not serviceable; unknown tariff or bad distance: DP009; DP029 a total that assistance_requests.total_price cannot hold (dispatch.numeric_max).';

--
-- Name: rank_by_eta(public.geography, bigint[], public.geography[], double precision[], integer); Type: FUNCTION; Schema: dispatch; Owner: -
--

CREATE FUNCTION dispatch.rank_by_eta(pickup public.geography, ids bigint[], places public.geography[], distances double precision[], max_results integer) RETURNS TABLE(assistant_id bigint, distance_m double precision, eta_s integer, eta_source text, rank_s double precision)
    LANGUAGE plpgsql STABLE
    AS $$
DECLARE
    times double precision[];
    speed double precision;  -- metres a second
BEGIN
    -- No graph covers the pickup (a city without imported roads, or this part of one): the
    -- straight line, without the routing call's set-up (a SQL function planned on every call,
    -- the coverage test again, a settings read per candidate: more than the KNN search itself,
    -- ~1.5 ms of a dense request under load). The same answer as the general query below with
    -- every time NULL.
    IF roads.covers(pickup::geometry) THEN
        times := dispatch.road_times(pickup, places);
    END IF;
    IF times IS NULL THEN
        speed := dispatch.setting_numeric('straight_line_speed_kmh')::double precision / 3.6;
        RETURN QUERY
        SELECT u.id, u.d, round(u.d / speed)::integer, 'straight_line'::text, u.d / speed
        FROM unnest(ids, distances) AS u(id, d)
        ORDER BY u.d, u.id
        LIMIT max_results;
        RETURN;
    END IF;
    -- Those the roads reach first, by road time; then any the roads could not route, by the
    -- straight line (they are not dropped: an assistant off the graph may still be the answer).
    RETURN QUERY
    SELECT u.id, u.d,
           round(coalesce(times[u.i], dispatch.straight_line_eta_s(u.d)))::integer,
           CASE WHEN times[u.i] IS NULL THEN 'straight_line' ELSE 'road' END,
           coalesce(times[u.i], dispatch.straight_line_eta_s(u.d))
    FROM unnest(ids, distances) WITH ORDINALITY AS u(id, d, i)
    ORDER BY times[u.i] IS NULL, coalesce(times[u.i], u.d), u.d, u.id
    LIMIT max_results;
END;
$$;

--
-- Name: FUNCTION rank_by_eta(pickup public.geography, ids bigint[], places public.geography[], distances double precision[], max_results integer); Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON FUNCTION dispatch.rank_by_eta(pickup public.geography, ids bigint[], places public.geography[], distances double precision[], max_results integer) IS 'The first max_results of candidates (ids at places, distances metres from the pickup) by travel time to the pickup: road time where a graph covers it, else straight-line. eta_s is rounded seconds, rank_s the unrounded key.';

--
-- Name: rate_assistance(bigint, bigint, integer, text); Type: FUNCTION; Schema: dispatch; Owner: -
--

CREATE FUNCTION dispatch.rate_assistance(assistance_id bigint, client_id bigint, rating integer, comment text DEFAULT ''::text) RETURNS jsonb
    LANGUAGE plpgsql
    AS $$
#variable_conflict use_column
DECLARE
    req dispatch.assistance_requests;
BEGIN
    SELECT * INTO req FROM dispatch.assistance_requests r
    WHERE r.id = rate_assistance.assistance_id FOR UPDATE;
    IF NOT FOUND OR req.client_id <> rate_assistance.client_id THEN
        RAISE EXCEPTION 'Assistance request not found.' USING ERRCODE = 'DP001';
    END IF;
    IF req.status <> 'completed' THEN
        RAISE EXCEPTION 'Only a completed assistance can be rated.' USING ERRCODE = 'DP010';
    END IF;
    IF EXISTS (SELECT 1 FROM dispatch.ratings x WHERE x.assistance_id = req.id) THEN
        RAISE EXCEPTION 'This assistance was already rated.' USING ERRCODE = 'DP011';
    END IF;
    IF rate_assistance.rating IS NULL OR rate_assistance.rating NOT BETWEEN 1 AND 5 THEN
        RAISE EXCEPTION 'The rating must be between 1 and 5.' USING ERRCODE = 'DP009';
    END IF;
    INSERT INTO dispatch.ratings (assistance_id, client_id, assistant_id, rating, comment)
    VALUES (req.id, req.client_id, req.assistant_id, rate_assistance.rating,
            coalesce(rate_assistance.comment, ''));
    RETURN dispatch.assistance_json(req);
END;
$$;

--
-- Name: FUNCTION rate_assistance(assistance_id bigint, client_id bigint, rating integer, comment text); Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON FUNCTION dispatch.rate_assistance(assistance_id bigint, client_id bigint, rating integer, comment text) IS 'The client rates a completed assistance once (1..5, optional comment). DP001 not the client, DP010 not completed, DP011 already rated, DP009 rating out of range.';

--
-- Name: rate_limit_hit(text, integer, integer); Type: FUNCTION; Schema: dispatch; Owner: -
--

CREATE FUNCTION dispatch.rate_limit_hit(bucket_key text, max_hits integer, window_seconds integer) RETURNS integer
    LANGUAGE sql
    AS $$
    INSERT INTO dispatch.rate_limits AS r (bucket, window_start, hits)
    VALUES (bucket_key, now(), 1)
    ON CONFLICT (bucket) DO UPDATE
       SET window_start = CASE
               WHEN r.window_start + make_interval(secs => window_seconds) <= now() THEN now()
               ELSE r.window_start END,
           hits = CASE
               WHEN r.window_start + make_interval(secs => window_seconds) <= now() THEN 1
               ELSE r.hits + 1 END
    RETURNING CASE
        WHEN hits <= max_hits THEN 0
        ELSE greatest(1, ceil(extract(epoch FROM
                 window_start + make_interval(secs => window_seconds) - now())))::integer
    END
$$;

--
-- Name: FUNCTION rate_limit_hit(bucket_key text, max_hits integer, window_seconds integer); Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON FUNCTION dispatch.rate_limit_hit(bucket_key text, max_hits integer, window_seconds integer) IS 'Count one request in a fixed-window bucket; 0 when allowed, else seconds until the window ends.';

--
-- Name: reassign_assistance(bigint, bigint, bigint, text); Type: FUNCTION; Schema: dispatch; Owner: -
--

CREATE FUNCTION dispatch.reassign_assistance(assistance_id bigint, assistant_id bigint, dispatcher_id bigint, reason text) RETURNS jsonb
    LANGUAGE plpgsql
    AS $$
#variable_conflict use_column
DECLARE
    req      dispatch.assistance_requests;
    previous bigint;
BEGIN
    PERFORM dispatch.require_dispatcher(dispatcher_id);
    IF reason IS NULL OR btrim(reason) = '' THEN
        RAISE EXCEPTION 'A reassignment needs a reason.' USING ERRCODE = 'DP009';
    END IF;
    SELECT * INTO req FROM dispatch.assistance_requests r WHERE r.id = reassign_assistance.assistance_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'Assistance request not found.' USING ERRCODE = 'DP001';
    END IF;
    IF req.assistant_id = reassign_assistance.assistant_id THEN
        RAISE EXCEPTION 'This assistant already has this job.' USING ERRCODE = 'DP047';
    END IF;
    PERFORM dispatch.lock_job_taker(reassign_assistance.assistant_id, req.service_type, true);
    SELECT * INTO req FROM dispatch.assistance_requests r
    WHERE r.id = reassign_assistance.assistance_id FOR UPDATE;
    IF req.status IN ('completed', 'canceled') THEN
        RAISE EXCEPTION 'This assistance request is already %.', req.status USING ERRCODE = 'DP006';
    END IF;
    IF req.status <> 'accepted' THEN
        RAISE EXCEPTION 'Only an accepted request can be reassigned (this one is %).', req.status
            USING ERRCODE = 'DP007';
    END IF;
    previous := req.assistant_id;
    UPDATE dispatch.assistance_requests AS r
       SET assistant_id = reassign_assistance.assistant_id, accepted_at = now(), updated_at = now()
     WHERE r.id = req.id
    RETURNING * INTO req;
    req := dispatch.set_job_eta(req);  -- etas.sql: the new assistant's

    PERFORM dispatch.emit_many(
        ARRAY['assistant:' || previous, 'assistant:' || req.assistant_id],
        ARRAY[jsonb_build_object('type', 'unassigned', 'assistance_id', req.id, 'reason', reason),
              dispatch.assigned_frame(req, reason)]);
    PERFORM dispatch.record_dispatch(req, dispatcher_id, 'accepted', reason);
    RETURN dispatch.dispatch_assistance_json(req);
END;
$$;

--
-- Name: FUNCTION reassign_assistance(assistance_id bigint, assistant_id bigint, dispatcher_id bigint, reason text); Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON FUNCTION dispatch.reassign_assistance(assistance_id bigint, assistant_id bigint, dispatcher_id bigint, reason text) IS 'A dispatcher moves an accepted job to another available assistant, with a reason: the previous one gets "unassigned", the new one "assigned", the parties and the feed a status frame. DP001 unknown, DP006 final, DP007 not accepted, DP047 same assistant, DP009 no reason, DP045/DP005/DP004 the new assistant unknown or unavailable.';

--
-- Name: record_dispatch(dispatch.assistance_requests, bigint, text, text); Type: FUNCTION; Schema: dispatch; Owner: -
--

CREATE FUNCTION dispatch.record_dispatch(request dispatch.assistance_requests, dispatcher_id bigint, from_status text, reason text) RETURNS void
    LANGUAGE plpgsql
    AS $$
DECLARE
    frame jsonb := dispatch.status_message(request);
BEGIN
    INSERT INTO dispatch.assistance_events
        (assistance_id, actor_id, actor_role, from_status, to_status, reason)
    VALUES (request.id, dispatcher_id, 'dispatcher', from_status, request.status, reason);
    -- One batch: the request's channel, its assistant's (none: left out) and the feed.
    PERFORM dispatch.emit_many(
        ARRAY['assistance:' || request.id, 'assistant:' || request.assistant_id, 'dispatch'],
        ARRAY[frame, frame, dispatch.feed_status_frame(request, from_status, frame)]);
END;
$$;

--
-- Name: FUNCTION record_dispatch(request dispatch.assistance_requests, dispatcher_id bigint, from_status text, reason text); Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON FUNCTION dispatch.record_dispatch(request dispatch.assistance_requests, dispatcher_id bigint, from_status text, reason text) IS 'Internal: write a dispatcher''s transition (with its reason) to dispatch.assistance_events and emit the status frame to the request''s channel, its assistant''s channel and topic dispatch.';

--
-- Name: record_transition(dispatch.assistance_requests, bigint, text, text[], jsonb[]); Type: FUNCTION; Schema: dispatch; Owner: -
--

CREATE FUNCTION dispatch.record_transition(request dispatch.assistance_requests, actor_id bigint, from_status text, and_topics text[] DEFAULT NULL::text[], and_frames jsonb[] DEFAULT NULL::jsonb[]) RETURNS void
    LANGUAGE plpgsql
    AS $$
DECLARE
    status jsonb := dispatch.status_message(request);
BEGIN
    INSERT INTO dispatch.assistance_events (assistance_id, actor_id, actor_role, from_status, to_status)
    SELECT request.id, u.id, u.role, record_transition.from_status, request.status
    FROM dispatch.users u WHERE u.id = record_transition.actor_id;
    -- One batch: the request's channel, the dispatchers' feed (ops_feed.sql) and the caller's.
    PERFORM dispatch.emit_many(
        ARRAY['assistance:' || request.id, 'dispatch'] || and_topics,
        ARRAY[status, dispatch.feed_status_frame(request, from_status, status)] || and_frames);
END;
$$;

--
-- Name: FUNCTION record_transition(request dispatch.assistance_requests, actor_id bigint, from_status text, and_topics text[], and_frames jsonb[]); Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON FUNCTION dispatch.record_transition(request dispatch.assistance_requests, actor_id bigint, from_status text, and_topics text[], and_frames jsonb[]) IS 'Internal: write the transition to dispatch.assistance_events and emit the status frame to topic assistance:<id> (and request_created/status to topic dispatch), followed in the same batch by and_frames to and_topics (NULL: none).';

--
-- Name: refresh_cell_supply(); Type: FUNCTION; Schema: dispatch; Owner: -
--

CREATE FUNCTION dispatch.refresh_cell_supply() RETURNS void
    LANGUAGE plpgsql
    AS $$
BEGIN
    -- A repair, not a routine: triggers keep dispatch.cell_supply exact. Needed only after writes
    -- that bypass them (TRUNCATE, triggers disabled for a bulk load). The table lock holds off the
    -- triggers' increments while the count is rebuilt.
    LOCK TABLE dispatch.cell_supply IN EXCLUSIVE MODE;
    DELETE FROM dispatch.cell_supply;
    INSERT INTO dispatch.cell_supply (h3_r7, idle_assistants)
    SELECT p.h3_r7, count(*) FROM dispatch.positions p WHERE p.matchable GROUP BY p.h3_r7;
END;
$$;

--
-- Name: FUNCTION refresh_cell_supply(); Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON FUNCTION dispatch.refresh_cell_supply() IS 'Re-count matchable assistants per H3 r7 cell into dispatch.cell_supply from scratch (after bulk writes that bypassed its triggers, e.g. TRUNCATE).';

--
-- Name: refresh_etas(integer); Type: FUNCTION; Schema: dispatch; Owner: -
--

CREATE FUNCTION dispatch.refresh_etas(max_jobs integer DEFAULT 100) RETURNS integer
    LANGUAGE plpgsql
    AS $$
DECLARE
    req     dispatch.assistance_requests;
    before  integer;
    changed integer := 0;
BEGIN
    -- Accepted jobs whose ETA is older than eta_refresh_s and whose assistant moved since.
    -- SKIP LOCKED: every server process runs this; each job is refreshed by one of them, and a
    -- job being started or canceled right now waits for the next pass.
    FOR req IN
        SELECT r.* FROM dispatch.assistance_requests r
        JOIN dispatch.positions p ON p.user_id = r.assistant_id
        WHERE r.status = 'accepted'
          AND (r.eta_at IS NULL
               OR (r.eta_at < now() - make_interval(secs => dispatch.setting_numeric('eta_refresh_s'))
                   AND p.updated_at > r.eta_at))
        ORDER BY r.eta_at NULLS FIRST
        LIMIT max_jobs
        FOR UPDATE OF r SKIP LOCKED
    LOOP
        before := req.eta_s;
        req := dispatch.set_job_eta(req);
        IF req.eta_s IS DISTINCT FROM before THEN
            PERFORM dispatch.emit_many(ARRAY['assistance:' || req.id, 'dispatch'],
                                       ARRAY[dispatch.eta_frame(req),
                                             dispatch.eta_frame(req) || jsonb_build_object(
                                                 'pickup', dispatch.point_json(req.pickup))]);
            changed := changed + 1;
        END IF;
    END LOOP;
    RETURN changed;
END;
$$;

--
-- Name: FUNCTION refresh_etas(max_jobs integer); Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON FUNCTION dispatch.refresh_etas(max_jobs integer) IS 'Recompute the ETA of up to max_jobs accepted jobs whose assistant moved since it was last computed (at most every eta_refresh_s); a changed ETA is announced as an eta frame to assistance:<id> and (with the pickup, for the feed''s area filter) to dispatch. Returns how many changed. Safe to run in every process.';

--
-- Name: refresh_matchable(bigint[]); Type: FUNCTION; Schema: dispatch; Owner: -
--

CREATE FUNCTION dispatch.refresh_matchable(user_ids bigint[]) RETURNS void
    LANGUAGE plpgsql
    AS $$
BEGIN
    IF cardinality(user_ids) = 0 THEN
        RETURN;
    END IF;
    -- Serialise every refresh of an assistant on its assistants row, then decide in a new
    -- statement (a fresh snapshot): two concurrent changes (going active while a job ends, say)
    -- cannot both decide from a state the other has already changed.
    PERFORM 1 FROM dispatch.assistants a WHERE a.user_id = ANY (user_ids)
    ORDER BY a.user_id FOR NO KEY UPDATE;
    UPDATE dispatch.positions p
       SET matchable = m.ok
      FROM (
          SELECT q.user_id,
                 coalesce((SELECT a.is_active AND NOT u.is_disabled
                                  AND NOT EXISTS (
                                      SELECT 1 FROM dispatch.assistance_requests r
                                       WHERE r.assistant_id = a.user_id
                                         AND r.status IN ('accepted', 'ongoing'))
                             FROM dispatch.assistants a
                             JOIN dispatch.users u ON u.id = a.user_id
                            WHERE a.user_id = q.user_id), false) AS ok
          FROM dispatch.positions q
          WHERE q.user_id = ANY (refresh_matchable.user_ids)
      ) m
     WHERE p.user_id = m.user_id AND p.matchable IS DISTINCT FROM m.ok;
END;
$$;

--
-- Name: FUNCTION refresh_matchable(user_ids bigint[]); Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON FUNCTION dispatch.refresh_matchable(user_ids bigint[]) IS 'Recompute dispatch.positions.matchable for these users (called by triggers; safe to call by hand after bulk changes made with triggers disabled).';

--
-- Name: remove_cost_line(bigint, bigint, bigint); Type: FUNCTION; Schema: dispatch; Owner: -
--

CREATE FUNCTION dispatch.remove_cost_line(assistance_id bigint, assistant_id bigint, line_id bigint) RETURNS void
    LANGUAGE plpgsql
    AS $$
DECLARE
    req dispatch.assistance_requests;
BEGIN
    SELECT * INTO req FROM dispatch.assistance_requests r
    WHERE r.id = remove_cost_line.assistance_id FOR UPDATE;
    IF NOT FOUND OR req.assistant_id IS DISTINCT FROM remove_cost_line.assistant_id THEN
        RAISE EXCEPTION 'Assistance request not found.' USING ERRCODE = 'DP001';
    END IF;
    IF req.status <> 'ongoing' THEN
        RAISE EXCEPTION 'Cost lines can only be removed while the job is ongoing (it is %).',
            req.status USING ERRCODE = 'DP024';
    END IF;
    DELETE FROM dispatch.cost_lines c
     WHERE c.id = remove_cost_line.line_id AND c.assistance_id = req.id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'Cost line not found.' USING ERRCODE = 'DP028';
    END IF;
END;
$$;

--
-- Name: FUNCTION remove_cost_line(assistance_id bigint, assistant_id bigint, line_id bigint); Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON FUNCTION dispatch.remove_cost_line(assistance_id bigint, assistant_id bigint, line_id bigint) IS 'The assigned assistant removes one of an ongoing job''s cost lines (a mistake, or a line that keeps the invoice from fitting). DP001 not its assistant, DP024 not ongoing, DP028 no such line on this job.';

--
-- Name: replay_events(text, bigint, integer); Type: FUNCTION; Schema: dispatch; Owner: -
--

CREATE FUNCTION dispatch.replay_events(topic text, since bigint, max_rows integer) RETURNS TABLE(seq bigint, skip_user bigint, message text)
    LANGUAGE sql STABLE
    AS $$
    SELECT e.seq + f.i - 1, e.skip_user, f.message
      FROM dispatch.event_log e,
           unnest(e.topics, e.messages) WITH ORDINALITY AS f(topic, message, i)
     -- The topic's batches (GIN event_log_topics_idx) from the one holding since + 1 on (its
     -- first seq is at most since + 1).
     WHERE e.topics @> ARRAY[replay_events.topic] AND e.seq IS NOT NULL
       AND e.seq >= coalesce((SELECT max(b.seq) FROM dispatch.event_log b
                               WHERE b.seq <= replay_events.since + 1), 0)
       AND f.topic = replay_events.topic
       AND e.seq + f.i - 1 > replay_events.since
     ORDER BY e.seq, f.i
     LIMIT max_rows
$$;

--
-- Name: FUNCTION replay_events(topic text, since bigint, max_rows integer); Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON FUNCTION dispatch.replay_events(topic text, since bigint, max_rows integer) IS 'The published events of one topic after since, in seq order, as (seq, skip_user, message JSON text without its seq), for ?since= on WebSockets.';

--
-- Name: request_assistance(bigint, double precision, double precision, bigint, double precision, double precision, text, text, text, bigint[], text, text, bigint); Type: FUNCTION; Schema: dispatch; Owner: -
--

CREATE FUNCTION dispatch.request_assistance(client_id bigint, pickup_lat double precision, pickup_lng double precision, pickup_cell_r7 bigint, dropoff_lat double precision DEFAULT NULL::double precision, dropoff_lng double precision DEFAULT NULL::double precision, service_type text DEFAULT 'towing'::text, vehicle_type text DEFAULT 'light'::text, description text DEFAULT ''::text, neighbour_cells_r7 bigint[] DEFAULT NULL::bigint[], idempotency_key text DEFAULT NULL::text, idempotency_fingerprint text DEFAULT NULL::text, pickup_cell_r8 bigint DEFAULT NULL::bigint) RETURNS jsonb
    LANGUAGE plpgsql
    SET plan_cache_mode TO 'force_generic_plan'
    AS $$
#variable_conflict use_column
DECLARE
    caller_role text;
    existing    dispatch.assistance_requests;
    req         dispatch.assistance_requests;
    trip        record;
    quote       jsonb;
    matched     jsonb;
    candidates  jsonb;
    radius      double precision;
    pickup      geography := ST_SetSRID(ST_MakePoint(pickup_lng, pickup_lat), 4326)::geography;
    dropoff     geography;
    sent        integer;
    offers      record;
    by_batch    boolean;
BEGIN
    -- Serialises one client's concurrent requests (a retry racing its original, say).
    SELECT u.role INTO caller_role FROM dispatch.users u
    WHERE u.id = request_assistance.client_id FOR NO KEY UPDATE;
    IF caller_role IS DISTINCT FROM 'client' THEN
        RAISE EXCEPTION 'Only clients can request assistance.' USING ERRCODE = 'DP008';
    END IF;

    IF request_assistance.idempotency_key IS NOT NULL THEN
        SELECT * INTO existing FROM dispatch.assistance_requests r
        WHERE r.client_id = request_assistance.client_id
          AND r.idempotency_key = request_assistance.idempotency_key;
        IF FOUND THEN
            IF existing.idempotency_fingerprint IS DISTINCT FROM request_assistance.idempotency_fingerprint
            THEN
                RAISE EXCEPTION 'This Idempotency-Key was already used for a different request.'
                    USING ERRCODE = 'DP012';
            END IF;
            RETURN jsonb_build_object('assistance', dispatch.assistance_json(existing),
                                      'nearby_assistants', existing.matched_assistants,
                                      'replayed', true);
        END IF;
    END IF;

    SELECT * INTO existing FROM dispatch.assistance_requests r
    WHERE r.client_id = request_assistance.client_id
      AND r.status IN ('requested', 'accepted', 'ongoing');
    IF FOUND THEN
        RAISE EXCEPTION 'You already have an open assistance request.'
            USING ERRCODE = 'DP002', DETAIL = jsonb_build_object('assistance_id', existing.id)::text;
    END IF;

    IF (dropoff_lat IS NULL) <> (dropoff_lng IS NULL) THEN
        RAISE EXCEPTION 'A dropoff needs both lat and lng.' USING ERRCODE = 'DP009';
    END IF;
    IF dropoff_lat IS NOT NULL THEN
        dropoff := ST_SetSRID(ST_MakePoint(dropoff_lng, dropoff_lat), 4326)::geography;
    END IF;
    -- By road where graphs cover both ends (etas.sql); the quote says which.
    trip := dispatch.trip_distance(pickup, dropoff);
    quote := dispatch.quote_price(request_assistance.service_type, request_assistance.vehicle_type,
                                  trip.km, request_assistance.pickup_cell_r7,
                                  request_assistance.neighbour_cells_r7, pickup)
             || jsonb_build_object('distance_source', trip.source);

    -- Round 1 (sql/functions/offers.sql): the N soonest eligible assistants within the first
    -- round's radius; the response's nearby_assistants are exactly the offers sent.
    -- Under offer_policy assignment (assignment.sql) there is no round 1: the request waits for
    -- the next batch, which offers it to one assistant.
    by_batch := dispatch.offer_policy() = 'assignment';
    radius := CASE WHEN NOT by_batch THEN dispatch.offer_round_radius_m(1) END;
    candidates := CASE WHEN by_batch THEN '[]'::jsonb
                       ELSE dispatch.candidates_json(NULL, pickup, request_assistance.service_type,
                                                     radius) END;
    SELECT coalesce(jsonb_agg(c - 'distance_m' ORDER BY i), '[]') INTO matched
    FROM jsonb_array_elements(candidates) WITH ORDINALITY AS e(c, i);

    INSERT INTO dispatch.assistance_requests AS r
        (client_id, service_type, vehicle_type, description, pickup, dropoff, pickup_h3_r7,
         distance_km, price, total_price, currency, matched_assistants, idempotency_key,
         idempotency_fingerprint, searching, offer_round, round_ends_at, round_radius_m,
         arrivals_checked_at, pickup_h3_r8, distance_source, assigning, queued_at)
    VALUES
        (request_assistance.client_id, request_assistance.service_type,
         request_assistance.vehicle_type, coalesce(request_assistance.description, ''),
         pickup, dropoff, request_assistance.pickup_cell_r7, trip.km, quote,
         (quote ->> 'total')::numeric, quote ->> 'currency', matched,
         request_assistance.idempotency_key, request_assistance.idempotency_fingerprint,
         true, CASE WHEN by_batch THEN 0 ELSE 1 END,
         CASE WHEN NOT by_batch THEN dispatch.offer_round_ends_at() END, radius,
         CASE WHEN NOT by_batch THEN now() END,
         request_assistance.pickup_cell_r8, trip.source, by_batch,
         CASE WHEN by_batch THEN now() END)
    RETURNING * INTO req;

    -- One batch: the request's status and feed frames, then its offers (dispatch.offer_batch).
    sent := dispatch.insert_offers(req, candidates);
    offers := dispatch.offer_batch(req, candidates);
    PERFORM dispatch.record_transition(req, request_assistance.client_id, NULL,
                                       offers.topics, offers.frames);
    IF NOT by_batch THEN
        INSERT INTO dispatch.offer_rounds (assistance_id, round, ends_at, radius_m, offered)
        VALUES (req.id, 1, req.round_ends_at, radius, sent);
    END IF;

    RETURN jsonb_build_object('assistance', dispatch.assistance_json(req),
                              'nearby_assistants', matched,
                              'replayed', false);
END;
$$;

--
-- Name: FUNCTION request_assistance(client_id bigint, pickup_lat double precision, pickup_lng double precision, pickup_cell_r7 bigint, dropoff_lat double precision, dropoff_lng double precision, service_type text, vehicle_type text, description text, neighbour_cells_r7 bigint[], idempotency_key text, idempotency_fingerprint text, pickup_cell_r8 bigint); Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON FUNCTION dispatch.request_assistance(client_id bigint, pickup_lat double precision, pickup_lng double precision, pickup_cell_r7 bigint, dropoff_lat double precision, dropoff_lng double precision, service_type text, vehicle_type text, description text, neighbour_cells_r7 bigint[], idempotency_key text, idempotency_fingerprint text, pickup_cell_r8 bigint) IS 'A client asks for help: prices the job (dispatch.quote_price with the pickup cell and its neighbours), stores the request and starts offer round 1: the N nearest eligible assistants (dispatch.offer_candidates) get an offer and new_assistance_request on topic assistant:<id> (under offer_policy assignment: no round 1, the request waits for the next assignment batch and nearby_assistants is empty). Returns {assistance, nearby_assistants, replayed}. With an idempotency_key already used by this client it returns that request instead (DP012 if the fingerprint differs). DP002 when an open request exists.';

--
-- Name: request_batches(bigint); Type: FUNCTION; Schema: dispatch; Owner: -
--

CREATE FUNCTION dispatch.request_batches(assistance_id bigint) RETURNS jsonb
    LANGUAGE sql STABLE
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

--
-- Name: FUNCTION request_batches(assistance_id bigint); Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON FUNCTION dispatch.request_batches(assistance_id bigint) IS 'Why a request went to whom: each assignment batch that considered it, oldest first, as [{batch_id, at, outcome (offered | unmatched | no_candidate | fell_back), assistant_id, cost_s, eta_source, candidates, nearest_id, nearest_cost_s, batch_requests, batch_matched, alternatives: [{assistant_id, cost_s, eta_source, went_to}]}] (went_to: the request of the batch that assistant was offered instead).';

--
-- Name: requests_stop_search(); Type: FUNCTION; Schema: dispatch; Owner: -
--

CREATE FUNCTION dispatch.requests_stop_search() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    NEW.searching := false;
    NEW.round_ends_at := NULL;
    NEW.assigning := false;
    NEW.queued_at := NULL;
    RETURN NEW;
END;
$$;

--
-- Name: FUNCTION requests_stop_search(); Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON FUNCTION dispatch.requests_stop_search() IS 'Trigger: a request leaving requested stops searching (rounds and assignment batches).';

--
-- Name: requests_withdraw_offers(); Type: FUNCTION; Schema: dispatch; Owner: -
--

CREATE FUNCTION dispatch.requests_withdraw_offers() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    PERFORM dispatch.close_open_offers(
        NEW.id, NEW.assistant_id,
        CASE WHEN NEW.status = 'canceled' THEN 'canceled' ELSE 'accepted' END);
    RETURN NULL;
END;
$$;

--
-- Name: FUNCTION requests_withdraw_offers(); Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON FUNCTION dispatch.requests_withdraw_offers() IS 'Trigger: a request leaving requested withdraws its open offers (see dispatch.close_open_offers).';

--
-- Name: require_dispatcher(bigint); Type: FUNCTION; Schema: dispatch; Owner: -
--

CREATE FUNCTION dispatch.require_dispatcher(user_id bigint) RETURNS void
    LANGUAGE plpgsql STABLE
    AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM dispatch.users u
                   WHERE u.id = require_dispatcher.user_id AND u.role = 'dispatcher'
                     AND NOT u.is_disabled) THEN
        RAISE EXCEPTION 'Only dispatchers can do this.' USING ERRCODE = 'DP046';
    END IF;
END;
$$;

--
-- Name: FUNCTION require_dispatcher(user_id bigint); Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON FUNCTION dispatch.require_dispatcher(user_id bigint) IS 'Raise DP046 unless the user is an enabled dispatcher.';

--
-- Name: road_times(public.geography, public.geography[]); Type: FUNCTION; Schema: dispatch; Owner: -
--

CREATE FUNCTION dispatch.road_times(pickup public.geography, places public.geography[]) RETURNS double precision[]
    LANGUAGE sql
    AS $$
    SELECT array_agg(t.seconds ORDER BY t.place)
    FROM dispatch.road_times_matrix(ARRAY[pickup], places) t
$$;

--
-- Name: FUNCTION road_times(pickup public.geography, places public.geography[]); Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON FUNCTION dispatch.road_times(pickup public.geography, places public.geography[]) IS 'Road travel times in seconds from each place to the pickup (dispatch.road_times_matrix with one pickup), NULL where a place cannot be routed; NULL altogether when no graph covers the pickup, the call is over its work budget, routing fails, or road ranking is paused on this session.';

--
-- Name: road_times_matrix(public.geography[], public.geography[]); Type: FUNCTION; Schema: dispatch; Owner: -
--

CREATE FUNCTION dispatch.road_times_matrix(pickups public.geography[], places public.geography[]) RETURNS TABLE(pickup integer, place integer, seconds double precision)
    LANGUAGE plpgsql
    AS $$
DECLARE
    ps      integer[];
    os      integer[];
    times   double precision[];
    started timestamptz;
    paused  text := current_setting('dispatch.roads_paused_until', true);
BEGIN
    IF coalesce(cardinality(places), 0) = 0
       OR NOT EXISTS (SELECT 1 FROM unnest(pickups) p WHERE roads.covers(p::geometry)) THEN
        RETURN;
    END IF;
    -- Paused on this session: a recent routing call was over its time budget.
    IF coalesce(paused, '') <> '' AND paused::timestamptz > clock_timestamp() THEN
        RETURN;
    END IF;
    started := clock_timestamp();
    -- A failing graph (dropped mid-run, pgRouting missing, a bad edge) must not fail the caller:
    -- it ranks by the straight line instead, and says so (eta_source).
    BEGIN
        SELECT array_agg(m.dest), array_agg(m.ord), array_agg(m.seconds)
          INTO ps, os, times
          FROM roads.times_matrix(ARRAY(SELECT p::geometry FROM unnest(pickups) p),
                                  ARRAY(SELECT p::geometry FROM unnest(places) p)) m;
    EXCEPTION WHEN OTHERS THEN
        RAISE WARNING 'road ranking failed, ranking by the straight line: %', SQLERRM;
        RETURN;
    END;
    -- The work budget (roads_max_edges) bounds a call before it runs; this catches what it
    -- cannot (a loaded server, a pathological box): the answer stands, and the session ranks by
    -- the straight line for roads_pause_s. A call for several pickups has a budget for each.
    IF clock_timestamp() - started
       > make_interval(secs => dispatch.setting_numeric('roads_time_budget_ms')
                               * cardinality(pickups) / 1000.0) THEN
        PERFORM set_config('dispatch.roads_paused_until',
                           (clock_timestamp() + make_interval(
                                secs => dispatch.setting_numeric('roads_pause_s')))::text,
                           false);
        RAISE WARNING 'road ranking took % (over roads_time_budget_ms): straight line on this '
                      'session for roads_pause_s', clock_timestamp() - started;
    END IF;
    RETURN QUERY SELECT * FROM unnest(ps, os, times);
END;
$$;

--
-- Name: FUNCTION road_times_matrix(pickups public.geography[], places public.geography[]); Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON FUNCTION dispatch.road_times_matrix(pickups public.geography[], places public.geography[]) IS 'Road travel times in seconds from each place to each pickup (roads.times_matrix: one routing call), seconds NULL where a place cannot be routed, no rows for a pickup no graph covers; no rows at all when the call is over its work budget, routing fails, or road ranking is paused on this session (a call over roads_time_budget_ms per pickup pauses it for roads_pause_s).';

--
-- Name: rotate_refresh_token(bytea, bytea, timestamp with time zone); Type: FUNCTION; Schema: dispatch; Owner: -
--

CREATE FUNCTION dispatch.rotate_refresh_token(old_hash bytea, new_hash bytea, new_expires_at timestamp with time zone) RETURNS text
    LANGUAGE plpgsql
    AS $$
DECLARE
    t dispatch.refresh_tokens%ROWTYPE;
    disabled boolean;
BEGIN
    SELECT * INTO t FROM dispatch.refresh_tokens WHERE token_hash = old_hash FOR UPDATE;
    IF NOT FOUND THEN
        RETURN 'unknown';
    END IF;
    IF t.used_at IS NOT NULL OR t.revoked_at IS NOT NULL THEN
        -- A token shown twice was stolen or replayed: end the whole session.
        UPDATE dispatch.refresh_tokens SET revoked_at = now()
         WHERE family_id = t.family_id AND revoked_at IS NULL;
        RETURN CASE WHEN t.revoked_at IS NOT NULL THEN 'revoked' ELSE 'reused' END;
    END IF;
    IF t.expires_at <= now() THEN
        RETURN 'expired';
    END IF;
    SELECT u.is_disabled INTO disabled FROM dispatch.users u WHERE u.id = t.user_id;
    IF disabled THEN
        UPDATE dispatch.refresh_tokens SET revoked_at = now()
         WHERE family_id = t.family_id AND revoked_at IS NULL;
        RETURN 'disabled';
    END IF;
    UPDATE dispatch.refresh_tokens SET used_at = now() WHERE id = t.id;
    INSERT INTO dispatch.refresh_tokens (user_id, family_id, token_hash, expires_at)
    VALUES (t.user_id, t.family_id, new_hash, new_expires_at);
    RETURN 'ok';
END;
$$;

--
-- Name: FUNCTION rotate_refresh_token(old_hash bytea, new_hash bytea, new_expires_at timestamp with time zone); Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON FUNCTION dispatch.rotate_refresh_token(old_hash bytea, new_hash bytea, new_expires_at timestamp with time zone) IS 'Exchange a live refresh token for its successor (ok); a used or revoked one revokes its family (reused, revoked); also expired, disabled or unknown.';

--
-- Name: sample_supply(double precision); Type: FUNCTION; Schema: dispatch; Owner: -
--

CREATE FUNCTION dispatch.sample_supply(min_interval_s double precision DEFAULT 50) RETURNS boolean
    LANGUAGE plpgsql
    SET max_parallel_workers_per_gather TO '0'
    AS $$
DECLARE
    hour_start timestamptz := date_trunc('hour', now());
    keep       numeric := coalesce(dispatch.setting_numeric('supply_history_days'), 35);
BEGIN
    IF NOT pg_try_advisory_xact_lock(hashtext('dispatch.sample_supply')) THEN
        RETURN false;
    END IF;
    IF EXISTS (SELECT 1 FROM dispatch.supply_samples s
                WHERE s.sampled_at > now() - make_interval(secs => min_interval_s)) THEN
        RETURN false;
    END IF;
    INSERT INTO dispatch.supply_samples AS s (hour, samples, sampled_at)
    VALUES (hour_start, 1, now())
    ON CONFLICT (hour) DO UPDATE SET samples = s.samples + 1, sampled_at = EXCLUDED.sampled_at;
    INSERT INTO dispatch.supply_history AS h (hour, h3_r7, service_type, idle_sum)
    SELECT hour_start, v.h3_r7, v.service_type, count(*)
      FROM dispatch.available_assistants v
     GROUP BY v.h3_r7, v.service_type
    ON CONFLICT (hour, h3_r7, service_type) DO UPDATE SET idle_sum = h.idle_sum + EXCLUDED.idle_sum;
    -- A small table (hours x busy cells): old hours go with a plain DELETE once an hour.
    IF NOT EXISTS (SELECT 1 FROM dispatch.supply_samples s WHERE s.hour = hour_start AND s.samples > 1)
    THEN
        DELETE FROM dispatch.supply_history h WHERE h.hour < now() - make_interval(days => keep::integer);
        DELETE FROM dispatch.supply_samples s WHERE s.hour < now() - make_interval(days => keep::integer);
    END IF;
    RETURN true;
END;
$$;

--
-- Name: FUNCTION sample_supply(min_interval_s double precision); Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON FUNCTION dispatch.sample_supply(min_interval_s double precision) IS 'Add one sample of idle assistants per H3 r7 cell and service type to the current hour of dispatch.supply_history (skipped when another session sampled less than min_interval_s ago). Every server process calls it every DISPATCH_SUPPLY_SAMPLE_S seconds.';

--
-- Name: send_offers(dispatch.assistance_requests, jsonb); Type: FUNCTION; Schema: dispatch; Owner: -
--

CREATE FUNCTION dispatch.send_offers(request dispatch.assistance_requests, candidates jsonb) RETURNS integer
    LANGUAGE plpgsql
    AS $$
DECLARE
    batch record;
BEGIN
    IF jsonb_array_length(candidates) = 0 THEN
        RETURN 0;
    END IF;
    batch := dispatch.offer_batch(request, candidates);
    PERFORM dispatch.emit_many(batch.topics, batch.frames);
    RETURN dispatch.insert_offers(request, candidates);
END;
$$;

--
-- Name: FUNCTION send_offers(request dispatch.assistance_requests, candidates jsonb); Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON FUNCTION dispatch.send_offers(request dispatch.assistance_requests, candidates jsonb) IS 'Internal: record offers of the request''s current round to candidates (dispatch.insert_offers) and emit their frames (dispatch.offer_batch) as one batch. Returns the count.';

--
-- Name: service_catalogue(public.geography, bigint, bigint[]); Type: FUNCTION; Schema: dispatch; Owner: -
--

CREATE FUNCTION dispatch.service_catalogue(pickup public.geography, pickup_cell_r7 bigint DEFAULT NULL::bigint, neighbour_cells_r7 bigint[] DEFAULT NULL::bigint[]) RETURNS jsonb
    LANGUAGE plpgsql STABLE
    AS $$
DECLARE
    surge numeric := 1.0;
    zone  record;
BEGIN
    SELECT DISTINCT x.zone_id, x.zone_name, x.serviceable INTO zone
    FROM dispatch.tariffs_at(service_catalogue.pickup) x;
    IF NOT zone.serviceable THEN
        RAISE EXCEPTION 'This place is in %, an area without service.', zone.zone_name
            USING ERRCODE = 'DP020',
                  DETAIL = jsonb_build_object('zone', jsonb_build_object(
                      'id', zone.zone_id, 'name', zone.zone_name))::text;
    END IF;
    -- The surge over the same cells as dispatch.quote_price, with the same expression.
    IF service_catalogue.pickup_cell_r7 IS NOT NULL THEN
        surge := dispatch.surge_for_cells(array_append(
            coalesce(service_catalogue.neighbour_cells_r7, '{}'), service_catalogue.pickup_cell_r7));
    END IF;
    RETURN (
        SELECT coalesce(jsonb_agg(jsonb_build_object(
                   'service_type', x.service_type,
                   'vehicle_type', x.vehicle_type,
                   'label', x.base_label,
                   'base_fare', round(x.base_fare, x.minor_units),
                   'per_km', x.per_km,
                   'currency', x.currency,
                   'final_price_on_completion', x.final_price_on_completion,
                   'zone', CASE WHEN x.zone_id IS NULL THEN NULL
                                ELSE jsonb_build_object('id', x.zone_id, 'name', x.zone_name) END,
                   'surge_multiplier', surge)
                   ORDER BY x.service_type DESC, x.vehicle_type DESC), '[]')
        FROM dispatch.tariffs_at(service_catalogue.pickup) x
    );
END;
$$;

--
-- Name: FUNCTION service_catalogue(pickup public.geography, pickup_cell_r7 bigint, neighbour_cells_r7 bigint[]); Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON FUNCTION dispatch.service_catalogue(pickup public.geography, pickup_cell_r7 bigint, neighbour_cells_r7 bigint[]) IS 'The priced catalogue at a point: [{service_type, vehicle_type, label, base_fare, per_km, currency, final_price_on_completion, zone: {id, name} | null, surge_multiplier}] from dispatch.tariffs_at and the surge over pickup_cell_r7 and neighbour_cells_r7, exactly as dispatch.quote_price prices a job there. DP020 in a zone that is not serviceable.';

--
-- Name: set_assistant_active(bigint, boolean); Type: FUNCTION; Schema: dispatch; Owner: -
--

CREATE FUNCTION dispatch.set_assistant_active(assistant_id bigint, active boolean) RETURNS boolean
    LANGUAGE plpgsql
    AS $$
DECLARE
    expiry date;
BEGIN
    SELECT a.driving_license_expiry INTO expiry
      FROM dispatch.assistants a WHERE a.user_id = assistant_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'This account has no assistant profile.' USING ERRCODE = 'DPA03';
    END IF;
    IF active THEN
        IF NOT EXISTS (SELECT 1 FROM dispatch.positions p WHERE p.user_id = assistant_id) THEN
            RAISE EXCEPTION 'Send your position (/api/profile/update-location/) before going active.'
                USING ERRCODE = 'DPA01';
        END IF;
        IF expiry <= current_date THEN
            RAISE EXCEPTION 'Your driving licence has expired; update it before going active.'
                USING ERRCODE = 'DPA02';
        END IF;
    END IF;
    UPDATE dispatch.assistants SET is_active = active, updated_at = now()
     WHERE user_id = assistant_id;
    RETURN active;
END;
$$;

--
-- Name: FUNCTION set_assistant_active(assistant_id bigint, active boolean); Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON FUNCTION dispatch.set_assistant_active(assistant_id bigint, active boolean) IS 'Switch an assistant on or off duty; going active needs a known position (DPA01) and an unexpired licence (DPA02); DPA03 when the user has no assistant profile.';

--
-- Name: set_job_eta(dispatch.assistance_requests); Type: FUNCTION; Schema: dispatch; Owner: -
--

CREATE FUNCTION dispatch.set_job_eta(request dispatch.assistance_requests) RETURNS dispatch.assistance_requests
    LANGUAGE plpgsql
    AS $$
DECLARE
    eta record;
    req dispatch.assistance_requests;
BEGIN
    IF request.status = 'accepted' THEN
        eta := dispatch.assistant_eta(request.assistant_id, request.pickup);
    END IF;
    UPDATE dispatch.assistance_requests r
       SET eta_s = eta.eta_s, eta_source = eta.eta_source,
           eta_at = CASE WHEN request.status = 'accepted' THEN now() END
     WHERE r.id = request.id
    RETURNING * INTO req;
    RETURN req;
END;
$$;

--
-- Name: FUNCTION set_job_eta(request dispatch.assistance_requests); Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON FUNCTION dispatch.set_job_eta(request dispatch.assistance_requests) IS 'Internal (request row locked): store the ETA of an accepted job''s assistant now (NULLs for any other status); returns the row.';

--
-- Name: set_zone_tariffs(bigint, jsonb); Type: FUNCTION; Schema: dispatch; Owner: -
--

CREATE FUNCTION dispatch.set_zone_tariffs(zone_id bigint, tariffs jsonb) RETURNS void
    LANGUAGE plpgsql
    AS $$
BEGIN
    IF tariffs IS NOT NULL AND jsonb_typeof(tariffs) <> 'array' THEN
        RAISE EXCEPTION 'tariffs must be a list.' USING ERRCODE = 'DP009';
    END IF;
    DELETE FROM dispatch.zone_tariffs zt WHERE zt.zone_id = set_zone_tariffs.zone_id;
    INSERT INTO dispatch.zone_tariffs (zone_id, service_type, vehicle_type, base_fare, per_km)
    SELECT set_zone_tariffs.zone_id, x.service_type, x.vehicle_type, x.base_fare, x.per_km
    FROM jsonb_to_recordset(coalesce(tariffs, '[]')) AS x(service_type text, vehicle_type text,
                                                          base_fare numeric, per_km numeric);
END;
$$;

--
-- Name: FUNCTION set_zone_tariffs(zone_id bigint, tariffs jsonb); Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON FUNCTION dispatch.set_zone_tariffs(zone_id bigint, tariffs jsonb) IS 'Internal: replace a zone''s tariff rows with the given list.';

--
-- Name: setting_numeric(text); Type: FUNCTION; Schema: dispatch; Owner: -
--

CREATE FUNCTION dispatch.setting_numeric(setting_key text) RETURNS numeric
    LANGUAGE plpgsql STABLE PARALLEL SAFE
    AS $$
BEGIN
    -- plpgsql so the plan is cached per session (a SQL function reading a table is not inlined
    -- and would be re-planned on every call).
    RETURN (SELECT (s.value #>> '{}')::numeric FROM dispatch.settings s
             WHERE s.key = setting_numeric.setting_key);
END;
$$;

--
-- Name: FUNCTION setting_numeric(setting_key text); Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON FUNCTION dispatch.setting_numeric(setting_key text) IS 'The numeric value of a row of dispatch.settings (surge_k, surge_cap, matching_radius_m, matching_max_results); NULL when the key is unknown.';

--
-- Name: shifts_from_assistants(); Type: FUNCTION; Schema: dispatch; Owner: -
--

CREATE FUNCTION dispatch.shifts_from_assistants() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM dispatch.sync_shifts(ARRAY(SELECT n.user_id FROM new_rows n WHERE n.is_active));
    ELSIF TG_OP = 'UPDATE' THEN
        PERFORM dispatch.sync_shifts(ARRAY(
            SELECT n.user_id FROM new_rows n JOIN old_rows o ON o.user_id = n.user_id
             WHERE n.is_active IS DISTINCT FROM o.is_active));
    ELSE
        PERFORM dispatch.sync_shifts(ARRAY(SELECT o.user_id FROM old_rows o));
    END IF;
    RETURN NULL;
END;
$$;

--
-- Name: FUNCTION shifts_from_assistants(); Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON FUNCTION dispatch.shifts_from_assistants() IS 'Trigger: open or close shifts of assistants inserted, deleted or whose is_active changed.';

--
-- Name: shifts_from_users(); Type: FUNCTION; Schema: dispatch; Owner: -
--

CREATE FUNCTION dispatch.shifts_from_users() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    PERFORM dispatch.sync_shifts(ARRAY(
        SELECT n.id FROM new_rows n JOIN old_rows o ON o.id = n.id
         WHERE n.role = 'assistant' AND n.is_disabled IS DISTINCT FROM o.is_disabled));
    RETURN NULL;
END;
$$;

--
-- Name: FUNCTION shifts_from_users(); Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON FUNCTION dispatch.shifts_from_users() IS 'Trigger: disabling an assistant closes its shift; enabling an active one opens one.';

--
-- Name: start_offer_round(dispatch.assistance_requests); Type: FUNCTION; Schema: dispatch; Owner: -
--

CREATE FUNCTION dispatch.start_offer_round(request dispatch.assistance_requests) RETURNS dispatch.assistance_requests
    LANGUAGE plpgsql
    AS $$
DECLARE
    req        dispatch.assistance_requests;
    radius     double precision := dispatch.offer_round_radius_m(request.offer_round + 1);
    candidates jsonb;
    sent       integer;
BEGIN
    candidates := dispatch.candidates_json(request.id, request.pickup, request.service_type, radius);
    UPDATE dispatch.assistance_requests r
       SET offer_round = r.offer_round + 1, round_ends_at = dispatch.offer_round_ends_at(),
           round_radius_m = radius, arrivals_checked_at = now(), arrivals_key = NULL,
           searching = true
     WHERE r.id = request.id
    RETURNING * INTO req;
    sent := dispatch.send_offers(req, candidates);
    INSERT INTO dispatch.offer_rounds (assistance_id, round, ends_at, radius_m, offered)
    VALUES (req.id, req.offer_round, req.round_ends_at, radius, sent);
    RETURN req;
END;
$$;

--
-- Name: FUNCTION start_offer_round(request dispatch.assistance_requests); Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON FUNCTION dispatch.start_offer_round(request dispatch.assistance_requests) IS 'Internal (request row locked): start the next round, offering it to the next nearest eligible assistants never offered this request, within that round''s radius.';

--
-- Name: status_message(dispatch.assistance_requests); Type: FUNCTION; Schema: dispatch; Owner: -
--

CREATE FUNCTION dispatch.status_message(request dispatch.assistance_requests) RETURNS jsonb
    LANGUAGE plpgsql STABLE
    AS $$
BEGIN
    -- plpgsql so the plan is cached per session (a non-inlined SQL function is re-planned
    -- on every call).
    RETURN (
    SELECT jsonb_build_object(
            'type', 'status',
            'assistance_id', request.id,
            'status', request.status,
            -- Position only while accepted or ongoing (as in assistance_json).
            'assistant', (SELECT jsonb_build_object('id', s.id, 'name', s.name,
                                                    'phone_number', s.phone_number,
                                                    'lat', ST_Y(p.geog::geometry),
                                                    'lng', ST_X(p.geog::geometry))
                            FROM dispatch.users s
                            LEFT JOIN dispatch.positions p
                                   ON p.user_id = s.id AND request.status IN ('accepted', 'ongoing')
                            WHERE s.id = request.assistant_id),
            'client', (SELECT jsonb_build_object('id', c.id, 'name', c.name)
                         FROM dispatch.users c WHERE c.id = request.client_id),
            'eta_s', CASE WHEN request.status = 'accepted' THEN request.eta_s END,
            'eta_source', CASE WHEN request.status = 'accepted' THEN request.eta_source END
        )
    );
END;
$$;

--
-- Name: FUNCTION status_message(request dispatch.assistance_requests); Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON FUNCTION dispatch.status_message(request dispatch.assistance_requests) IS 'The WebSocket "status" frame for a request: {type, assistance_id, status, assistant|null, client, eta_s, eta_source} (the ETA while accepted, else null).';

--
-- Name: store_telematics(bigint, double precision[], double precision[], bigint[], timestamp with time zone[], real[], real[]); Type: FUNCTION; Schema: dispatch; Owner: -
--

CREATE FUNCTION dispatch.store_telematics(user_id bigint, lats double precision[], lngs double precision[], cells_r9 bigint[], recorded timestamp with time zone[], speeds real[], headings real[]) RETURNS integer
    LANGUAGE plpgsql
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

--
-- Name: FUNCTION store_telematics(user_id bigint, lats double precision[], lngs double precision[], cells_r9 bigint[], recorded timestamp with time zone[], speeds real[], headings real[]); Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON FUNCTION dispatch.store_telematics(user_id bigint, lats double precision[], lngs double precision[], cells_r9 bigint[], recorded timestamp with time zone[], speeds real[], headings real[]) IS 'Internal (POST /api/telematics/): append a batch''s points to the position history in one statement, one row per user and recorded_at (the batch''s last point of an instant wins; an instant already stored is kept: a retried batch adds nothing). The caller then sends the newest point through the position path. DP034 names points older than the retention.';

--
-- Name: straight_line_eta_s(double precision); Type: FUNCTION; Schema: dispatch; Owner: -
--

CREATE FUNCTION dispatch.straight_line_eta_s(distance_m double precision) RETURNS double precision
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
    SELECT distance_m / (dispatch.setting_numeric('straight_line_speed_kmh')::double precision / 3.6)
$$;

--
-- Name: FUNCTION straight_line_eta_s(distance_m double precision); Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON FUNCTION dispatch.straight_line_eta_s(distance_m double precision) IS 'A straight-line ETA: metres over straight_line_speed_kmh, in seconds (unrounded).';

--
-- Name: surge_for_cells(bigint[]); Type: FUNCTION; Schema: dispatch; Owner: -
--

CREATE FUNCTION dispatch.surge_for_cells(cells_r7 bigint[]) RETURNS numeric
    LANGUAGE plpgsql STABLE PARALLEL SAFE
    SET enable_seqscan TO 'off'
    SET enable_bitmapscan TO 'off'
    AS $$
DECLARE
    supply bigint;
    demand bigint;
BEGIN
    -- plpgsql, not sql: a scalar SQL function with subqueries is never inlined and was re-planned
    -- on every call. Supply: seven rows of the trigger-kept dispatch.cell_supply, whatever the
    -- number of assistants around. Demand: an index count of the requests still waiting there.
    SELECT coalesce(sum(c.idle_assistants), 0) INTO supply FROM dispatch.cell_supply c
     WHERE c.h3_r7 = ANY (surge_for_cells.cells_r7);
    SELECT count(*) INTO demand FROM dispatch.assistance_requests r
     WHERE r.status = 'requested' AND r.pickup_h3_r7 = ANY (surge_for_cells.cells_r7);
    -- Plain variables as arguments: dispatch.surge_multiplier is inlined (with the subqueries as
    -- its arguments it was not, and was planned again on every call).
    RETURN dispatch.surge_multiplier(supply, demand);
END;
$$;

--
-- Name: FUNCTION surge_for_cells(cells_r7 bigint[]); Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON FUNCTION dispatch.surge_for_cells(cells_r7 bigint[]) IS 'The surge multiplier over a set of H3 resolution-7 cells taken together (supply and demand summed), e.g. a pickup cell and its neighbours; 1.0 for an empty or NULL set. Supply is read from dispatch.cell_supply (kept by triggers), demand (requests still waiting) is counted.';

--
-- Name: surge_multiplier(bigint, bigint, numeric, numeric); Type: FUNCTION; Schema: dispatch; Owner: -
--

CREATE FUNCTION dispatch.surge_multiplier(supply bigint, demand bigint, k numeric DEFAULT NULL::numeric, cap numeric DEFAULT NULL::numeric) RETURNS numeric
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
    SELECT round(greatest(1.0, least(
        coalesce(surge_multiplier.cap, dispatch.setting_numeric('surge_cap'), 1.0),
        CASE
            WHEN coalesce(surge_multiplier.demand, 0) <= 0 THEN 1.0
            -- Demand with no idle assistant at all: as scarce as it gets.
            WHEN coalesce(surge_multiplier.supply, 0) <= 0 THEN 'Infinity'::numeric
            ELSE 1.0 + coalesce(surge_multiplier.k, dispatch.setting_numeric('surge_k'), 0)
                     * greatest(0, surge_multiplier.demand::numeric / surge_multiplier.supply - 1)
        END
    )), 2)
$$;

--
-- Name: FUNCTION surge_multiplier(supply bigint, demand bigint, k numeric, cap numeric); Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON FUNCTION dispatch.surge_multiplier(supply bigint, demand bigint, k numeric, cap numeric) IS 'Surge = 1 + k * max(0, demand / supply - 1), capped at cap (demand without supply: the cap), rounded to 2 decimals. NULL k / cap take the settings surge_k / surge_cap.';

--
-- Name: sync_shifts(bigint[]); Type: FUNCTION; Schema: dispatch; Owner: -
--

CREATE FUNCTION dispatch.sync_shifts(user_ids bigint[]) RETURNS void
    LANGUAGE plpgsql
    AS $$
BEGIN
    IF cardinality(user_ids) = 0 THEN
        RETURN;
    END IF;
    -- Serialise on the assistants rows (as refresh_matchable does), then decide in new
    -- statements: a toggle racing a disable cannot both decide from a stale state.
    PERFORM 1 FROM dispatch.assistants a WHERE a.user_id = ANY (user_ids)
      ORDER BY a.user_id FOR NO KEY UPDATE;
    UPDATE dispatch.shifts s
       SET ended_at = greatest(now(), s.started_at),
           end_reason = CASE WHEN a.user_id IS NULL THEN 'deleted'
                             WHEN u.is_disabled THEN 'disabled'
                             ELSE 'inactive' END
      FROM dispatch.users u
      LEFT JOIN dispatch.assistants a ON a.user_id = u.id
     WHERE s.assistant_id = ANY (user_ids) AND s.ended_at IS NULL AND u.id = s.assistant_id
       AND NOT (coalesce(a.is_active, false) AND NOT u.is_disabled);
    INSERT INTO dispatch.shifts (assistant_id)
    SELECT a.user_id FROM dispatch.assistants a JOIN dispatch.users u ON u.id = a.user_id
     WHERE a.user_id = ANY (user_ids) AND a.is_active AND NOT u.is_disabled
    ON CONFLICT (assistant_id) WHERE ended_at IS NULL DO NOTHING;
END;
$$;

--
-- Name: FUNCTION sync_shifts(user_ids bigint[]); Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON FUNCTION dispatch.sync_shifts(user_ids bigint[]) IS 'Open a shift for each of these assistants who is on duty (active, not disabled) without one, and close the open shift of each who is not (called by triggers).';

--
-- Name: take_request(bigint, bigint, bigint, text); Type: FUNCTION; Schema: dispatch; Owner: -
--

CREATE FUNCTION dispatch.take_request(assistance_id bigint, assistant_id bigint, actor_id bigint, reason text DEFAULT 'accepted'::text) RETURNS dispatch.assistance_requests
    LANGUAGE plpgsql
    AS $$
#variable_conflict use_column
DECLARE
    req dispatch.assistance_requests;
BEGIN
    -- The row lock is the arbiter: of concurrent takers (accepts, a dispatcher's assign) the
    -- first locks the row and finds it requested; the others wait, then find it taken.
    SELECT * INTO req FROM dispatch.assistance_requests r WHERE r.id = take_request.assistance_id
    FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'Assistance request not found.' USING ERRCODE = 'DP001';
    END IF;
    IF req.status IN ('completed', 'canceled') THEN
        RAISE EXCEPTION 'This assistance request is already %.', req.status USING ERRCODE = 'DP006';
    END IF;
    IF req.status <> 'requested' THEN
        RAISE EXCEPTION 'This assistance request was already accepted.' USING ERRCODE = 'DP003';
    END IF;
    PERFORM dispatch.close_open_offers(req.id, take_request.assistant_id, take_request.reason);
    UPDATE dispatch.assistance_requests AS r
       SET status = 'accepted', assistant_id = take_request.assistant_id, accepted_at = now(),
           updated_at = now()
     WHERE r.id = req.id
    RETURNING * INTO req;
    req := dispatch.set_job_eta(req);  -- etas.sql: the status frame carries it
    PERFORM dispatch.record_transition(req, take_request.actor_id, 'requested');
    RETURN req;
END;
$$;

--
-- Name: FUNCTION take_request(assistance_id bigint, assistant_id bigint, actor_id bigint, reason text); Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON FUNCTION dispatch.take_request(assistance_id bigint, assistant_id bigint, actor_id bigint, reason text) IS 'The one way a request gets its assistant (an accept, a dispatcher''s assign): exactly one of concurrent takers wins (DP003 for the others, DP006 if completed/canceled, DP001 unknown); the winner''s open offer becomes accepted, every other open offer is withdrawn with reason, the search stops, the transition is recorded with actor_id. No availability checks: the caller makes them (with the assistant''s profile row locked).';

--
-- Name: take_token(text, double precision, double precision); Type: FUNCTION; Schema: dispatch; Owner: -
--

CREATE FUNCTION dispatch.take_token(bucket_key text, capacity double precision, per_second double precision) RETURNS boolean
    LANGUAGE plpgsql
    AS $$
DECLARE
    have  double precision;
    since timestamptz;
    at    timestamptz;
BEGIN
    IF capacity <= 0 THEN
        RETURN true;  -- no limit
    END IF;
    INSERT INTO dispatch.token_buckets (bucket, tokens, refilled_at)
    VALUES (bucket_key, capacity, clock_timestamp())
    ON CONFLICT (bucket) DO NOTHING;
    -- The row lock queues one bucket's takers from every process; the clock is read once it is
    -- held, so each taker sees the refill up to its own turn.
    SELECT b.tokens, b.refilled_at INTO have, since
      FROM dispatch.token_buckets b WHERE b.bucket = bucket_key
       FOR UPDATE;
    at := clock_timestamp();
    have := least(capacity, have + greatest(0, extract(epoch FROM at - since)) * per_second);
    IF have < 1 THEN
        RETURN false;  -- nothing taken: the stored state still refills correctly
    END IF;
    UPDATE dispatch.token_buckets b SET tokens = have - 1, refilled_at = greatest(since, at)
     WHERE b.bucket = bucket_key;
    RETURN true;
END;
$$;

--
-- Name: FUNCTION take_token(bucket_key text, capacity double precision, per_second double precision); Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON FUNCTION dispatch.take_token(bucket_key text, capacity double precision, per_second double precision) IS 'Take one token from a bucket shared by every server process: up to `capacity` at once, refilled at `per_second`; true when taken, false when empty (nothing changes). A capacity of 0 or less is no limit. The caller''s transaction holds the bucket until it ends.';

--
-- Name: tariffs_at(public.geography); Type: FUNCTION; Schema: dispatch; Owner: -
--

CREATE FUNCTION dispatch.tariffs_at(pickup public.geography DEFAULT NULL::public.geography) RETURNS TABLE(service_type text, vehicle_type text, base_label text, base_fare numeric, per_km numeric, currency text, minor_units integer, final_price_on_completion boolean, zone_id bigint, zone_name text, serviceable boolean)
    LANGUAGE sql STABLE
    AS $$
    SELECT t.service_type, t.vehicle_type, t.base_label,
           coalesce(zt.base_fare, t.base_fare), coalesce(zt.per_km, t.per_km),
           t.currency, coalesce(c.minor_units, 2)::integer, t.final_price_on_completion,
           z.id, z.name, coalesce(z.serviceable, true)
    FROM dispatch.tariffs t
    LEFT JOIN LATERAL dispatch.zone_at(tariffs_at.pickup) z ON true
    LEFT JOIN dispatch.zone_tariffs zt
           ON zt.zone_id = z.id AND zt.service_type = t.service_type
          AND zt.vehicle_type = t.vehicle_type
    LEFT JOIN dispatch.currencies c ON c.code = t.currency
$$;

--
-- Name: FUNCTION tariffs_at(pickup public.geography); Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON FUNCTION dispatch.tariffs_at(pickup public.geography) IS 'Every (service_type, vehicle_type) tariff as it applies at a point: the covering zone''s own row (dispatch.zone_at) or else the default (dispatch.tariffs), with currency and its minor units, the zone (NULL outside every zone) and whether it is serviceable. NULL point: the defaults. dispatch.quote_price and dispatch.service_catalogue both read it.';

--
-- Name: time_to_accept(integer, timestamp with time zone, timestamp with time zone); Type: FUNCTION; Schema: dispatch; Owner: -
--

CREATE FUNCTION dispatch.time_to_accept(resolution integer, since timestamp with time zone, until timestamp with time zone DEFAULT now()) RETURNS TABLE(day date, cell bigint, requests bigint, accepted bigint, p50_s double precision, p90_s double precision, p95_s double precision, max_s double precision)
    LANGUAGE plpgsql STABLE
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

--
-- Name: FUNCTION time_to_accept(resolution integer, since timestamp with time zone, until timestamp with time zone); Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON FUNCTION dispatch.time_to_accept(resolution integer, since timestamp with time zone, until timestamp with time zone) IS 'Time from request to accept (or dispatcher assign) per UTC day and H3 cell (resolution 7 or 8) of requests made in [since, until): requests, accepted, and the 50th/90th/95th percentile and maximum in seconds over the accepted ones (NULL when none was). DP048 for another resolution.';

--
-- Name: track_assistant_activity(); Type: FUNCTION; Schema: dispatch; Owner: -
--

CREATE FUNCTION dispatch.track_assistant_activity() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    IF TG_OP = 'INSERT' OR NEW.is_active IS DISTINCT FROM OLD.is_active THEN
        INSERT INTO dispatch.assistant_activity (assistant_id, is_active) VALUES (NEW.user_id, NEW.is_active);
    END IF;
    RETURN NULL;
END;
$$;

--
-- Name: FUNCTION track_assistant_activity(); Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON FUNCTION dispatch.track_assistant_activity() IS 'Trigger: append to dispatch.assistant_activity when an assistant profile is created or its is_active changes.';

--
-- Name: trip_distance(public.geography, public.geography); Type: FUNCTION; Schema: dispatch; Owner: -
--

CREATE FUNCTION dispatch.trip_distance(pickup public.geography, dropoff public.geography, OUT km double precision, OUT source text) RETURNS record
    LANGUAGE plpgsql STABLE
    AS $$
DECLARE
    metres double precision;
BEGIN
    source := 'straight_line';
    IF dropoff IS NULL THEN
        km := 0;
        RETURN;
    END IF;
    IF roads.covers(pickup::geometry) AND roads.covers(dropoff::geometry) THEN
        BEGIN
            SELECT r.metres INTO metres FROM roads.route(pickup::geometry, dropoff::geometry) r;
        EXCEPTION WHEN OTHERS THEN
            RAISE WARNING 'road distance failed, pricing by the straight line: %', SQLERRM;
            metres := NULL;
        END;
        IF metres IS NOT NULL THEN
            km := metres / 1000.0;
            source := 'road';
            RETURN;
        END IF;
    END IF;
    km := ST_Distance(pickup, dropoff) / 1000.0;
END;
$$;

--
-- Name: FUNCTION trip_distance(pickup public.geography, dropoff public.geography, OUT km double precision, OUT source text); Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON FUNCTION dispatch.trip_distance(pickup public.geography, dropoff public.geography, OUT km double precision, OUT source text) IS 'The distance that prices a trip: the length of the fastest road route where graphs cover both ends (source road), else geodesic (source straight_line); 0 km without a dropoff.';

--
-- Name: update_assistance_status(bigint, bigint, text, numeric); Type: FUNCTION; Schema: dispatch; Owner: -
--

CREATE FUNCTION dispatch.update_assistance_status(assistance_id bigint, actor_id bigint, new_status text, total_price numeric DEFAULT NULL::numeric) RETURNS jsonb
    LANGUAGE plpgsql
    AS $$
#variable_conflict use_column
DECLARE
    req        dispatch.assistance_requests;
    old_status text;
    by_client  boolean;
    final_ok   boolean;
    quoted     numeric;
BEGIN
    IF new_status IS NULL
       OR new_status NOT IN ('requested', 'accepted', 'ongoing', 'completed', 'canceled') THEN
        RAISE EXCEPTION 'Unknown status.' USING ERRCODE = 'DP009';
    END IF;
    SELECT * INTO req FROM dispatch.assistance_requests r
    WHERE r.id = update_assistance_status.assistance_id FOR UPDATE;
    IF NOT FOUND OR update_assistance_status.actor_id NOT IN (req.client_id, coalesce(req.assistant_id, -1))
    THEN
        RAISE EXCEPTION 'Assistance request not found.' USING ERRCODE = 'DP001';
    END IF;
    by_client := req.client_id = update_assistance_status.actor_id;
    old_status := req.status;

    IF by_client AND new_status <> 'canceled' THEN
        RAISE EXCEPTION 'Clients can only cancel an assistance request.' USING ERRCODE = 'DP008';
    END IF;
    IF old_status IN ('completed', 'canceled') THEN
        RAISE EXCEPTION 'This assistance request is already %.', old_status USING ERRCODE = 'DP006';
    END IF;
    IF NOT (
        (by_client AND new_status = 'canceled')
        OR (NOT by_client AND (old_status, new_status) IN (('accepted', 'ongoing'),
                                                          ('ongoing', 'completed'),
                                                          ('accepted', 'canceled'),
                                                          ('ongoing', 'canceled')))
    ) THEN
        RAISE EXCEPTION 'Cannot go from % to %.', old_status, new_status USING ERRCODE = 'DP007';
    END IF;

    IF update_assistance_status.total_price IS NOT NULL THEN
        SELECT t.final_price_on_completion INTO final_ok FROM dispatch.tariffs t
        WHERE t.service_type = req.service_type AND t.vehicle_type = req.vehicle_type;
        quoted := (req.price ->> 'total')::numeric;
        IF by_client OR new_status <> 'completed' OR NOT coalesce(final_ok, false) THEN
            RAISE EXCEPTION 'total_price is only set by the assistant when completing repair work.'
                USING ERRCODE = 'DP009';
        END IF;
        IF update_assistance_status.total_price < quoted THEN
            RAISE EXCEPTION 'total_price cannot be below the quoted % %.', quoted, req.currency
                USING ERRCODE = 'DP009';
        END IF;
    END IF;

    UPDATE dispatch.assistance_requests AS r
       SET status = new_status,
           updated_at = now(),
           started_at = CASE WHEN new_status = 'ongoing' THEN now() ELSE r.started_at END,
           completed_at = CASE WHEN new_status = 'completed' THEN now() ELSE r.completed_at END,
           canceled_at = CASE WHEN new_status = 'canceled' THEN now() ELSE r.canceled_at END,
           total_price = coalesce(round(update_assistance_status.total_price, 2), r.total_price),
           price = CASE
               WHEN update_assistance_status.total_price IS NULL THEN r.price
               ELSE r.price || jsonb_build_object(
                   'total', round(update_assistance_status.total_price, 2),
                   'lines', (r.price -> 'lines') || jsonb_build_array(jsonb_build_object(
                       'label', 'Repair work',
                       'amount', round(update_assistance_status.total_price, 2) - quoted)))
           END
     WHERE r.id = req.id
    RETURNING * INTO req;
    PERFORM dispatch.issue_invoice(req);  -- on completion only (sql/functions/money.sql)

    PERFORM dispatch.record_transition(req, update_assistance_status.actor_id, old_status);
    RETURN dispatch.assistance_json(req);
END;
$$;

--
-- Name: FUNCTION update_assistance_status(assistance_id bigint, actor_id bigint, new_status text, total_price numeric); Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON FUNCTION dispatch.update_assistance_status(assistance_id bigint, actor_id bigint, new_status text, total_price numeric) IS 'Move a request through the state machine. The client may cancel from requested, accepted or ongoing (anything else DP008); the assigned assistant may go accepted->ongoing, ongoing->completed (with total_price for repair work, at least the quote) and cancel from accepted or ongoing. DP001 not a party, DP006 final state, DP007 invalid transition, DP009 unknown status or misplaced total_price.';

--
-- Name: update_zone(bigint, text, jsonb, boolean, jsonb); Type: FUNCTION; Schema: dispatch; Owner: -
--

CREATE FUNCTION dispatch.update_zone(zone_id bigint, name text DEFAULT NULL::text, geometry jsonb DEFAULT NULL::jsonb, serviceable boolean DEFAULT NULL::boolean, tariffs jsonb DEFAULT NULL::jsonb) RETURNS jsonb
    LANGUAGE plpgsql
    AS $$
BEGIN
    UPDATE dispatch.service_zones z
       SET name = coalesce(update_zone.name, z.name),
           geom = CASE WHEN update_zone.geometry IS NULL THEN z.geom
                       ELSE dispatch.zone_geometry(update_zone.geometry) END,
           serviceable = coalesce(update_zone.serviceable, z.serviceable),
           updated_at = now()
     WHERE z.id = update_zone.zone_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'Service zone not found.' USING ERRCODE = 'DP023';
    END IF;
    IF update_zone.tariffs IS NOT NULL THEN
        PERFORM dispatch.set_zone_tariffs(update_zone.zone_id, update_zone.tariffs);
    END IF;
    RETURN dispatch.zone_json(update_zone.zone_id);
END;
$$;

--
-- Name: FUNCTION update_zone(zone_id bigint, name text, geometry jsonb, serviceable boolean, tariffs jsonb); Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON FUNCTION dispatch.update_zone(zone_id bigint, name text, geometry jsonb, serviceable boolean, tariffs jsonb) IS 'Change a zone: each argument given (not NULL) replaces the stored value, tariffs as a whole list. DP023 unknown zone, DP022 invalid geometry.';

--
-- Name: vehicle_class_for(bigint, bigint); Type: FUNCTION; Schema: dispatch; Owner: -
--

CREATE FUNCTION dispatch.vehicle_class_for(client_id bigint, vehicle_id bigint) RETURNS text
    LANGUAGE plpgsql STABLE
    AS $$
DECLARE
    found_class text;
BEGIN
    SELECT v.vehicle_class INTO found_class FROM dispatch.vehicles v
    WHERE v.id = vehicle_class_for.vehicle_id AND v.owner_id = vehicle_class_for.client_id;
    IF NOT FOUND THEN
        -- Another client's vehicle is as unknown as a missing one.
        RAISE EXCEPTION 'Vehicle not found.' USING ERRCODE = 'DP021';
    END IF;
    RETURN found_class;
END;
$$;

--
-- Name: FUNCTION vehicle_class_for(client_id bigint, vehicle_id bigint); Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON FUNCTION dispatch.vehicle_class_for(client_id bigint, vehicle_id bigint) IS 'The class (light|heavy) of a client''s own vehicle, which becomes a request''s vehicle_type. DP021 when the vehicle does not exist or belongs to someone else.';

--
-- Name: vehicles; Type: TABLE; Schema: dispatch; Owner: -
--

CREATE TABLE dispatch.vehicles (
    id bigint NOT NULL,
    owner_id bigint NOT NULL,
    make text NOT NULL,
    model text NOT NULL,
    year smallint NOT NULL,
    license_plate text NOT NULL,
    vin text,
    fuel_type text,
    vehicle_class text DEFAULT 'light'::text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT vehicles_fuel_type_check CHECK ((fuel_type = ANY (ARRAY['gasoline'::text, 'diesel'::text, 'electric'::text, 'hybrid'::text, 'lpg'::text, 'cng'::text, 'other'::text]))),
    CONSTRAINT vehicles_license_plate_check CHECK (((license_plate ~ '^[A-Z0-9]+(-[A-Z0-9]+)*$'::text) AND (length(license_plate) <= 20))),
    CONSTRAINT vehicles_make_check CHECK (((length(make) >= 1) AND (length(make) <= 60))),
    CONSTRAINT vehicles_model_check CHECK (((length(model) >= 1) AND (length(model) <= 60))),
    CONSTRAINT vehicles_vehicle_class_check CHECK ((vehicle_class = ANY (ARRAY['light'::text, 'heavy'::text]))),
    CONSTRAINT vehicles_vin_check CHECK ((vin ~ '^[A-HJ-NPR-Z0-9]{17}$'::text)),
    CONSTRAINT vehicles_year_check CHECK ((year >= 1900))
);

--
-- Name: TABLE vehicles; Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON TABLE dispatch.vehicles IS 'A client''s vehicles. The plate is stored normalised (upper case, one ''-'' between groups); a VIN, when given, is 17 characters with a valid check digit (dispatch.vin_valid). One client does not register the same plate twice.';

--
-- Name: vehicle_json(dispatch.vehicles); Type: FUNCTION; Schema: dispatch; Owner: -
--

CREATE FUNCTION dispatch.vehicle_json(v dispatch.vehicles) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$
    SELECT jsonb_build_object(
        'id', v.id,
        'make', v.make,
        'model', v.model,
        'year', v.year,
        'license_plate', v.license_plate,
        'licensePlate', v.license_plate,
        'vin', v.vin,
        'fuel_type', v.fuel_type,
        'fuelType', v.fuel_type,
        'vehicle_class', v.vehicle_class,
        'vehicleClass', v.vehicle_class,
        'created_at', dispatch.iso_utc(v.created_at),
        'createdAt', dispatch.iso_utc(v.created_at),
        'updated_at', dispatch.iso_utc(v.updated_at),
        'updatedAt', dispatch.iso_utc(v.updated_at)
    )
$$;

--
-- Name: FUNCTION vehicle_json(v dispatch.vehicles); Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON FUNCTION dispatch.vehicle_json(v dispatch.vehicles) IS 'The API''s vehicle object (snake_case and camelCase names) for a dispatch.vehicles row.';

--
-- Name: service_zones; Type: TABLE; Schema: dispatch; Owner: -
--

CREATE TABLE dispatch.service_zones (
    id bigint NOT NULL,
    name text NOT NULL,
    geom public.geometry(MultiPolygon,4326) NOT NULL,
    area_m2 double precision GENERATED ALWAYS AS (public.st_area((geom)::public.geography)) STORED,
    serviceable boolean DEFAULT true NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT service_zones_geom_valid_check CHECK ((public.st_isvalid(geom) AND (NOT public.st_isempty(geom)))),
    CONSTRAINT service_zones_name_check CHECK (((length(name) >= 1) AND (length(name) <= 120)))
);

--
-- Name: TABLE service_zones; Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON TABLE dispatch.service_zones IS 'Service zones: polygons with their own tariffs and a serviceable flag. A pickup''s zone is the smallest zone covering it (dispatch.zone_at).';

--
-- Name: COLUMN service_zones.area_m2; Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON COLUMN dispatch.service_zones.area_m2 IS 'Geodesic area, the tie-breaker on overlap (the smallest zone wins).';

--
-- Name: CONSTRAINT service_zones_geom_valid_check ON service_zones; Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON CONSTRAINT service_zones_geom_valid_check ON dispatch.service_zones IS 'Analysts may insert rows by hand: the database refuses what the API refuses.';

--
-- Name: zone_at(public.geography); Type: FUNCTION; Schema: dispatch; Owner: -
--

CREATE FUNCTION dispatch.zone_at(pickup public.geography) RETURNS SETOF dispatch.service_zones
    LANGUAGE sql STABLE ROWS 1 PARALLEL SAFE
    AS $$
    -- The GiST index finds the candidates; on overlap the smallest zone is the most specific.
    SELECT z.* FROM dispatch.service_zones z
    WHERE ST_Intersects(z.geom, zone_at.pickup::geometry)
    ORDER BY z.area_m2, z.id
    LIMIT 1
$$;

--
-- Name: FUNCTION zone_at(pickup public.geography); Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON FUNCTION dispatch.zone_at(pickup public.geography) IS 'The service zone covering a point (boundary included): the smallest by geodesic area when zones overlap, lowest id on a tie; no row when no zone covers it.';

--
-- Name: zone_geometry(jsonb); Type: FUNCTION; Schema: dispatch; Owner: -
--

CREATE FUNCTION dispatch.zone_geometry(geojson jsonb) RETURNS public.geometry
    LANGUAGE plpgsql IMMUTABLE
    AS $$
DECLARE
    g      geometry;
    reason text;
    edge   geometry;
BEGIN
    IF geojson IS NULL OR jsonb_typeof(geojson) <> 'object'
       OR geojson ->> 'type' IS NULL OR geojson ->> 'type' NOT IN ('Polygon', 'MultiPolygon') THEN
        reason := 'Must be a GeoJSON Polygon or MultiPolygon.';
    ELSE
        BEGIN
            g := ST_SetSRID(ST_GeomFromGeoJSON(geojson::text), 4326);
        EXCEPTION WHEN OTHERS THEN
            -- PostGIS parse messages name internals; the client gets a plain sentence.
            reason := 'Not a well-formed GeoJSON Polygon or MultiPolygon (rings need 4 or more '
                      'positions, the last equal to the first).';
        END;
    END IF;
    IF reason IS NULL AND (ST_IsEmpty(g) OR GeometryType(g) NOT IN ('POLYGON', 'MULTIPOLYGON')) THEN
        reason := 'Must be a non-empty Polygon or MultiPolygon.';
    END IF;
    IF reason IS NULL AND (ST_XMin(g) < -180 OR ST_XMax(g) > 180
                           OR ST_YMin(g) < -90 OR ST_YMax(g) > 90) THEN
        reason := 'Coordinates must be [longitude, latitude] within -180..180 and -90..90.';
    END IF;
    IF reason IS NULL AND EXISTS (
        SELECT 1 FROM ST_Dump(g) part CROSS JOIN LATERAL ST_DumpRings(part.geom) ring
        WHERE ST_NPoints(ring.geom) < 4 OR NOT ST_IsClosed(ST_ExteriorRing(ring.geom))) THEN
        reason := 'Every ring needs 4 or more positions, the last equal to the first.';
    END IF;
    IF reason IS NULL AND ST_NDims(g) <> 2 THEN
        reason := 'Positions are [longitude, latitude]: two numbers, no altitude.';
    END IF;
    -- Coverage reads an edge as a straight line in longitude and latitude (ST_Intersects on
    -- geometry), the area as a great circle (geography): they agree only while an edge spans
    -- less than half the globe. An edge from 179.5 to -179.5 is the 359 degrees westward to
    -- coverage and 1 degree eastward to the area (a strip on the antimeridian covered Algiers);
    -- -180 to 180 or pole to pole is "antipodal" to geography, which raises (the whole world).
    IF reason IS NULL THEN
        SELECT s.geom INTO edge FROM ST_DumpSegments(g) s
         WHERE ST_XMax(s.geom) - ST_XMin(s.geom) >= 180 OR ST_YMax(s.geom) - ST_YMin(s.geom) >= 180
         LIMIT 1;
        IF FOUND THEN
            reason := format('Every edge must span less than 180 degrees of longitude and of '
                             'latitude ([%s, %s] to [%s, %s] does not): split a zone that crosses '
                             'the antimeridian into a MultiPolygon at 180 and -180.',
                             ST_X(ST_StartPoint(edge)), ST_Y(ST_StartPoint(edge)),
                             ST_X(ST_EndPoint(edge)), ST_Y(ST_EndPoint(edge)));
        END IF;
    END IF;
    IF reason IS NULL AND ST_IsValidReason(g) <> 'Valid Geometry' THEN
        -- GEOS may prefix its reason with its exception class: the reason is what follows.
        reason := regexp_replace(ST_IsValidReason(g), '^[A-Za-z]+Exception: ', '');
    END IF;
    IF reason IS NOT NULL THEN
        RAISE EXCEPTION 'The zone geometry is invalid: %', reason
            USING ERRCODE = 'DP022',
                  DETAIL = jsonb_build_object('fields', jsonb_build_object(
                      'geometry', jsonb_build_array(reason)))::text;
    END IF;
    RETURN ST_Multi(g);
END;
$$;

--
-- Name: FUNCTION zone_geometry(geojson jsonb); Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON FUNCTION dispatch.zone_geometry(geojson jsonb) IS 'A GeoJSON Polygon or MultiPolygon (lng/lat, WGS 84, 2-D) as a valid MultiPolygon geometry; DP022 with the reason otherwise: ST_IsValidReason for invalid or self-intersecting shapes, and any edge spanning 180 degrees or more of longitude or latitude (coverage and geodesic area would disagree: a zone crossing the antimeridian is split into a MultiPolygon).';

--
-- Name: zone_json(bigint); Type: FUNCTION; Schema: dispatch; Owner: -
--

CREATE FUNCTION dispatch.zone_json(zone_id bigint) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$
    SELECT jsonb_build_object(
        'id', z.id,
        'name', z.name,
        'geometry', ST_AsGeoJSON(z.geom)::jsonb,
        'serviceable', z.serviceable,
        'area_km2', round((z.area_m2 / 1e6)::numeric, 3),
        'tariffs', (SELECT coalesce(jsonb_agg(jsonb_build_object(
                               'service_type', zt.service_type, 'vehicle_type', zt.vehicle_type,
                               'base_fare', zt.base_fare, 'per_km', zt.per_km)
                           ORDER BY zt.service_type DESC, zt.vehicle_type DESC), '[]')
                      FROM dispatch.zone_tariffs zt WHERE zt.zone_id = z.id),
        'created_at', dispatch.iso_utc(z.created_at),
        'updated_at', dispatch.iso_utc(z.updated_at)
    )
    FROM dispatch.service_zones z
    WHERE z.id = zone_json.zone_id
$$;

--
-- Name: FUNCTION zone_json(zone_id bigint); Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON FUNCTION dispatch.zone_json(zone_id bigint) IS 'A zone as the API shows it: {id, name, geometry (GeoJSON MultiPolygon), serviceable, area_km2, tariffs: [{service_type, vehicle_type, base_fare, per_km}], created_at, updated_at}; NULL for an unknown id.';

--
-- Name: coverage(bigint, double precision); Type: FUNCTION; Schema: roads; Owner: -
--

CREATE FUNCTION roads.coverage(zone_id bigint, seconds double precision) RETURNS jsonb
    LANGUAGE plpgsql STABLE
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

--
-- Name: FUNCTION coverage(zone_id bigint, seconds double precision); Type: COMMENT; Schema: roads; Owner: -
--

COMMENT ON FUNCTION roads.coverage(zone_id bigint, seconds double precision) IS 'The share of a service zone within seconds of an idle assistant now, by road length: of the main road edges whose midpoint lies in the zone (road_km, each edge whole), the length that some assistant of dispatch.available_assistants reaches by car within seconds from their snapped position (covered_km, partly reached edges counted in part), and share = covered_km / road_km (NULL without roads). idle_assistants: those on the roads within seconds x 130 km/h of the zone (the only ones that can count). NULL for an unknown zone; DP009 for seconds NULL or below 0.';

--
-- Name: covers(public.geometry); Type: FUNCTION; Schema: roads; Owner: -
--

CREATE FUNCTION roads.covers(p public.geometry) RETURNS boolean
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
    SELECT EXISTS (SELECT 1 FROM roads.regions r WHERE ST_Intersects(r.area, p))
$$;

--
-- Name: FUNCTION covers(p public.geometry); Type: COMMENT; Schema: roads; Owner: -
--

COMMENT ON FUNCTION roads.covers(p public.geometry) IS 'Whether an imported region''s area holds the point (its roads may still be farther than roads_snap_max_m: roads.snap decides).';

--
-- Name: isochrone(double precision, double precision, double precision, text); Type: FUNCTION; Schema: roads; Owner: -
--

CREATE FUNCTION roads.isochrone(lat double precision, lng double precision, seconds double precision, direction text DEFAULT 'from'::text) RETURNS jsonb
    LANGUAGE plpgsql STABLE
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

--
-- Name: FUNCTION isochrone(lat double precision, lng double precision, seconds double precision, direction text); Type: COMMENT; Schema: roads; Owner: -
--

COMMENT ON FUNCTION roads.isochrone(lat double precision, lng double precision, seconds double precision, direction text) IS 'GeoJSON polygon of the area reachable by car from (lat, lng) within seconds (direction to: that can reach it), over the road graphs from the point''s snapped spot (snap leg and partial first edge counted). The polygon is the concave hull (ST_ConcaveHull, pctconvex 0.3) of the reached road pieces, including the partly driven ends of edges; NULL when the point is off the roads. Refuses another direction, or seconds NULL or below 0, with DP009.';

--
-- Name: reach(public.geometry[], double precision, public.geometry, boolean); Type: FUNCTION; Schema: roads; Owner: -
--

CREATE FUNCTION roads.reach(origins public.geometry[], seconds double precision, box public.geometry, reverse boolean DEFAULT false) RETURNS TABLE(edge_id bigint, geom public.geometry, length_m double precision, from_head double precision, from_tail double precision)
    LANGUAGE plpgsql STABLE
    AS $_$
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
$_$;

--
-- Name: FUNCTION reach(origins public.geometry[], seconds double precision, box public.geometry, reverse boolean); Type: COMMENT; Schema: roads; Owner: -
--

COMMENT ON FUNCTION roads.reach(origins public.geometry[], seconds double precision, box public.geometry, reverse boolean) IS 'Internal to roads.isochrone and roads.coverage: the main edges in box that a drive of at most seconds from any origin (reverse: to any origin) touches, each snapped edge cut at its origins'' spots. Per edge (or piece; edge_id is the whole edge''s): its geometry, length and the share of it reached from its head (source) and from its tail (target), 0 to 1. Origins off the roads are left out; no rows without any.';

--
-- Name: reach_box(public.geometry, double precision); Type: FUNCTION; Schema: roads; Owner: -
--

CREATE FUNCTION roads.reach_box(g public.geometry, seconds double precision) RETURNS public.geometry
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
    -- seconds x 130 km/h, in degrees at the geometry's latitude (as roads.routing_box widens).
    SELECT ST_Expand(ST_Envelope(g),
                     greatest(seconds, 0) * 130 / 3.6
                         / (111320.0 * greatest(cos(radians(ST_Y(ST_Centroid(ST_Envelope(g))))), 0.01)),
                     greatest(seconds, 0) * 130 / 3.6 / 110574.0)
$$;

--
-- Name: FUNCTION reach_box(g public.geometry, seconds double precision); Type: COMMENT; Schema: roads; Owner: -
--

COMMENT ON FUNCTION roads.reach_box(g public.geometry, seconds double precision) IS 'The box a search of the given seconds needs around a geometry: its envelope widened by seconds x 130 km/h (faster than any edge of the car profile), in degrees.';

--
-- Name: route(public.geometry, public.geometry); Type: FUNCTION; Schema: roads; Owner: -
--

CREATE FUNCTION roads.route(origin public.geometry, destination public.geometry, OUT seconds double precision, OUT metres double precision) RETURNS record
    LANGUAGE plpgsql STABLE
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

--
-- Name: FUNCTION route(origin public.geometry, destination public.geometry, OUT seconds double precision, OUT metres double precision); Type: COMMENT; Schema: roads; Owner: -
--

COMMENT ON FUNCTION roads.route(origin public.geometry, destination public.geometry, OUT seconds double precision, OUT metres double precision) IS 'The fastest drive from origin to destination over the road graphs: seconds and its length in metres (snap legs included); NULLs when either point is off the roads, the box is over budget, or no route exists (tried in a box four times as wide before saying so).';

--
-- Name: route_in_box(public.geometry, public.geometry, public.geometry); Type: FUNCTION; Schema: roads; Owner: -
--

CREATE FUNCTION roads.route_in_box(origin public.geometry, destination public.geometry, box public.geometry, OUT seconds double precision, OUT metres double precision) RETURNS record
    LANGUAGE plpgsql STABLE
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

--
-- Name: FUNCTION route_in_box(origin public.geometry, destination public.geometry, box public.geometry, OUT seconds double precision, OUT metres double precision); Type: COMMENT; Schema: roads; Owner: -
--

COMMENT ON FUNCTION roads.route_in_box(origin public.geometry, destination public.geometry, box public.geometry, OUT seconds double precision, OUT metres double precision) IS 'Internal (roads.route): the fastest drive between two snapped points over the edges inside box only.';

--
-- Name: routing_box(public.geometry[], double precision); Type: FUNCTION; Schema: roads; Owner: -
--

CREATE FUNCTION roads.routing_box(points public.geometry[], widen double precision DEFAULT 1) RETURNS public.geometry
    LANGUAGE plpgsql STABLE
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

--
-- Name: FUNCTION routing_box(points public.geometry[], widen double precision); Type: COMMENT; Schema: roads; Owner: -
--

COMMENT ON FUNCTION roads.routing_box(points public.geometry[], widen double precision) IS 'The box of edges one routing call loads: the points'' envelope widened by roads_box_margin_m times widen; NULL when it would hold more than roads_max_edges (the call''s work budget).';

--
-- Name: snap(public.geometry); Type: FUNCTION; Schema: roads; Owner: -
--

CREATE FUNCTION roads.snap(p public.geometry) RETURNS TABLE(edge_id bigint, source bigint, target bigint, cost double precision, reverse_cost double precision, length_m double precision, fraction double precision, snap_m double precision)
    LANGUAGE sql STABLE PARALLEL SAFE
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

--
-- Name: FUNCTION snap(p public.geometry); Type: COMMENT; Schema: roads; Owner: -
--

COMMENT ON FUNCTION roads.snap(p public.geometry) IS 'The point''s place on the road network: the nearest edge of a main piece within roads_snap_max_m (none farther), the fraction along it (0 at source) and the distance to it.';

--
-- Name: times_matrix(public.geometry[], public.geometry[]); Type: FUNCTION; Schema: roads; Owner: -
--

CREATE FUNCTION roads.times_matrix(destinations public.geometry[], origins public.geometry[]) RETURNS TABLE(dest integer, ord integer, seconds double precision)
    LANGUAGE plpgsql STABLE
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

--
-- Name: FUNCTION times_matrix(destinations public.geometry[], origins public.geometry[]); Type: COMMENT; Schema: roads; Owner: -
--

COMMENT ON FUNCTION roads.times_matrix(destinations public.geometry[], origins public.geometry[]) IS 'Driving time in seconds from each origin (ord = its 1-based index) to each destination (dest = its index) over the road graphs, snap legs included, in one routing call: seconds NULL for an origin off the roads or unable to reach it; no rows for a destination off every graph, and none at all when the routing box is over budget (roads_max_edges).';

--
-- Name: times_matrix_in_box(public.geometry[], public.geometry[], public.geometry); Type: FUNCTION; Schema: roads; Owner: -
--

CREATE FUNCTION roads.times_matrix_in_box(destinations public.geometry[], origins public.geometry[], box public.geometry) RETURNS TABLE(dest integer, ord integer, seconds double precision, snapped boolean)
    LANGUAGE sql STABLE
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

--
-- Name: FUNCTION times_matrix_in_box(destinations public.geometry[], origins public.geometry[], box public.geometry); Type: COMMENT; Schema: roads; Owner: -
--

COMMENT ON FUNCTION roads.times_matrix_in_box(destinations public.geometry[], origins public.geometry[], box public.geometry) IS 'Internal (roads.times_matrix): the times of roads.times_matrix over the edges inside box only, and whether each origin snapped onto the roads; no rows for a destination off the roads.';

--
-- Name: times_to(public.geometry, public.geometry[]); Type: FUNCTION; Schema: roads; Owner: -
--

CREATE FUNCTION roads.times_to(destination public.geometry, origins public.geometry[]) RETURNS TABLE(ord integer, seconds double precision)
    LANGUAGE sql STABLE
    AS $$
    SELECT m.ord, m.seconds FROM roads.times_matrix(ARRAY[destination], origins) m ORDER BY m.ord
$$;

--
-- Name: FUNCTION times_to(destination public.geometry, origins public.geometry[]); Type: COMMENT; Schema: roads; Owner: -
--

COMMENT ON FUNCTION roads.times_to(destination public.geometry, origins public.geometry[]) IS 'Driving time in seconds from each origin (ord = its 1-based index) to the destination over the road graphs, snap legs included (roads.times_matrix with one destination); seconds NULL for an origin off the roads or unable to reach it. No rows when the destination is off every graph or the routing box is over budget.';

--
-- Name: travel_time(double precision, double precision, double precision, double precision); Type: FUNCTION; Schema: roads; Owner: -
--

CREATE FUNCTION roads.travel_time(from_lat double precision, from_lng double precision, to_lat double precision, to_lng double precision, OUT seconds double precision, OUT metres double precision, OUT source text) RETURNS record
    LANGUAGE plpgsql STABLE
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

--
-- Name: FUNCTION travel_time(from_lat double precision, from_lng double precision, to_lat double precision, to_lng double precision, OUT seconds double precision, OUT metres double precision, OUT source text); Type: COMMENT; Schema: roads; Owner: -
--

COMMENT ON FUNCTION roads.travel_time(from_lat double precision, from_lng double precision, to_lat double precision, to_lng double precision, OUT seconds double precision, OUT metres double precision, OUT source text) IS 'Driving time (seconds) and distance (metres) from one point to another: the fastest road route where an imported graph covers both (source road, snap legs included, as roads.route), else the geodesic distance at straight_line_speed_kmh (source straight_line).';

--
-- Name: assignment_batches; Type: TABLE; Schema: dispatch; Owner: -
--

CREATE TABLE dispatch.assignment_batches (
    id bigint NOT NULL,
    area text NOT NULL,
    started_at timestamp with time zone DEFAULT now() NOT NULL,
    solve_ms double precision NOT NULL,
    requests bigint[] NOT NULL,
    assistants bigint[] NOT NULL,
    costs jsonb NOT NULL,
    matched integer NOT NULL,
    total_cost_s double precision DEFAULT 0 NOT NULL,
    CONSTRAINT assignment_batches_solve_check CHECK ((solve_ms >= (0)::double precision))
);

--
-- Name: TABLE assignment_batches; Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON TABLE dispatch.assignment_batches IS 'Every assignment batch: its area (the service type matched), when it ran, how long the solve took, the requests and assistants it saw, every candidate pair costed (costs: [[assistance_id, assistant_id, cost_s, eta_source, distance_m]]) and how many it matched at what total cost. The solution is in dispatch.assignment_decisions.';

--
-- Name: assignment_batches_id_seq; Type: SEQUENCE; Schema: dispatch; Owner: -
--

ALTER TABLE dispatch.assignment_batches ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME dispatch.assignment_batches_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: assignment_decisions; Type: TABLE; Schema: dispatch; Owner: -
--

CREATE TABLE dispatch.assignment_decisions (
    batch_id bigint NOT NULL,
    assistance_id bigint NOT NULL,
    assistant_id bigint,
    cost_s double precision,
    eta_source text,
    distance_m double precision,
    candidates integer DEFAULT 0 NOT NULL,
    nearest_id bigint,
    nearest_cost_s double precision,
    outcome text NOT NULL,
    CONSTRAINT assignment_decisions_offered_check CHECK (((outcome = 'offered'::text) = (assistant_id IS NOT NULL))),
    CONSTRAINT assignment_decisions_outcome_check CHECK ((outcome = ANY (ARRAY['offered'::text, 'unmatched'::text, 'no_candidate'::text, 'fell_back'::text])))
);

--
-- Name: TABLE assignment_decisions; Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON TABLE dispatch.assignment_decisions IS 'A batch''s decision for each request it saw: the assistant offered and the pair''s cost, or why none (unmatched: others needed its candidates more; no_candidate: nobody within assignment_cost_cap_s; fell_back: its last batch passed, rounds started), with its cheapest candidate (nearest_id, nearest_cost_s: what the greedy nearest would have offered).';

--
-- Name: assistance_events; Type: TABLE; Schema: dispatch; Owner: -
--

CREATE TABLE dispatch.assistance_events (
    id bigint NOT NULL,
    assistance_id bigint NOT NULL,
    actor_id bigint NOT NULL,
    actor_role text NOT NULL,
    from_status text,
    to_status text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    reason text
);

--
-- Name: TABLE assistance_events; Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON TABLE dispatch.assistance_events IS 'Every transition of a request (creation included, from_status NULL): who, in which role, when, from, to.';

--
-- Name: COLUMN assistance_events.reason; Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON COLUMN dispatch.assistance_events.reason IS 'The reason a dispatcher gave for an assign, reassign or cancel (NULL for the parties'' own steps).';

--
-- Name: assistance_events_id_seq; Type: SEQUENCE; Schema: dispatch; Owner: -
--

ALTER TABLE dispatch.assistance_events ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME dispatch.assistance_events_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: assistance_requests_id_seq; Type: SEQUENCE; Schema: dispatch; Owner: -
--

ALTER TABLE dispatch.assistance_requests ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME dispatch.assistance_requests_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: assistant_activity; Type: TABLE; Schema: dispatch; Owner: -
--

CREATE TABLE dispatch.assistant_activity (
    id bigint NOT NULL,
    assistant_id bigint NOT NULL,
    is_active boolean NOT NULL,
    at timestamp with time zone DEFAULT now() NOT NULL
);

--
-- Name: TABLE assistant_activity; Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON TABLE dispatch.assistant_activity IS 'When each assistant went active or inactive (written by a trigger on dispatch.assistants).';

--
-- Name: assistant_activity_id_seq; Type: SEQUENCE; Schema: dispatch; Owner: -
--

ALTER TABLE dispatch.assistant_activity ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME dispatch.assistant_activity_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: positions; Type: TABLE; Schema: dispatch; Owner: -
--

CREATE TABLE dispatch.positions (
    user_id bigint NOT NULL,
    geog public.geography(Point,4326) NOT NULL,
    h3_r7 bigint NOT NULL,
    h3_r8 bigint NOT NULL,
    h3_r9 bigint NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    matchable boolean DEFAULT false NOT NULL
);

--
-- Name: TABLE positions; Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON TABLE dispatch.positions IS 'One row per user, updated in place: the latest known position with its H3 cells (computed by the application with the h3 package, stored as bigint). Writers date a position at most at the statement''s time: a telematics point ahead of the clock must not make later fixes look older. Every move rewrites every index (geog changes, so no update is HOT): only the primary key and the two GiST indexes that matching and nearby lists read are kept; the H3 columns are read by whole-table aggregates only, never by index.';

--
-- Name: COLUMN positions.matchable; Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON COLUMN dispatch.positions.matchable IS 'The position belongs to an assistant who is active, not disabled and has no open job (the licence date is checked at query time). Kept by triggers on every table that decides it (sql/functions/matchable.sql); dispatch.refresh_matchable recomputes it.';

--
-- Name: available_assistants; Type: VIEW; Schema: dispatch; Owner: -
--

CREATE VIEW dispatch.available_assistants AS
 SELECT a.user_id,
    a.service_type,
    a.vehicle_type,
    p.geog,
    p.h3_r7
   FROM (dispatch.assistants a
     JOIN dispatch.positions p ON ((p.user_id = a.user_id)))
  WHERE (p.matchable AND (a.driving_license_expiry >= CURRENT_DATE));

--
-- Name: VIEW available_assistants; Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON VIEW dispatch.available_assistants IS 'Assistants who could take a job now: active, not disabled, licence unexpired, with a known position and no accepted or ongoing job.';

--
-- Name: bookings_id_seq; Type: SEQUENCE; Schema: dispatch; Owner: -
--

ALTER TABLE dispatch.bookings ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME dispatch.bookings_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: cell_supply; Type: TABLE; Schema: dispatch; Owner: -
--

CREATE TABLE dispatch.cell_supply (
    h3_r7 bigint NOT NULL,
    idle_assistants integer NOT NULL
);

--
-- Name: TABLE cell_supply; Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON TABLE dispatch.cell_supply IS 'Matchable assistants (active, not disabled, no open job, positioned) per H3 r7 cell, kept by triggers on dispatch.positions; dispatch.refresh_cell_supply() re-counts it from scratch.';

--
-- Name: chat_messages; Type: TABLE; Schema: dispatch; Owner: -
--

CREATE TABLE dispatch.chat_messages (
    id bigint NOT NULL,
    assistance_id bigint NOT NULL,
    sender_id bigint NOT NULL,
    message text NOT NULL,
    sent_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT chat_messages_message_check CHECK (((length(message) >= 1) AND (length(message) <= 2000)))
);

--
-- Name: TABLE chat_messages; Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON TABLE dispatch.chat_messages IS 'Chat between the parties of an assistance request, stored and relayed over its channel.';

--
-- Name: chat_messages_id_seq; Type: SEQUENCE; Schema: dispatch; Owner: -
--

ALTER TABLE dispatch.chat_messages ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME dispatch.chat_messages_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: cost_lines_id_seq; Type: SEQUENCE; Schema: dispatch; Owner: -
--

ALTER TABLE dispatch.cost_lines ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME dispatch.cost_lines_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: currencies; Type: TABLE; Schema: dispatch; Owner: -
--

CREATE TABLE dispatch.currencies (
    code text NOT NULL,
    minor_units smallint NOT NULL,
    CONSTRAINT currencies_code_check CHECK ((code ~ '^[A-Z]{3}$'::text)),
    CONSTRAINT currencies_minor_units_check CHECK (((minor_units >= 0) AND (minor_units <= 4)))
);

--
-- Name: TABLE currencies; Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON TABLE dispatch.currencies IS 'Currencies and their ISO 4217 exponent: money is rounded to the minor unit, once per line.';

--
-- Name: event_cursor; Type: TABLE; Schema: dispatch; Owner: -
--

CREATE TABLE dispatch.event_cursor (
    one boolean DEFAULT true NOT NULL,
    last_seq bigint DEFAULT 0 NOT NULL,
    pruned_through bigint DEFAULT 0 NOT NULL,
    CONSTRAINT event_cursor_one_check CHECK (one)
);

--
-- Name: TABLE event_cursor; Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON TABLE dispatch.event_cursor IS 'One row: the last frame seq handed out (publishers lock it, so seq order is publish-commit order) and the highest seq pruned (a since below it may have lost events to retention).';

--
-- Name: event_log; Type: TABLE; Schema: dispatch; Owner: -
--

CREATE TABLE dispatch.event_log (
    id bigint NOT NULL,
    seq bigint,
    topics text[] NOT NULL,
    messages text[] NOT NULL,
    skip_user bigint,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT event_log_batch_shape CHECK (((cardinality(topics) = cardinality(messages)) AND (cardinality(topics) > 0)))
)
WITH (toast_tuple_target='8160');
ALTER TABLE ONLY dispatch.event_log ALTER COLUMN messages SET COMPRESSION lz4;

--
-- Name: TABLE event_log; Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON TABLE dispatch.event_log IS 'One row per dispatch.emit call: a batch of WebSocket frames, topics[i] getting messages[i]. No primary key: nothing looks a batch up by id (the publisher numbers unpublished rows by ctid within its pass, pruning deletes by ctid), and a key would take an index entry at insert and again at publish. Rows up to ~8 kB stay inline and uncompressed (toast_tuple_target).';

--
-- Name: COLUMN event_log.id; Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON COLUMN dispatch.event_log.id IS 'Insertion order, unique by its identity: the publisher takes unpublished batches in id order.';

--
-- Name: COLUMN event_log.seq; Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON COLUMN dispatch.event_log.seq IS 'The first frame''s seq, NULL until published; frame i (1-based) has seq + i - 1, so seqs are gapless per frame.';

--
-- Name: COLUMN event_log.messages; Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON COLUMN dispatch.event_log.messages IS 'JSON text of each frame without its seq, the form the sockets send, so no reader converts it again. Compressed with lz4 where the server has it (pglz otherwise) when a batch passes toast_tuple_target.';

--
-- Name: COLUMN event_log.skip_user; Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON COLUMN dispatch.event_log.skip_user IS 'Not delivered to this user''s sockets (a location relay skips its sender).';

--
-- Name: event_log_id_seq; Type: SEQUENCE; Schema: dispatch; Owner: -
--

ALTER TABLE dispatch.event_log ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME dispatch.event_log_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: events; Type: VIEW; Schema: dispatch; Owner: -
--

CREATE VIEW dispatch.events AS
 SELECT e.id AS batch_id,
    (f.i)::integer AS "position",
    ((e.seq + f.i) - 1) AS seq,
    f.topic,
    (f.message)::jsonb AS message,
    e.skip_user,
    e.created_at
   FROM dispatch.event_log e,
    LATERAL UNNEST(e.topics, e.messages) WITH ORDINALITY f(topic, message, i);

--
-- Name: VIEW events; Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON VIEW dispatch.events IS 'Every logged WebSocket frame: its batch (dispatch.event_log row) and position in it, seq (NULL until published), topic, message, skip_user and created_at.';

--
-- Name: fleet_feed; Type: TABLE; Schema: dispatch; Owner: -
--

CREATE TABLE dispatch.fleet_feed (
    only_row boolean DEFAULT true NOT NULL,
    published_to timestamp with time zone DEFAULT now() NOT NULL,
    ran_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT fleet_feed_one_row CHECK (only_row)
);

--
-- Name: TABLE fleet_feed; Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON TABLE dispatch.fleet_feed IS 'One row: the positions'' updated_at up to which the dispatchers'' feed has published them.';

--
-- Name: invoice_counter; Type: TABLE; Schema: dispatch; Owner: -
--

CREATE TABLE dispatch.invoice_counter (
    only_row boolean DEFAULT true NOT NULL,
    next_number bigint NOT NULL,
    CONSTRAINT invoice_counter_next_check CHECK ((next_number >= 1)),
    CONSTRAINT invoice_counter_only_row_check CHECK (only_row)
);

--
-- Name: TABLE invoice_counter; Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON TABLE dispatch.invoice_counter IS 'The next invoice number. One row, not a sequence: issuing locks it until commit, so concurrent completions take consecutive numbers and a rolled-back completion gives its number back (no hole in the numbering).';

--
-- Name: invoice_lines; Type: TABLE; Schema: dispatch; Owner: -
--

CREATE TABLE dispatch.invoice_lines (
    invoice_number bigint NOT NULL,
    "position" smallint NOT NULL,
    label text NOT NULL,
    quantity numeric(12,3) NOT NULL,
    unit_price numeric(14,4) NOT NULL,
    amount numeric(14,4) NOT NULL
);

--
-- Name: invoices; Type: TABLE; Schema: dispatch; Owner: -
--

CREATE TABLE dispatch.invoices (
    number bigint NOT NULL,
    assistance_id bigint NOT NULL,
    issued_at timestamp with time zone DEFAULT now() NOT NULL,
    currency text NOT NULL,
    subtotal numeric(14,4) NOT NULL,
    total numeric(14,4) NOT NULL
);

--
-- Name: offer_funnel; Type: VIEW; Schema: dispatch; Owner: -
--

CREATE VIEW dispatch.offer_funnel AS
 SELECT ((o.sent_at AT TIME ZONE 'UTC'::text))::date AS day,
    o.round,
    count(*) AS sent,
    count(*) FILTER (WHERE (o.state = 'declined'::text)) AS declined,
    count(*) FILTER (WHERE (o.state = 'expired'::text)) AS expired,
    count(*) FILTER (WHERE (o.state = 'accepted'::text)) AS accepted,
    count(*) FILTER (WHERE (o.state = 'withdrawn'::text)) AS withdrawn,
    count(*) FILTER (WHERE (o.state = 'open'::text)) AS open,
    round(((count(*) FILTER (WHERE (o.state = 'accepted'::text)))::numeric / (count(*))::numeric), 3) AS accept_rate
   FROM dispatch.offers o
  GROUP BY (((o.sent_at AT TIME ZONE 'UTC'::text))::date), o.round;

--
-- Name: VIEW offer_funnel; Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON VIEW dispatch.offer_funnel IS 'The offer funnel per UTC day and round: offers sent, and how they ended (declined, expired, accepted, withdrawn because someone else took the job or it was canceled, still open), with the share accepted. Sum over days for the funnel per round.';

--
-- Name: offer_rounds; Type: TABLE; Schema: dispatch; Owner: -
--

CREATE TABLE dispatch.offer_rounds (
    assistance_id bigint NOT NULL,
    round smallint NOT NULL,
    started_at timestamp with time zone DEFAULT now() NOT NULL,
    ends_at timestamp with time zone NOT NULL,
    radius_m double precision NOT NULL,
    offered integer DEFAULT 0 NOT NULL,
    arrivals integer DEFAULT 0 NOT NULL,
    CONSTRAINT offer_rounds_round_check CHECK ((round >= 1))
);

--
-- Name: TABLE offer_rounds; Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON TABLE dispatch.offer_rounds IS 'Every offer round of a request: start, end, search radius, offers sent at its start and to assistants arriving during it. With dispatch.offers, the full record of a search.';

--
-- Name: COLUMN offer_rounds.offered; Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON COLUMN dispatch.offer_rounds.offered IS 'Offers sent when the round started.';

--
-- Name: COLUMN offer_rounds.arrivals; Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON COLUMN dispatch.offer_rounds.arrivals IS 'Offers added during the round to assistants who became eligible within its reach.';

--
-- Name: one_time_codes; Type: TABLE; Schema: dispatch; Owner: -
--

CREATE TABLE dispatch.one_time_codes (
    id bigint NOT NULL,
    user_id bigint NOT NULL,
    purpose text NOT NULL,
    target text NOT NULL,
    code_hash bytea NOT NULL,
    attempts integer DEFAULT 0 NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    expires_at timestamp with time zone NOT NULL,
    consumed_at timestamp with time zone,
    CONSTRAINT one_time_codes_purpose_check CHECK ((purpose = ANY (ARRAY['verify_email'::text, 'verify_phone'::text, 'password_reset'::text])))
);

--
-- Name: TABLE one_time_codes; Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON TABLE dispatch.one_time_codes IS 'One-time codes (6 digits) for verifying contacts and resetting passwords, stored as an HMAC. At most one live (unconsumed) code per user and purpose: issuing a new one supersedes the old.';

--
-- Name: COLUMN one_time_codes.target; Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON COLUMN dispatch.one_time_codes.target IS 'The address the code was sent to.';

--
-- Name: COLUMN one_time_codes.consumed_at; Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON COLUMN dispatch.one_time_codes.consumed_at IS 'Used, or superseded by a newer code.';

--
-- Name: one_time_codes_id_seq; Type: SEQUENCE; Schema: dispatch; Owner: -
--

ALTER TABLE dispatch.one_time_codes ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME dispatch.one_time_codes_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: outbox; Type: TABLE; Schema: dispatch; Owner: -
--

CREATE TABLE dispatch.outbox (
    id bigint NOT NULL,
    user_id bigint,
    channel text NOT NULL,
    recipient text NOT NULL,
    subject text DEFAULT ''::text NOT NULL,
    body text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    attempts integer DEFAULT 0 NOT NULL,
    claimed_until timestamp with time zone,
    sent_at timestamp with time zone,
    last_error text,
    CONSTRAINT outbox_channel_check CHECK ((channel = ANY (ARRAY['email'::text, 'sms'::text])))
);

--
-- Name: TABLE outbox; Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON TABLE dispatch.outbox IS 'Every message to a user goes through here; a sender drains it (log by default, SMTP when configured). Bodies are blanked once sent so delivered codes do not linger in the table.';

--
-- Name: outbox_id_seq; Type: SEQUENCE; Schema: dispatch; Owner: -
--

ALTER TABLE dispatch.outbox ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME dispatch.outbox_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: position_history; Type: TABLE; Schema: dispatch; Owner: -
--

CREATE TABLE dispatch.position_history (
    id bigint NOT NULL,
    user_id bigint NOT NULL,
    geog public.geography(Point,4326) NOT NULL,
    h3_r9 bigint NOT NULL,
    recorded_at timestamp with time zone DEFAULT now() NOT NULL,
    speed_kmh real,
    heading_deg real
)
PARTITION BY RANGE (recorded_at);

--
-- Name: TABLE position_history; Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON TABLE dispatch.position_history IS 'Every stored position (WebSocket frames, REST updates, telematics points), one partition per UTC day (position_history_pYYYYMMDD) plus a default partition that catches rows no daily partition covers; dispatch.maintain_position_history creates and drops partitions.';

--
-- Name: COLUMN position_history.speed_kmh; Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON COLUMN dispatch.position_history.speed_kmh IS 'From telematics batches (km/h); NULL for other sources.';

--
-- Name: COLUMN position_history.heading_deg; Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON COLUMN dispatch.position_history.heading_deg IS 'From telematics batches (degrees clockwise from north); NULL for other sources.';

--
-- Name: position_history_seq; Type: SEQUENCE; Schema: dispatch; Owner: -
--

CREATE SEQUENCE dispatch.position_history_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 64;

--
-- Name: position_history_seq; Type: SEQUENCE OWNED BY; Schema: dispatch; Owner: -
--

ALTER SEQUENCE dispatch.position_history_seq OWNED BY dispatch.position_history.id;

--
-- Name: position_history_default; Type: TABLE; Schema: dispatch; Owner: -
--

CREATE TABLE dispatch.position_history_default (
    id bigint DEFAULT nextval('dispatch.position_history_seq'::regclass) NOT NULL,
    user_id bigint NOT NULL,
    geog public.geography(Point,4326) NOT NULL,
    h3_r9 bigint NOT NULL,
    recorded_at timestamp with time zone DEFAULT now() NOT NULL,
    speed_kmh real,
    heading_deg real
);

--
-- Name: rate_limits; Type: TABLE; Schema: dispatch; Owner: -
--

CREATE TABLE dispatch.rate_limits (
    bucket text NOT NULL,
    window_start timestamp with time zone NOT NULL,
    hits integer NOT NULL
);

--
-- Name: TABLE rate_limits; Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON TABLE dispatch.rate_limits IS 'Fixed-window request counters shared by every server process.';

--
-- Name: ratings; Type: TABLE; Schema: dispatch; Owner: -
--

CREATE TABLE dispatch.ratings (
    assistance_id bigint NOT NULL,
    client_id bigint NOT NULL,
    assistant_id bigint NOT NULL,
    rating smallint NOT NULL,
    comment text DEFAULT ''::text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT ratings_rating_check CHECK (((rating >= 1) AND (rating <= 5)))
);

--
-- Name: TABLE ratings; Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON TABLE dispatch.ratings IS 'One rating per completed assistance, by its client (the primary key makes it "once").';

--
-- Name: refresh_tokens; Type: TABLE; Schema: dispatch; Owner: -
--

CREATE TABLE dispatch.refresh_tokens (
    id bigint NOT NULL,
    user_id bigint NOT NULL,
    family_id uuid NOT NULL,
    token_hash bytea NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    expires_at timestamp with time zone NOT NULL,
    used_at timestamp with time zone,
    revoked_at timestamp with time zone
);

--
-- Name: TABLE refresh_tokens; Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON TABLE dispatch.refresh_tokens IS 'Refresh tokens, stored hashed (sha256 of the token). A family is one login session: every rotation adds a row to it, and presenting a used or revoked member revokes the whole family.';

--
-- Name: COLUMN refresh_tokens.used_at; Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON COLUMN dispatch.refresh_tokens.used_at IS 'When it was exchanged for its successor.';

--
-- Name: COLUMN refresh_tokens.revoked_at; Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON COLUMN dispatch.refresh_tokens.revoked_at IS 'Logout, password reset, or reuse of a family member detected.';

--
-- Name: refresh_tokens_id_seq; Type: SEQUENCE; Schema: dispatch; Owner: -
--

ALTER TABLE dispatch.refresh_tokens ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME dispatch.refresh_tokens_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: service_zones_id_seq; Type: SEQUENCE; Schema: dispatch; Owner: -
--

ALTER TABLE dispatch.service_zones ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME dispatch.service_zones_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: settings; Type: TABLE; Schema: dispatch; Owner: -
--

CREATE TABLE dispatch.settings (
    key text NOT NULL,
    value jsonb NOT NULL,
    description text DEFAULT ''::text NOT NULL
);

--
-- Name: TABLE settings; Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON TABLE dispatch.settings IS 'Engine-wide tunables that SQL functions read (surge k and cap, search radius, offer rounds, booking windows, retention): one jsonb value and its description per key. Each area''s migration inserts its own keys.';

--
-- Name: shifts; Type: TABLE; Schema: dispatch; Owner: -
--

CREATE TABLE dispatch.shifts (
    id bigint NOT NULL,
    assistant_id bigint NOT NULL,
    started_at timestamp with time zone DEFAULT now() NOT NULL,
    ended_at timestamp with time zone,
    end_reason text,
    CONSTRAINT shifts_end_check CHECK (((ended_at IS NULL) OR (ended_at >= started_at))),
    CONSTRAINT shifts_end_reason_check CHECK ((end_reason = ANY (ARRAY['inactive'::text, 'disabled'::text, 'deleted'::text]))),
    CONSTRAINT shifts_end_reason_present CHECK (((ended_at IS NULL) = (end_reason IS NULL)))
);

--
-- Name: TABLE shifts; Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON TABLE dispatch.shifts IS 'Periods an assistant was on duty: opened when it goes active, closed when it goes inactive or is disabled (kept by triggers on dispatch.assistants and dispatch.users).';

--
-- Name: COLUMN shifts.end_reason; Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON COLUMN dispatch.shifts.end_reason IS 'inactive (went off duty) | disabled (the account was disabled) | deleted (profile removed).';

--
-- Name: shift_report; Type: VIEW; Schema: dispatch; Owner: -
--

CREATE VIEW dispatch.shift_report AS
 SELECT s.id AS shift_id,
    s.assistant_id,
    s.started_at,
    s.ended_at,
    s.end_reason,
    round((EXTRACT(epoch FROM (COALESCE(s.ended_at, now()) - s.started_at)) / (60)::numeric), 1) AS online_minutes,
    COALESCE(j.on_job_minutes, (0)::numeric) AS on_job_minutes,
    COALESCE(j.jobs, 0) AS jobs
   FROM (dispatch.shifts s
     LEFT JOIN LATERAL ( SELECT round((sum(EXTRACT(epoch FROM (LEAST(COALESCE(r.completed_at, r.canceled_at, now()), COALESCE(s.ended_at, now())) - GREATEST(r.accepted_at, s.started_at)))) / (60)::numeric), 1) AS on_job_minutes,
            (count(*) FILTER (WHERE (r.accepted_at >= s.started_at)))::integer AS jobs
           FROM dispatch.assistance_requests r
          WHERE ((r.assistant_id = s.assistant_id) AND (r.accepted_at IS NOT NULL) AND (r.accepted_at < COALESCE(s.ended_at, now())) AND (COALESCE(r.completed_at, r.canceled_at, now()) > s.started_at))) j ON (true));

--
-- Name: VIEW shift_report; Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON VIEW dispatch.shift_report IS 'One row per shift: online_minutes (start to end, or now while open), on_job_minutes (time between accept and completion/cancellation of the assistant''s jobs within the shift) and jobs (accepted during the shift). Feeds per-assistant utilisation.';

--
-- Name: shifts_id_seq; Type: SEQUENCE; Schema: dispatch; Owner: -
--

ALTER TABLE dispatch.shifts ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME dispatch.shifts_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: supply_demand; Type: VIEW; Schema: dispatch; Owner: -
--

CREATE VIEW dispatch.supply_demand AS
 WITH supply AS (
         SELECT v.h3_r7,
            count(*) AS n
           FROM dispatch.available_assistants v
          GROUP BY v.h3_r7
        ), demand AS (
         SELECT r.pickup_h3_r7 AS h3_r7,
            count(*) AS n
           FROM dispatch.assistance_requests r
          WHERE (r.status = 'requested'::text)
          GROUP BY r.pickup_h3_r7
        )
 SELECT h3_r7,
    to_hex(h3_r7) AS h3_r7_hex,
    COALESCE(supply.n, (0)::bigint) AS idle_assistants,
    COALESCE(demand.n, (0)::bigint) AS open_requests,
    dispatch.surge_multiplier(COALESCE(supply.n, (0)::bigint), COALESCE(demand.n, (0)::bigint)) AS surge_multiplier
   FROM (supply
     FULL JOIN demand USING (h3_r7));

--
-- Name: VIEW supply_demand; Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON VIEW dispatch.supply_demand IS 'Per H3 resolution-7 cell (bigint and hex string): idle assistants of any service type (dispatch.available_assistants), open requests still waiting for an assistant, and the surge multiplier of that cell alone. Cells with neither do not appear.';

--
-- Name: supply_history; Type: TABLE; Schema: dispatch; Owner: -
--

CREATE TABLE dispatch.supply_history (
    hour timestamp with time zone NOT NULL,
    h3_r7 bigint NOT NULL,
    service_type text NOT NULL,
    idle_sum bigint NOT NULL
);

--
-- Name: TABLE supply_history; Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON TABLE dispatch.supply_history IS 'Idle assistants summed over the samples of an hour per H3 r7 cell and service type; divide by dispatch.supply_samples.samples for the hour''s mean.';

--
-- Name: supply_samples; Type: TABLE; Schema: dispatch; Owner: -
--

CREATE TABLE dispatch.supply_samples (
    hour timestamp with time zone NOT NULL,
    samples integer NOT NULL,
    sampled_at timestamp with time zone NOT NULL
);

--
-- Name: TABLE supply_samples; Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON TABLE dispatch.supply_samples IS 'How many samples each hour had (taken by every server process''s time keeper, one per interval across processes); a cell with no idle assistant in a sample has no row in dispatch.supply_history.';

--
-- Name: tariffs; Type: TABLE; Schema: dispatch; Owner: -
--

CREATE TABLE dispatch.tariffs (
    service_type text NOT NULL,
    vehicle_type text NOT NULL,
    base_label text NOT NULL,
    base_fare numeric(12,2) NOT NULL,
    per_km numeric(12,2) NOT NULL,
    currency text DEFAULT 'DZD'::text NOT NULL,
    final_price_on_completion boolean DEFAULT false NOT NULL,
    CONSTRAINT tariffs_base_fare_check CHECK ((base_fare >= (0)::numeric)),
    CONSTRAINT tariffs_per_km_check CHECK ((per_km >= (0)::numeric)),
    CONSTRAINT tariffs_service_type_check CHECK ((service_type = ANY (ARRAY['towing'::text, 'repair'::text]))),
    CONSTRAINT tariffs_vehicle_type_check CHECK ((vehicle_type = ANY (ARRAY['light'::text, 'heavy'::text])))
);

--
-- Name: TABLE tariffs; Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON TABLE dispatch.tariffs IS 'Tariffs per service and vehicle type. Towing: base fare + per-km x pickup-to-dropoff distance. Repair: a callout fee only; the assistant sets the final price on completion (final_price_on_completion).';

--
-- Name: token_buckets; Type: TABLE; Schema: dispatch; Owner: -
--

CREATE TABLE dispatch.token_buckets (
    bucket text NOT NULL,
    tokens double precision NOT NULL,
    refilled_at timestamp with time zone NOT NULL
);

--
-- Name: TABLE token_buckets; Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON TABLE dispatch.token_buckets IS 'Token buckets shared by every server process (dispatch.take_token): the tokens left as of refilled_at. Rows of full buckets carry no information; dispatch/ratelimit.py purges old ones.';

--
-- Name: users; Type: TABLE; Schema: dispatch; Owner: -
--

CREATE TABLE dispatch.users (
    id bigint NOT NULL,
    role text NOT NULL,
    email text,
    phone_number text,
    name text DEFAULT ''::text NOT NULL,
    address text DEFAULT ''::text NOT NULL,
    password_hash text,
    google_sub text,
    email_verified boolean DEFAULT false NOT NULL,
    phone_verified boolean DEFAULT false NOT NULL,
    is_disabled boolean DEFAULT false NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT users_contact_check CHECK (((email IS NOT NULL) OR (phone_number IS NOT NULL))),
    CONSTRAINT users_email_lower_check CHECK ((email = lower(email))),
    CONSTRAINT users_role_check CHECK ((role = ANY (ARRAY['client'::text, 'assistant'::text, 'dispatcher'::text])))
);

--
-- Name: users_id_seq; Type: SEQUENCE; Schema: dispatch; Owner: -
--

ALTER TABLE dispatch.users ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME dispatch.users_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: vehicles_id_seq; Type: SEQUENCE; Schema: dispatch; Owner: -
--

ALTER TABLE dispatch.vehicles ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME dispatch.vehicles_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: zone_tariffs; Type: TABLE; Schema: dispatch; Owner: -
--

CREATE TABLE dispatch.zone_tariffs (
    zone_id bigint NOT NULL,
    service_type text NOT NULL,
    vehicle_type text NOT NULL,
    base_fare numeric(12,2) NOT NULL,
    per_km numeric(12,2) NOT NULL,
    CONSTRAINT zone_tariffs_base_fare_check CHECK ((base_fare >= (0)::numeric)),
    CONSTRAINT zone_tariffs_per_km_check CHECK ((per_km >= (0)::numeric))
);

--
-- Name: TABLE zone_tariffs; Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON TABLE dispatch.zone_tariffs IS 'A zone''s own prices; a (service, vehicle) pair without a row falls back to dispatch.tariffs (whose label, currency and final_price_on_completion always apply).';

--
-- Name: edges; Type: TABLE; Schema: roads; Owner: -
--

CREATE TABLE roads.edges (
    id bigint NOT NULL,
    region_id integer NOT NULL,
    source bigint NOT NULL,
    target bigint NOT NULL,
    cost double precision NOT NULL,
    reverse_cost double precision NOT NULL,
    length_m double precision NOT NULL,
    highway text NOT NULL,
    osm_way bigint NOT NULL,
    main boolean DEFAULT false NOT NULL,
    geom public.geometry(LineString,4326) NOT NULL,
    CONSTRAINT edges_cost_check CHECK (((cost = ('-1'::integer)::double precision) OR ((cost >= (0)::double precision) AND (cost < ('1000000'::numeric)::double precision)))),
    CONSTRAINT edges_direction_check CHECK (((cost >= (0)::double precision) OR (reverse_cost >= (0)::double precision))),
    CONSTRAINT edges_length_m_check CHECK (((length_m >= (0)::double precision) AND (length_m < ('1000000'::numeric)::double precision))),
    CONSTRAINT edges_reverse_cost_check CHECK (((reverse_cost = ('-1'::integer)::double precision) OR ((reverse_cost >= (0)::double precision) AND (reverse_cost < ('1000000'::numeric)::double precision))))
);

--
-- Name: TABLE edges; Type: COMMENT; Schema: roads; Owner: -
--

COMMENT ON TABLE roads.edges IS 'Road graph edges (pgRouting''s shape): a piece of an OSM car way between two vertices, drawn from source to target. main: both ends in the region''s largest strongly connected piece.';

--
-- Name: COLUMN edges.cost; Type: COMMENT; Schema: roads; Owner: -
--

COMMENT ON COLUMN roads.edges.cost IS 'Seconds to drive from source to target at the way''s speed; -1 where one-way forbids it.';

--
-- Name: COLUMN edges.reverse_cost; Type: COMMENT; Schema: roads; Owner: -
--

COMMENT ON COLUMN roads.edges.reverse_cost IS 'Seconds to drive from target to source; -1 where one-way forbids it.';

--
-- Name: edges_id_seq; Type: SEQUENCE; Schema: roads; Owner: -
--

ALTER TABLE roads.edges ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME roads.edges_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: regions; Type: TABLE; Schema: roads; Owner: -
--

CREATE TABLE roads.regions (
    id integer NOT NULL,
    name text NOT NULL,
    source text NOT NULL,
    sha256 text NOT NULL,
    imported_at timestamp with time zone DEFAULT now() NOT NULL,
    edges integer NOT NULL,
    vertices integer NOT NULL,
    area public.geometry(Polygon,4326) NOT NULL,
    area_km2 double precision NOT NULL,
    CONSTRAINT regions_area_km2_check CHECK ((area_km2 >= (0)::double precision)),
    CONSTRAINT regions_edges_check CHECK ((edges >= 0)),
    CONSTRAINT regions_name_check CHECK ((name ~ '^[a-z0-9][a-z0-9_-]{0,39}$'::text)),
    CONSTRAINT regions_vertices_check CHECK ((vertices >= 0))
);

--
-- Name: TABLE regions; Type: COMMENT; Schema: roads; Owner: -
--

COMMENT ON TABLE roads.regions IS 'One imported road graph: its source file, size, and the area it covers (the convex hull of its routable piece). A pickup inside an area, within roads_snap_max_m of its roads, is ranked by travel time.';

--
-- Name: regions_id_seq; Type: SEQUENCE; Schema: roads; Owner: -
--

ALTER TABLE roads.regions ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME roads.regions_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: vertices; Type: TABLE; Schema: roads; Owner: -
--

CREATE TABLE roads.vertices (
    id bigint NOT NULL,
    region_id integer NOT NULL,
    osm_node bigint NOT NULL,
    main boolean DEFAULT false NOT NULL,
    geom public.geometry(Point,4326) NOT NULL
);

--
-- Name: TABLE vertices; Type: COMMENT; Schema: roads; Owner: -
--

COMMENT ON TABLE roads.vertices IS 'Road graph vertices: OSM nodes where car ways meet or end. main: in the region''s largest strongly connected piece, the only one points are snapped to (elsewhere pairs can be unreachable).';

--
-- Name: COLUMN vertices.id; Type: COMMENT; Schema: roads; Owner: -
--

COMMENT ON COLUMN roads.vertices.id IS 'Unique across regions, so regions can be routed together.';

--
-- Name: vertices_id_seq; Type: SEQUENCE; Schema: roads; Owner: -
--

ALTER TABLE roads.vertices ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME roads.vertices_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: position_history_default; Type: TABLE ATTACH; Schema: dispatch; Owner: -
--

ALTER TABLE ONLY dispatch.position_history ATTACH PARTITION dispatch.position_history_default DEFAULT;

--
-- Name: position_history id; Type: DEFAULT; Schema: dispatch; Owner: -
--

ALTER TABLE ONLY dispatch.position_history ALTER COLUMN id SET DEFAULT nextval('dispatch.position_history_seq'::regclass);

--
-- Name: assignment_batches assignment_batches_pkey; Type: CONSTRAINT; Schema: dispatch; Owner: -
--

ALTER TABLE ONLY dispatch.assignment_batches
    ADD CONSTRAINT assignment_batches_pkey PRIMARY KEY (id);

--
-- Name: assignment_decisions assignment_decisions_pkey; Type: CONSTRAINT; Schema: dispatch; Owner: -
--

ALTER TABLE ONLY dispatch.assignment_decisions
    ADD CONSTRAINT assignment_decisions_pkey PRIMARY KEY (batch_id, assistance_id);

--
-- Name: assistance_events assistance_events_pkey; Type: CONSTRAINT; Schema: dispatch; Owner: -
--

ALTER TABLE ONLY dispatch.assistance_events
    ADD CONSTRAINT assistance_events_pkey PRIMARY KEY (id);

--
-- Name: assistance_requests assistance_requests_pkey; Type: CONSTRAINT; Schema: dispatch; Owner: -
--

ALTER TABLE ONLY dispatch.assistance_requests
    ADD CONSTRAINT assistance_requests_pkey PRIMARY KEY (id);

--
-- Name: assistant_activity assistant_activity_pkey; Type: CONSTRAINT; Schema: dispatch; Owner: -
--

ALTER TABLE ONLY dispatch.assistant_activity
    ADD CONSTRAINT assistant_activity_pkey PRIMARY KEY (id);

--
-- Name: assistants assistants_pkey; Type: CONSTRAINT; Schema: dispatch; Owner: -
--

ALTER TABLE ONLY dispatch.assistants
    ADD CONSTRAINT assistants_pkey PRIMARY KEY (user_id);

--
-- Name: bookings bookings_assistance_key; Type: CONSTRAINT; Schema: dispatch; Owner: -
--

ALTER TABLE ONLY dispatch.bookings
    ADD CONSTRAINT bookings_assistance_key UNIQUE (assistance_id);

--
-- Name: bookings bookings_pkey; Type: CONSTRAINT; Schema: dispatch; Owner: -
--

ALTER TABLE ONLY dispatch.bookings
    ADD CONSTRAINT bookings_pkey PRIMARY KEY (id);

--
-- Name: cell_supply cell_supply_pkey; Type: CONSTRAINT; Schema: dispatch; Owner: -
--

ALTER TABLE ONLY dispatch.cell_supply
    ADD CONSTRAINT cell_supply_pkey PRIMARY KEY (h3_r7);

--
-- Name: chat_messages chat_messages_pkey; Type: CONSTRAINT; Schema: dispatch; Owner: -
--

ALTER TABLE ONLY dispatch.chat_messages
    ADD CONSTRAINT chat_messages_pkey PRIMARY KEY (id);

--
-- Name: cost_lines cost_lines_pkey; Type: CONSTRAINT; Schema: dispatch; Owner: -
--

ALTER TABLE ONLY dispatch.cost_lines
    ADD CONSTRAINT cost_lines_pkey PRIMARY KEY (id);

--
-- Name: currencies currencies_pkey; Type: CONSTRAINT; Schema: dispatch; Owner: -
--

ALTER TABLE ONLY dispatch.currencies
    ADD CONSTRAINT currencies_pkey PRIMARY KEY (code);

--
-- Name: event_cursor event_cursor_pkey; Type: CONSTRAINT; Schema: dispatch; Owner: -
--

ALTER TABLE ONLY dispatch.event_cursor
    ADD CONSTRAINT event_cursor_pkey PRIMARY KEY (one);

--
-- Name: fleet_feed fleet_feed_pkey; Type: CONSTRAINT; Schema: dispatch; Owner: -
--

ALTER TABLE ONLY dispatch.fleet_feed
    ADD CONSTRAINT fleet_feed_pkey PRIMARY KEY (only_row);

--
-- Name: invoice_counter invoice_counter_pkey; Type: CONSTRAINT; Schema: dispatch; Owner: -
--

ALTER TABLE ONLY dispatch.invoice_counter
    ADD CONSTRAINT invoice_counter_pkey PRIMARY KEY (only_row);

--
-- Name: invoice_lines invoice_lines_pkey; Type: CONSTRAINT; Schema: dispatch; Owner: -
--

ALTER TABLE ONLY dispatch.invoice_lines
    ADD CONSTRAINT invoice_lines_pkey PRIMARY KEY (invoice_number, "position");

--
-- Name: invoices invoices_assistance_key; Type: CONSTRAINT; Schema: dispatch; Owner: -
--

ALTER TABLE ONLY dispatch.invoices
    ADD CONSTRAINT invoices_assistance_key UNIQUE (assistance_id);

--
-- Name: invoices invoices_pkey; Type: CONSTRAINT; Schema: dispatch; Owner: -
--

ALTER TABLE ONLY dispatch.invoices
    ADD CONSTRAINT invoices_pkey PRIMARY KEY (number);

--
-- Name: offer_rounds offer_rounds_pkey; Type: CONSTRAINT; Schema: dispatch; Owner: -
--

ALTER TABLE ONLY dispatch.offer_rounds
    ADD CONSTRAINT offer_rounds_pkey PRIMARY KEY (assistance_id, round);

--
-- Name: offers offers_pkey; Type: CONSTRAINT; Schema: dispatch; Owner: -
--

ALTER TABLE ONLY dispatch.offers
    ADD CONSTRAINT offers_pkey PRIMARY KEY (assistance_id, assistant_id);

--
-- Name: one_time_codes one_time_codes_pkey; Type: CONSTRAINT; Schema: dispatch; Owner: -
--

ALTER TABLE ONLY dispatch.one_time_codes
    ADD CONSTRAINT one_time_codes_pkey PRIMARY KEY (id);

--
-- Name: outbox outbox_pkey; Type: CONSTRAINT; Schema: dispatch; Owner: -
--

ALTER TABLE ONLY dispatch.outbox
    ADD CONSTRAINT outbox_pkey PRIMARY KEY (id);

--
-- Name: position_history position_history_pkey; Type: CONSTRAINT; Schema: dispatch; Owner: -
--

ALTER TABLE ONLY dispatch.position_history
    ADD CONSTRAINT position_history_pkey PRIMARY KEY (id, recorded_at);

--
-- Name: position_history_default position_history_default_pkey; Type: CONSTRAINT; Schema: dispatch; Owner: -
--

ALTER TABLE ONLY dispatch.position_history_default
    ADD CONSTRAINT position_history_default_pkey PRIMARY KEY (id, recorded_at);

--
-- Name: position_history position_history_user_recorded_key; Type: CONSTRAINT; Schema: dispatch; Owner: -
--

ALTER TABLE ONLY dispatch.position_history
    ADD CONSTRAINT position_history_user_recorded_key UNIQUE (user_id, recorded_at);

--
-- Name: CONSTRAINT position_history_user_recorded_key ON position_history; Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON CONSTRAINT position_history_user_recorded_key ON dispatch.position_history IS 'One point per user and instant: writers insert with ON CONFLICT DO NOTHING, so a retried telematics batch stores nothing new and a tie keeps one point whole. Its index also serves the (user_id, recorded_at DESC) reads, scanned backwards.';

--
-- Name: position_history_default position_history_default_user_id_recorded_at_key; Type: CONSTRAINT; Schema: dispatch; Owner: -
--

ALTER TABLE ONLY dispatch.position_history_default
    ADD CONSTRAINT position_history_default_user_id_recorded_at_key UNIQUE (user_id, recorded_at);

--
-- Name: positions positions_pkey; Type: CONSTRAINT; Schema: dispatch; Owner: -
--

ALTER TABLE ONLY dispatch.positions
    ADD CONSTRAINT positions_pkey PRIMARY KEY (user_id);

--
-- Name: rate_limits rate_limits_pkey; Type: CONSTRAINT; Schema: dispatch; Owner: -
--

ALTER TABLE ONLY dispatch.rate_limits
    ADD CONSTRAINT rate_limits_pkey PRIMARY KEY (bucket);

--
-- Name: ratings ratings_pkey; Type: CONSTRAINT; Schema: dispatch; Owner: -
--

ALTER TABLE ONLY dispatch.ratings
    ADD CONSTRAINT ratings_pkey PRIMARY KEY (assistance_id);

--
-- Name: refresh_tokens refresh_tokens_pkey; Type: CONSTRAINT; Schema: dispatch; Owner: -
--

ALTER TABLE ONLY dispatch.refresh_tokens
    ADD CONSTRAINT refresh_tokens_pkey PRIMARY KEY (id);

--
-- Name: refresh_tokens refresh_tokens_token_hash_key; Type: CONSTRAINT; Schema: dispatch; Owner: -
--

ALTER TABLE ONLY dispatch.refresh_tokens
    ADD CONSTRAINT refresh_tokens_token_hash_key UNIQUE (token_hash);

--
-- Name: service_zones service_zones_name_key; Type: CONSTRAINT; Schema: dispatch; Owner: -
--

ALTER TABLE ONLY dispatch.service_zones
    ADD CONSTRAINT service_zones_name_key UNIQUE (name);

--
-- Name: service_zones service_zones_pkey; Type: CONSTRAINT; Schema: dispatch; Owner: -
--

ALTER TABLE ONLY dispatch.service_zones
    ADD CONSTRAINT service_zones_pkey PRIMARY KEY (id);

--
-- Name: settings settings_pkey; Type: CONSTRAINT; Schema: dispatch; Owner: -
--

ALTER TABLE ONLY dispatch.settings
    ADD CONSTRAINT settings_pkey PRIMARY KEY (key);

--
-- Name: shifts shifts_pkey; Type: CONSTRAINT; Schema: dispatch; Owner: -
--

ALTER TABLE ONLY dispatch.shifts
    ADD CONSTRAINT shifts_pkey PRIMARY KEY (id);

--
-- Name: supply_history supply_history_pkey; Type: CONSTRAINT; Schema: dispatch; Owner: -
--

ALTER TABLE ONLY dispatch.supply_history
    ADD CONSTRAINT supply_history_pkey PRIMARY KEY (hour, h3_r7, service_type);

--
-- Name: supply_samples supply_samples_pkey; Type: CONSTRAINT; Schema: dispatch; Owner: -
--

ALTER TABLE ONLY dispatch.supply_samples
    ADD CONSTRAINT supply_samples_pkey PRIMARY KEY (hour);

--
-- Name: tariffs tariffs_pkey; Type: CONSTRAINT; Schema: dispatch; Owner: -
--

ALTER TABLE ONLY dispatch.tariffs
    ADD CONSTRAINT tariffs_pkey PRIMARY KEY (service_type, vehicle_type);

--
-- Name: token_buckets token_buckets_pkey; Type: CONSTRAINT; Schema: dispatch; Owner: -
--

ALTER TABLE ONLY dispatch.token_buckets
    ADD CONSTRAINT token_buckets_pkey PRIMARY KEY (bucket);

--
-- Name: users users_email_key; Type: CONSTRAINT; Schema: dispatch; Owner: -
--

ALTER TABLE ONLY dispatch.users
    ADD CONSTRAINT users_email_key UNIQUE (email);

--
-- Name: users users_google_sub_key; Type: CONSTRAINT; Schema: dispatch; Owner: -
--

ALTER TABLE ONLY dispatch.users
    ADD CONSTRAINT users_google_sub_key UNIQUE (google_sub);

--
-- Name: users users_phone_number_key; Type: CONSTRAINT; Schema: dispatch; Owner: -
--

ALTER TABLE ONLY dispatch.users
    ADD CONSTRAINT users_phone_number_key UNIQUE (phone_number);

--
-- Name: users users_pkey; Type: CONSTRAINT; Schema: dispatch; Owner: -
--

ALTER TABLE ONLY dispatch.users
    ADD CONSTRAINT users_pkey PRIMARY KEY (id);

--
-- Name: vehicles vehicles_owner_plate_key; Type: CONSTRAINT; Schema: dispatch; Owner: -
--

ALTER TABLE ONLY dispatch.vehicles
    ADD CONSTRAINT vehicles_owner_plate_key UNIQUE (owner_id, license_plate);

--
-- Name: vehicles vehicles_pkey; Type: CONSTRAINT; Schema: dispatch; Owner: -
--

ALTER TABLE ONLY dispatch.vehicles
    ADD CONSTRAINT vehicles_pkey PRIMARY KEY (id);

--
-- Name: zone_tariffs zone_tariffs_pkey; Type: CONSTRAINT; Schema: dispatch; Owner: -
--

ALTER TABLE ONLY dispatch.zone_tariffs
    ADD CONSTRAINT zone_tariffs_pkey PRIMARY KEY (zone_id, service_type, vehicle_type);

--
-- Name: edges edges_pkey; Type: CONSTRAINT; Schema: roads; Owner: -
--

ALTER TABLE ONLY roads.edges
    ADD CONSTRAINT edges_pkey PRIMARY KEY (id);

--
-- Name: regions regions_name_key; Type: CONSTRAINT; Schema: roads; Owner: -
--

ALTER TABLE ONLY roads.regions
    ADD CONSTRAINT regions_name_key UNIQUE (name);

--
-- Name: regions regions_pkey; Type: CONSTRAINT; Schema: roads; Owner: -
--

ALTER TABLE ONLY roads.regions
    ADD CONSTRAINT regions_pkey PRIMARY KEY (id);

--
-- Name: vertices vertices_pkey; Type: CONSTRAINT; Schema: roads; Owner: -
--

ALTER TABLE ONLY roads.vertices
    ADD CONSTRAINT vertices_pkey PRIMARY KEY (id);

--
-- Name: assignment_batches_started_idx; Type: INDEX; Schema: dispatch; Owner: -
--

CREATE INDEX assignment_batches_started_idx ON dispatch.assignment_batches USING btree (started_at);

--
-- Name: assignment_decisions_request_idx; Type: INDEX; Schema: dispatch; Owner: -
--

CREATE INDEX assignment_decisions_request_idx ON dispatch.assignment_decisions USING btree (assistance_id);

--
-- Name: assistance_events_assistance_idx; Type: INDEX; Schema: dispatch; Owner: -
--

CREATE INDEX assistance_events_assistance_idx ON dispatch.assistance_events USING btree (assistance_id, id);

--
-- Name: assistance_events_created_idx; Type: INDEX; Schema: dispatch; Owner: -
--

CREATE INDEX assistance_events_created_idx ON dispatch.assistance_events USING btree (created_at);

--
-- Name: assistance_one_open_per_assistant; Type: INDEX; Schema: dispatch; Owner: -
--

CREATE UNIQUE INDEX assistance_one_open_per_assistant ON dispatch.assistance_requests USING btree (assistant_id) WHERE (status = ANY (ARRAY['accepted'::text, 'ongoing'::text]));

--
-- Name: assistance_one_open_per_client; Type: INDEX; Schema: dispatch; Owner: -
--

CREATE UNIQUE INDEX assistance_one_open_per_client ON dispatch.assistance_requests USING btree (client_id) WHERE (status = ANY (ARRAY['requested'::text, 'accepted'::text, 'ongoing'::text]));

--
-- Name: assistance_requests_arrivals_idx; Type: INDEX; Schema: dispatch; Owner: -
--

CREATE INDEX assistance_requests_arrivals_idx ON dispatch.assistance_requests USING btree (arrivals_checked_at) WHERE searching;

--
-- Name: INDEX assistance_requests_arrivals_idx; Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON INDEX dispatch.assistance_requests_arrivals_idx IS 'The arrival sweep takes searching requests least recently checked first.';

--
-- Name: assistance_requests_assistant_idx; Type: INDEX; Schema: dispatch; Owner: -
--

CREATE INDEX assistance_requests_assistant_idx ON dispatch.assistance_requests USING btree (assistant_id, created_at DESC, id DESC) WHERE (assistant_id IS NOT NULL);

--
-- Name: assistance_requests_client_idx; Type: INDEX; Schema: dispatch; Owner: -
--

CREATE INDEX assistance_requests_client_idx ON dispatch.assistance_requests USING btree (client_id, created_at DESC, id DESC);

--
-- Name: assistance_requests_created_idx; Type: INDEX; Schema: dispatch; Owner: -
--

CREATE INDEX assistance_requests_created_idx ON dispatch.assistance_requests USING btree (created_at DESC, id DESC);

--
-- Name: assistance_requests_eta_idx; Type: INDEX; Schema: dispatch; Owner: -
--

CREATE INDEX assistance_requests_eta_idx ON dispatch.assistance_requests USING btree (eta_at) WHERE (status = 'accepted'::text);

--
-- Name: assistance_requests_idempotency_key; Type: INDEX; Schema: dispatch; Owner: -
--

CREATE UNIQUE INDEX assistance_requests_idempotency_key ON dispatch.assistance_requests USING btree (client_id, idempotency_key) WHERE (idempotency_key IS NOT NULL);

--
-- Name: INDEX assistance_requests_idempotency_key; Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON INDEX dispatch.assistance_requests_idempotency_key IS 'Idempotency keys are unique per client among the requests that have one. Partial, so keyless requests write no entry at insert or at a non-HOT update; named as the constraint it replaced so a race still answers IDEMPOTENCY_KEY_REUSED.';

--
-- Name: assistance_requests_open_cell_idx; Type: INDEX; Schema: dispatch; Owner: -
--

CREATE INDEX assistance_requests_open_cell_idx ON dispatch.assistance_requests USING btree (pickup_h3_r7) WHERE (status = 'requested'::text);

--
-- Name: assistance_requests_queued_idx; Type: INDEX; Schema: dispatch; Owner: -
--

CREATE INDEX assistance_requests_queued_idx ON dispatch.assistance_requests USING btree (service_type, queued_at) WHERE assigning;

--
-- Name: INDEX assistance_requests_queued_idx; Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON INDEX dispatch.assistance_requests_queued_idx IS '"Which requests wait for the next assignment batch, oldest first" (dispatch.assignment_problems).';

--
-- Name: assistance_requests_round_due_idx; Type: INDEX; Schema: dispatch; Owner: -
--

CREATE INDEX assistance_requests_round_due_idx ON dispatch.assistance_requests USING btree (round_ends_at) WHERE searching;

--
-- Name: INDEX assistance_requests_round_due_idx; Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON INDEX dispatch.assistance_requests_round_due_idx IS 'The round driver''s queue: searching requests by the end of their round.';

--
-- Name: assistant_activity_assistant_idx; Type: INDEX; Schema: dispatch; Owner: -
--

CREATE INDEX assistant_activity_assistant_idx ON dispatch.assistant_activity USING btree (assistant_id, at);

--
-- Name: assistants_active_idx; Type: INDEX; Schema: dispatch; Owner: -
--

CREATE INDEX assistants_active_idx ON dispatch.assistants USING btree (service_type) WHERE is_active;

--
-- Name: bookings_client_idx; Type: INDEX; Schema: dispatch; Owner: -
--

CREATE INDEX bookings_client_idx ON dispatch.bookings USING btree (client_id, scheduled_for DESC, id DESC);

--
-- Name: bookings_due_idx; Type: INDEX; Schema: dispatch; Owner: -
--

CREATE INDEX bookings_due_idx ON dispatch.bookings USING btree (scheduled_for, id) WHERE (status = 'scheduled'::text);

--
-- Name: INDEX bookings_due_idx; Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON INDEX dispatch.bookings_due_idx IS 'The activator''s queue: only scheduled rows, in due order.';

--
-- Name: bookings_vehicle_idx; Type: INDEX; Schema: dispatch; Owner: -
--

CREATE INDEX bookings_vehicle_idx ON dispatch.bookings USING btree (vehicle_id) WHERE (vehicle_id IS NOT NULL);

--
-- Name: INDEX bookings_vehicle_idx; Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON INDEX dispatch.bookings_vehicle_idx IS 'Bookings of a vehicle, for bookings_vehicle_fkey (ON DELETE SET NULL) and dispatch.delete_vehicle.';

--
-- Name: chat_messages_assistance_id_idx; Type: INDEX; Schema: dispatch; Owner: -
--

CREATE INDEX chat_messages_assistance_id_idx ON dispatch.chat_messages USING btree (assistance_id, id DESC);

--
-- Name: INDEX chat_messages_assistance_id_idx; Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON INDEX dispatch.chat_messages_assistance_id_idx IS 'Chat history pages are keyset pages on the message id.';

--
-- Name: chat_messages_assistance_idx; Type: INDEX; Schema: dispatch; Owner: -
--

CREATE INDEX chat_messages_assistance_idx ON dispatch.chat_messages USING btree (assistance_id, sent_at);

--
-- Name: cost_lines_assistance_idx; Type: INDEX; Schema: dispatch; Owner: -
--

CREATE INDEX cost_lines_assistance_idx ON dispatch.cost_lines USING btree (assistance_id, id);

--
-- Name: event_log_seq_key; Type: INDEX; Schema: dispatch; Owner: -
--

CREATE UNIQUE INDEX event_log_seq_key ON dispatch.event_log USING btree (seq) WHERE (seq IS NOT NULL);

--
-- Name: INDEX event_log_seq_key; Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON INDEX dispatch.event_log_seq_key IS 'seq is unique among published batches. Partial: unpublished NULLs would be indexed for nothing, and every read by seq (catch-up, replay, pruning) implies seq IS NOT NULL. Pruning walks it in seq order too, so created_at has no index.';

--
-- Name: event_log_topics_idx; Type: INDEX; Schema: dispatch; Owner: -
--

CREATE INDEX event_log_topics_idx ON dispatch.event_log USING gin (topics) WITH (fastupdate='on', gin_pending_list_limit='256') WHERE (seq IS NOT NULL);

--
-- Name: INDEX event_log_topics_idx; Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON INDEX dispatch.event_log_topics_idx IS 'Replay of one topic (?since=) finds its batches through the topics they hold. Partial on seq, so its entries are written by the publisher when it numbers a batch, never by a request. With a pending list (fastupdate) the entries are appended and merged in bulk (past 256 kB or by autovacuum) instead of rewriting posting lists one topic at a time: half the WAL of a request + cancel.';

--
-- Name: event_log_unpublished_idx; Type: INDEX; Schema: dispatch; Owner: -
--

CREATE INDEX event_log_unpublished_idx ON dispatch.event_log USING btree (id) WHERE (seq IS NULL);

--
-- Name: INDEX event_log_unpublished_idx; Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON INDEX dispatch.event_log_unpublished_idx IS 'The publisher''s work list: small, since rows leave it within milliseconds.';

--
-- Name: offers_assistant_expiry_idx; Type: INDEX; Schema: dispatch; Owner: -
--

CREATE INDEX offers_assistant_expiry_idx ON dispatch.offers USING btree (assistant_id, expires_at);

--
-- Name: INDEX offers_assistant_expiry_idx; Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON INDEX dispatch.offers_assistant_expiry_idx IS '"Is this assistant offered something now" (dispatch.assistant_state, the dispatchers'' list, dispatch.assistant_utilisation): the assistant''s offers that have not expired. Holds no state, so closing an offer stays a HOT update.';

--
-- Name: offers_exclusive_idx; Type: INDEX; Schema: dispatch; Owner: -
--

CREATE INDEX offers_exclusive_idx ON dispatch.offers USING btree (assistant_id, expires_at) WHERE (batch_id IS NOT NULL);

--
-- Name: INDEX offers_exclusive_idx; Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON INDEX dispatch.offers_exclusive_idx IS 'The exclusive offers of assignment batches by assistant (matching''s "holds an open exclusive offer" test): empty under the rounds policy, one entry per batch offer otherwise. Partial on batch_id, which is set at insert and never changes, so closing an offer stays a HOT update.';

--
-- Name: offers_expiry_idx; Type: INDEX; Schema: dispatch; Owner: -
--

CREATE INDEX offers_expiry_idx ON dispatch.offers USING btree (expires_at);

--
-- Name: INDEX offers_expiry_idx; Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON INDEX dispatch.offers_expiry_idx IS '"Who is offered something now" (the fleet feed): the offers that have not expired, a live round''s, a few per assistant. Holds no state, so closing an offer stays a HOT update.';

--
-- Name: one_time_codes_live_key; Type: INDEX; Schema: dispatch; Owner: -
--

CREATE UNIQUE INDEX one_time_codes_live_key ON dispatch.one_time_codes USING btree (user_id, purpose) WHERE (consumed_at IS NULL);

--
-- Name: outbox_pending_idx; Type: INDEX; Schema: dispatch; Owner: -
--

CREATE INDEX outbox_pending_idx ON dispatch.outbox USING btree (id) WHERE (sent_at IS NULL);

--
-- Name: position_history_recorded_idx; Type: INDEX; Schema: dispatch; Owner: -
--

CREATE INDEX position_history_recorded_idx ON ONLY dispatch.position_history USING btree (recorded_at);

--
-- Name: position_history_default_recorded_at_idx; Type: INDEX; Schema: dispatch; Owner: -
--

CREATE INDEX position_history_default_recorded_at_idx ON dispatch.position_history_default USING btree (recorded_at);

--
-- Name: positions_geog_idx; Type: INDEX; Schema: dispatch; Owner: -
--

CREATE INDEX positions_geog_idx ON dispatch.positions USING gist (geog);

--
-- Name: positions_matchable_geog_idx; Type: INDEX; Schema: dispatch; Owner: -
--

CREATE INDEX positions_matchable_geog_idx ON dispatch.positions USING gist (geog) WHERE matchable;

--
-- Name: INDEX positions_matchable_geog_idx; Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON INDEX dispatch.positions_matchable_geog_idx IS 'KNN matching over matchable positions only: skips the ~70% of positions that could never be offered a job (clients, inactive or busy assistants).';

--
-- Name: ratings_assistant_idx; Type: INDEX; Schema: dispatch; Owner: -
--

CREATE INDEX ratings_assistant_idx ON dispatch.ratings USING btree (assistant_id);

--
-- Name: refresh_tokens_family_idx; Type: INDEX; Schema: dispatch; Owner: -
--

CREATE INDEX refresh_tokens_family_idx ON dispatch.refresh_tokens USING btree (family_id);

--
-- Name: refresh_tokens_live_user_idx; Type: INDEX; Schema: dispatch; Owner: -
--

CREATE INDEX refresh_tokens_live_user_idx ON dispatch.refresh_tokens USING btree (user_id) WHERE (revoked_at IS NULL);

--
-- Name: service_zones_geom_idx; Type: INDEX; Schema: dispatch; Owner: -
--

CREATE INDEX service_zones_geom_idx ON dispatch.service_zones USING gist (geom);

--
-- Name: shifts_assistant_idx; Type: INDEX; Schema: dispatch; Owner: -
--

CREATE INDEX shifts_assistant_idx ON dispatch.shifts USING btree (assistant_id, started_at DESC);

--
-- Name: shifts_one_open; Type: INDEX; Schema: dispatch; Owner: -
--

CREATE UNIQUE INDEX shifts_one_open ON dispatch.shifts USING btree (assistant_id) WHERE (ended_at IS NULL);

--
-- Name: edges_geom_idx; Type: INDEX; Schema: roads; Owner: -
--

CREATE INDEX edges_geom_idx ON roads.edges USING gist (geom) WHERE main;

--
-- Name: edges_region_idx; Type: INDEX; Schema: roads; Owner: -
--

CREATE INDEX edges_region_idx ON roads.edges USING btree (region_id);

--
-- Name: edges_source_idx; Type: INDEX; Schema: roads; Owner: -
--

CREATE INDEX edges_source_idx ON roads.edges USING btree (source);

--
-- Name: edges_target_idx; Type: INDEX; Schema: roads; Owner: -
--

CREATE INDEX edges_target_idx ON roads.edges USING btree (target);

--
-- Name: regions_area_idx; Type: INDEX; Schema: roads; Owner: -
--

CREATE INDEX regions_area_idx ON roads.regions USING gist (area);

--
-- Name: vertices_region_idx; Type: INDEX; Schema: roads; Owner: -
--

CREATE INDEX vertices_region_idx ON roads.vertices USING btree (region_id);

--
-- Name: position_history_default_pkey; Type: INDEX ATTACH; Schema: dispatch; Owner: -
--

ALTER INDEX dispatch.position_history_pkey ATTACH PARTITION dispatch.position_history_default_pkey;

--
-- Name: position_history_default_recorded_at_idx; Type: INDEX ATTACH; Schema: dispatch; Owner: -
--

ALTER INDEX dispatch.position_history_recorded_idx ATTACH PARTITION dispatch.position_history_default_recorded_at_idx;

--
-- Name: position_history_default_user_id_recorded_at_key; Type: INDEX ATTACH; Schema: dispatch; Owner: -
--

ALTER INDEX dispatch.position_history_user_recorded_key ATTACH PARTITION dispatch.position_history_default_user_id_recorded_at_key;

--
-- Name: assistance_requests assistance_delete_offers; Type: TRIGGER; Schema: dispatch; Owner: -
--

CREATE TRIGGER assistance_delete_offers AFTER DELETE ON dispatch.assistance_requests REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION dispatch.offers_of_deleted_requests();

--
-- Name: TRIGGER assistance_delete_offers ON assistance_requests; Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON TRIGGER assistance_delete_offers ON dispatch.assistance_requests IS 'The ON DELETE CASCADE of the foreign key dispatch.offers does not have.';

--
-- Name: assistance_requests assistance_matchable_delete; Type: TRIGGER; Schema: dispatch; Owner: -
--

CREATE TRIGGER assistance_matchable_delete AFTER DELETE ON dispatch.assistance_requests REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION dispatch.matchable_from_deleted_jobs();

--
-- Name: assistance_requests assistance_matchable_insert; Type: TRIGGER; Schema: dispatch; Owner: -
--

CREATE TRIGGER assistance_matchable_insert AFTER INSERT ON dispatch.assistance_requests FOR EACH ROW WHEN ((new.assistant_id IS NOT NULL)) EXECUTE FUNCTION dispatch.matchable_from_job();

--
-- Name: TRIGGER assistance_matchable_insert ON assistance_requests; Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON TRIGGER assistance_matchable_insert ON dispatch.assistance_requests IS 'A row trigger with a WHEN clause, not a statement trigger over transition tables: a new request has no assistant, so the function is not even called for it.';

--
-- Name: assistance_requests assistance_matchable_update; Type: TRIGGER; Schema: dispatch; Owner: -
--

CREATE TRIGGER assistance_matchable_update AFTER UPDATE OF status, assistant_id ON dispatch.assistance_requests FOR EACH ROW WHEN ((((old.assistant_id IS NOT NULL) OR (new.assistant_id IS NOT NULL)) AND ((old.status IS DISTINCT FROM new.status) OR (old.assistant_id IS DISTINCT FROM new.assistant_id)))) EXECUTE FUNCTION dispatch.matchable_from_job();

--
-- Name: TRIGGER assistance_matchable_update ON assistance_requests; Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON TRIGGER assistance_matchable_update ON dispatch.assistance_requests IS 'Called only when a job''s status or assignment changes and it has an assistant: a round''s bookkeeping or a cancel before anyone accepted changes nobody''s job.';

--
-- Name: assistance_requests assistance_stop_search; Type: TRIGGER; Schema: dispatch; Owner: -
--

CREATE TRIGGER assistance_stop_search BEFORE UPDATE OF status ON dispatch.assistance_requests FOR EACH ROW WHEN (((old.status = 'requested'::text) AND (new.status <> 'requested'::text))) EXECUTE FUNCTION dispatch.requests_stop_search();

--
-- Name: assistance_requests assistance_truncate_offers; Type: TRIGGER; Schema: dispatch; Owner: -
--

CREATE TRIGGER assistance_truncate_offers AFTER TRUNCATE ON dispatch.assistance_requests FOR EACH STATEMENT EXECUTE FUNCTION dispatch.offers_truncated();

--
-- Name: assistance_requests assistance_withdraw_offers; Type: TRIGGER; Schema: dispatch; Owner: -
--

CREATE TRIGGER assistance_withdraw_offers AFTER UPDATE OF status ON dispatch.assistance_requests FOR EACH ROW WHEN (((old.status = 'requested'::text) AND (new.status <> 'requested'::text))) EXECUTE FUNCTION dispatch.requests_withdraw_offers();

--
-- Name: assistants assistants_matchable_insert; Type: TRIGGER; Schema: dispatch; Owner: -
--

CREATE TRIGGER assistants_matchable_insert AFTER INSERT ON dispatch.assistants REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION dispatch.matchable_from_new_rows();

--
-- Name: assistants assistants_matchable_update; Type: TRIGGER; Schema: dispatch; Owner: -
--

CREATE TRIGGER assistants_matchable_update AFTER UPDATE ON dispatch.assistants REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION dispatch.matchable_from_new_rows();

--
-- Name: assistants assistants_shifts_delete; Type: TRIGGER; Schema: dispatch; Owner: -
--

CREATE TRIGGER assistants_shifts_delete AFTER DELETE ON dispatch.assistants REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION dispatch.shifts_from_assistants();

--
-- Name: assistants assistants_shifts_insert; Type: TRIGGER; Schema: dispatch; Owner: -
--

CREATE TRIGGER assistants_shifts_insert AFTER INSERT ON dispatch.assistants REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION dispatch.shifts_from_assistants();

--
-- Name: assistants assistants_shifts_update; Type: TRIGGER; Schema: dispatch; Owner: -
--

CREATE TRIGGER assistants_shifts_update AFTER UPDATE ON dispatch.assistants REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION dispatch.shifts_from_assistants();

--
-- Name: assistants assistants_track_activity; Type: TRIGGER; Schema: dispatch; Owner: -
--

CREATE TRIGGER assistants_track_activity AFTER INSERT OR UPDATE OF is_active ON dispatch.assistants FOR EACH ROW EXECUTE FUNCTION dispatch.track_assistant_activity();

--
-- Name: offers offers_final_guard; Type: TRIGGER; Schema: dispatch; Owner: -
--

CREATE TRIGGER offers_final_guard BEFORE UPDATE ON dispatch.offers FOR EACH ROW WHEN ((old.state <> 'open'::text)) EXECUTE FUNCTION dispatch.offers_final_guard();

--
-- Name: TRIGGER offers_final_guard ON offers; Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON TRIGGER offers_final_guard ON dispatch.offers IS 'Runs only for an offer already closed: the WHEN condition is checked without calling the function, so closing ten open offers (a round''s end, a cancel) runs no plpgsql at all.';

--
-- Name: positions positions_cell_supply_delete; Type: TRIGGER; Schema: dispatch; Owner: -
--

CREATE TRIGGER positions_cell_supply_delete AFTER DELETE ON dispatch.positions REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION dispatch.cell_supply_from_positions();

--
-- Name: positions positions_cell_supply_insert; Type: TRIGGER; Schema: dispatch; Owner: -
--

CREATE TRIGGER positions_cell_supply_insert AFTER INSERT ON dispatch.positions REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION dispatch.cell_supply_from_positions();

--
-- Name: positions positions_cell_supply_update; Type: TRIGGER; Schema: dispatch; Owner: -
--

CREATE TRIGGER positions_cell_supply_update AFTER UPDATE ON dispatch.positions REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION dispatch.cell_supply_from_positions();

--
-- Name: positions positions_matchable; Type: TRIGGER; Schema: dispatch; Owner: -
--

CREATE TRIGGER positions_matchable AFTER INSERT ON dispatch.positions REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION dispatch.matchable_from_new_rows();

--
-- Name: refresh_tokens refresh_tokens_announce_revoked; Type: TRIGGER; Schema: dispatch; Owner: -
--

CREATE TRIGGER refresh_tokens_announce_revoked AFTER UPDATE ON dispatch.refresh_tokens REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION dispatch.announce_revoked_sessions();

--
-- Name: users users_announce_deleted; Type: TRIGGER; Schema: dispatch; Owner: -
--

CREATE TRIGGER users_announce_deleted AFTER DELETE ON dispatch.users REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION dispatch.announce_deleted_users();

--
-- Name: users users_announce_disabled; Type: TRIGGER; Schema: dispatch; Owner: -
--

CREATE TRIGGER users_announce_disabled AFTER UPDATE ON dispatch.users REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION dispatch.announce_revoked_users();

--
-- Name: users users_delete_offers; Type: TRIGGER; Schema: dispatch; Owner: -
--

CREATE TRIGGER users_delete_offers AFTER DELETE ON dispatch.users REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION dispatch.offers_of_deleted_users();

--
-- Name: TRIGGER users_delete_offers ON users; Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON TRIGGER users_delete_offers ON dispatch.users IS 'The ON DELETE CASCADE of the foreign key dispatch.offers does not have.';

--
-- Name: users users_matchable; Type: TRIGGER; Schema: dispatch; Owner: -
--

CREATE TRIGGER users_matchable AFTER UPDATE ON dispatch.users REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION dispatch.matchable_from_users();

--
-- Name: users users_shifts; Type: TRIGGER; Schema: dispatch; Owner: -
--

CREATE TRIGGER users_shifts AFTER UPDATE ON dispatch.users REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION dispatch.shifts_from_users();

--
-- Name: users users_truncate_offers; Type: TRIGGER; Schema: dispatch; Owner: -
--

CREATE TRIGGER users_truncate_offers AFTER TRUNCATE ON dispatch.users FOR EACH STATEMENT EXECUTE FUNCTION dispatch.offers_truncated();

--
-- Name: assignment_decisions assignment_decisions_assistance_id_fkey; Type: FK CONSTRAINT; Schema: dispatch; Owner: -
--

ALTER TABLE ONLY dispatch.assignment_decisions
    ADD CONSTRAINT assignment_decisions_assistance_id_fkey FOREIGN KEY (assistance_id) REFERENCES dispatch.assistance_requests(id) ON DELETE CASCADE;

--
-- Name: assignment_decisions assignment_decisions_batch_id_fkey; Type: FK CONSTRAINT; Schema: dispatch; Owner: -
--

ALTER TABLE ONLY dispatch.assignment_decisions
    ADD CONSTRAINT assignment_decisions_batch_id_fkey FOREIGN KEY (batch_id) REFERENCES dispatch.assignment_batches(id) ON DELETE CASCADE;

--
-- Name: assistance_events assistance_events_actor_id_fkey; Type: FK CONSTRAINT; Schema: dispatch; Owner: -
--

ALTER TABLE ONLY dispatch.assistance_events
    ADD CONSTRAINT assistance_events_actor_id_fkey FOREIGN KEY (actor_id) REFERENCES dispatch.users(id);

--
-- Name: assistance_events assistance_events_assistance_id_fkey; Type: FK CONSTRAINT; Schema: dispatch; Owner: -
--

ALTER TABLE ONLY dispatch.assistance_events
    ADD CONSTRAINT assistance_events_assistance_id_fkey FOREIGN KEY (assistance_id) REFERENCES dispatch.assistance_requests(id) ON DELETE CASCADE;

--
-- Name: assistance_requests assistance_requests_assistant_id_fkey; Type: FK CONSTRAINT; Schema: dispatch; Owner: -
--

ALTER TABLE ONLY dispatch.assistance_requests
    ADD CONSTRAINT assistance_requests_assistant_id_fkey FOREIGN KEY (assistant_id) REFERENCES dispatch.users(id);

--
-- Name: assistance_requests assistance_requests_client_id_fkey; Type: FK CONSTRAINT; Schema: dispatch; Owner: -
--

ALTER TABLE ONLY dispatch.assistance_requests
    ADD CONSTRAINT assistance_requests_client_id_fkey FOREIGN KEY (client_id) REFERENCES dispatch.users(id);

--
-- Name: assistant_activity assistant_activity_assistant_id_fkey; Type: FK CONSTRAINT; Schema: dispatch; Owner: -
--

ALTER TABLE ONLY dispatch.assistant_activity
    ADD CONSTRAINT assistant_activity_assistant_id_fkey FOREIGN KEY (assistant_id) REFERENCES dispatch.users(id) ON DELETE CASCADE;

--
-- Name: assistants assistants_user_id_fkey; Type: FK CONSTRAINT; Schema: dispatch; Owner: -
--

ALTER TABLE ONLY dispatch.assistants
    ADD CONSTRAINT assistants_user_id_fkey FOREIGN KEY (user_id) REFERENCES dispatch.users(id) ON DELETE CASCADE;

--
-- Name: bookings bookings_assistance_id_fkey; Type: FK CONSTRAINT; Schema: dispatch; Owner: -
--

ALTER TABLE ONLY dispatch.bookings
    ADD CONSTRAINT bookings_assistance_id_fkey FOREIGN KEY (assistance_id) REFERENCES dispatch.assistance_requests(id) ON DELETE SET NULL;

--
-- Name: bookings bookings_client_id_fkey; Type: FK CONSTRAINT; Schema: dispatch; Owner: -
--

ALTER TABLE ONLY dispatch.bookings
    ADD CONSTRAINT bookings_client_id_fkey FOREIGN KEY (client_id) REFERENCES dispatch.users(id) ON DELETE CASCADE;

--
-- Name: bookings bookings_vehicle_fkey; Type: FK CONSTRAINT; Schema: dispatch; Owner: -
--

ALTER TABLE ONLY dispatch.bookings
    ADD CONSTRAINT bookings_vehicle_fkey FOREIGN KEY (vehicle_id) REFERENCES dispatch.vehicles(id) ON DELETE SET NULL;

--
-- Name: CONSTRAINT bookings_vehicle_fkey ON bookings; Type: COMMENT; Schema: dispatch; Owner: -
--

COMMENT ON CONSTRAINT bookings_vehicle_fkey ON dispatch.bookings IS 'SET NULL: a finished booking (converted into a finished job, failed, canceled) keeps its vehicle_type and forgets a deleted vehicle; dispatch.delete_vehicle refuses the delete while the booking is open, so no open booking loses its vehicle.';

--
-- Name: chat_messages chat_messages_assistance_id_fkey; Type: FK CONSTRAINT; Schema: dispatch; Owner: -
--

ALTER TABLE ONLY dispatch.chat_messages
    ADD CONSTRAINT chat_messages_assistance_id_fkey FOREIGN KEY (assistance_id) REFERENCES dispatch.assistance_requests(id) ON DELETE CASCADE;

--
-- Name: chat_messages chat_messages_sender_id_fkey; Type: FK CONSTRAINT; Schema: dispatch; Owner: -
--

ALTER TABLE ONLY dispatch.chat_messages
    ADD CONSTRAINT chat_messages_sender_id_fkey FOREIGN KEY (sender_id) REFERENCES dispatch.users(id) ON DELETE CASCADE;

--
-- Name: cost_lines cost_lines_added_by_fkey; Type: FK CONSTRAINT; Schema: dispatch; Owner: -
--

ALTER TABLE ONLY dispatch.cost_lines
    ADD CONSTRAINT cost_lines_added_by_fkey FOREIGN KEY (added_by) REFERENCES dispatch.users(id);

--
-- Name: cost_lines cost_lines_assistance_id_fkey; Type: FK CONSTRAINT; Schema: dispatch; Owner: -
--

ALTER TABLE ONLY dispatch.cost_lines
    ADD CONSTRAINT cost_lines_assistance_id_fkey FOREIGN KEY (assistance_id) REFERENCES dispatch.assistance_requests(id) ON DELETE CASCADE;

--
-- Name: invoice_lines invoice_lines_invoice_number_fkey; Type: FK CONSTRAINT; Schema: dispatch; Owner: -
--

ALTER TABLE ONLY dispatch.invoice_lines
    ADD CONSTRAINT invoice_lines_invoice_number_fkey FOREIGN KEY (invoice_number) REFERENCES dispatch.invoices(number) ON DELETE CASCADE;

--
-- Name: invoices invoices_assistance_id_fkey; Type: FK CONSTRAINT; Schema: dispatch; Owner: -
--

ALTER TABLE ONLY dispatch.invoices
    ADD CONSTRAINT invoices_assistance_id_fkey FOREIGN KEY (assistance_id) REFERENCES dispatch.assistance_requests(id) ON DELETE RESTRICT;

--
-- Name: invoices invoices_currency_fkey; Type: FK CONSTRAINT; Schema: dispatch; Owner: -
--

ALTER TABLE ONLY dispatch.invoices
    ADD CONSTRAINT invoices_currency_fkey FOREIGN KEY (currency) REFERENCES dispatch.currencies(code);

--
-- Name: offer_rounds offer_rounds_assistance_id_fkey; Type: FK CONSTRAINT; Schema: dispatch; Owner: -
--

ALTER TABLE ONLY dispatch.offer_rounds
    ADD CONSTRAINT offer_rounds_assistance_id_fkey FOREIGN KEY (assistance_id) REFERENCES dispatch.assistance_requests(id) ON DELETE CASCADE;

--
-- Name: one_time_codes one_time_codes_user_id_fkey; Type: FK CONSTRAINT; Schema: dispatch; Owner: -
--

ALTER TABLE ONLY dispatch.one_time_codes
    ADD CONSTRAINT one_time_codes_user_id_fkey FOREIGN KEY (user_id) REFERENCES dispatch.users(id) ON DELETE CASCADE;

--
-- Name: outbox outbox_user_id_fkey; Type: FK CONSTRAINT; Schema: dispatch; Owner: -
--

ALTER TABLE ONLY dispatch.outbox
    ADD CONSTRAINT outbox_user_id_fkey FOREIGN KEY (user_id) REFERENCES dispatch.users(id) ON DELETE SET NULL;

--
-- Name: position_history position_history_user_id_fkey; Type: FK CONSTRAINT; Schema: dispatch; Owner: -
--

ALTER TABLE dispatch.position_history
    ADD CONSTRAINT position_history_user_id_fkey FOREIGN KEY (user_id) REFERENCES dispatch.users(id) ON DELETE CASCADE;

--
-- Name: positions positions_user_id_fkey; Type: FK CONSTRAINT; Schema: dispatch; Owner: -
--

ALTER TABLE ONLY dispatch.positions
    ADD CONSTRAINT positions_user_id_fkey FOREIGN KEY (user_id) REFERENCES dispatch.users(id) ON DELETE CASCADE;

--
-- Name: ratings ratings_assistance_id_fkey; Type: FK CONSTRAINT; Schema: dispatch; Owner: -
--

ALTER TABLE ONLY dispatch.ratings
    ADD CONSTRAINT ratings_assistance_id_fkey FOREIGN KEY (assistance_id) REFERENCES dispatch.assistance_requests(id) ON DELETE CASCADE;

--
-- Name: ratings ratings_assistant_id_fkey; Type: FK CONSTRAINT; Schema: dispatch; Owner: -
--

ALTER TABLE ONLY dispatch.ratings
    ADD CONSTRAINT ratings_assistant_id_fkey FOREIGN KEY (assistant_id) REFERENCES dispatch.users(id);

--
-- Name: ratings ratings_client_id_fkey; Type: FK CONSTRAINT; Schema: dispatch; Owner: -
--

ALTER TABLE ONLY dispatch.ratings
    ADD CONSTRAINT ratings_client_id_fkey FOREIGN KEY (client_id) REFERENCES dispatch.users(id);

--
-- Name: refresh_tokens refresh_tokens_user_id_fkey; Type: FK CONSTRAINT; Schema: dispatch; Owner: -
--

ALTER TABLE ONLY dispatch.refresh_tokens
    ADD CONSTRAINT refresh_tokens_user_id_fkey FOREIGN KEY (user_id) REFERENCES dispatch.users(id) ON DELETE CASCADE;

--
-- Name: shifts shifts_assistant_id_fkey; Type: FK CONSTRAINT; Schema: dispatch; Owner: -
--

ALTER TABLE ONLY dispatch.shifts
    ADD CONSTRAINT shifts_assistant_id_fkey FOREIGN KEY (assistant_id) REFERENCES dispatch.users(id) ON DELETE CASCADE;

--
-- Name: vehicles vehicles_owner_id_fkey; Type: FK CONSTRAINT; Schema: dispatch; Owner: -
--

ALTER TABLE ONLY dispatch.vehicles
    ADD CONSTRAINT vehicles_owner_id_fkey FOREIGN KEY (owner_id) REFERENCES dispatch.users(id) ON DELETE CASCADE;

--
-- Name: zone_tariffs zone_tariffs_pair_fkey; Type: FK CONSTRAINT; Schema: dispatch; Owner: -
--

ALTER TABLE ONLY dispatch.zone_tariffs
    ADD CONSTRAINT zone_tariffs_pair_fkey FOREIGN KEY (service_type, vehicle_type) REFERENCES dispatch.tariffs(service_type, vehicle_type);

--
-- Name: zone_tariffs zone_tariffs_zone_id_fkey; Type: FK CONSTRAINT; Schema: dispatch; Owner: -
--

ALTER TABLE ONLY dispatch.zone_tariffs
    ADD CONSTRAINT zone_tariffs_zone_id_fkey FOREIGN KEY (zone_id) REFERENCES dispatch.service_zones(id) ON DELETE CASCADE;

--
-- Name: edges edges_region_id_fkey; Type: FK CONSTRAINT; Schema: roads; Owner: -
--

ALTER TABLE ONLY roads.edges
    ADD CONSTRAINT edges_region_id_fkey FOREIGN KEY (region_id) REFERENCES roads.regions(id) ON DELETE CASCADE;

--
-- Name: edges edges_source_fkey; Type: FK CONSTRAINT; Schema: roads; Owner: -
--

ALTER TABLE ONLY roads.edges
    ADD CONSTRAINT edges_source_fkey FOREIGN KEY (source) REFERENCES roads.vertices(id) ON DELETE CASCADE;

--
-- Name: edges edges_target_fkey; Type: FK CONSTRAINT; Schema: roads; Owner: -
--

ALTER TABLE ONLY roads.edges
    ADD CONSTRAINT edges_target_fkey FOREIGN KEY (target) REFERENCES roads.vertices(id) ON DELETE CASCADE;

--
-- Name: vertices vertices_region_id_fkey; Type: FK CONSTRAINT; Schema: roads; Owner: -
--

ALTER TABLE ONLY roads.vertices
    ADD CONSTRAINT vertices_region_id_fkey FOREIGN KEY (region_id) REFERENCES roads.regions(id) ON DELETE CASCADE;

--
-- PostgreSQL database dump complete
--
