-- Scheduled bookings: made by clients for later, turned into assistance requests exactly once
-- when due, and the hourly availability that helps choose a time.

CREATE OR REPLACE FUNCTION dispatch.booking_json(booking dispatch.bookings)
RETURNS jsonb
LANGUAGE plpgsql
STABLE
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
COMMENT ON FUNCTION dispatch.booking_json(dispatch.bookings) IS
    'The API''s booking object for a dispatch.bookings row.';

CREATE OR REPLACE FUNCTION dispatch.create_booking(
    client_id bigint,
    pickup_lat double precision,
    pickup_lng double precision,
    pickup_cell_r7 bigint,
    neighbour_cells_r7 bigint[],
    scheduled_for timestamptz,
    dropoff_lat double precision DEFAULT NULL,
    dropoff_lng double precision DEFAULT NULL,
    service_type text DEFAULT 'towing',
    vehicle_type text DEFAULT 'light',
    vehicle_id bigint DEFAULT NULL,
    description text DEFAULT ''
)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
AS $$
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
$$;
COMMENT ON FUNCTION dispatch.create_booking(bigint, double precision, double precision, bigint,
    bigint[], timestamptz, double precision, double precision, text, text, bigint, text) IS
    'A client books assistance for later. scheduled_for must be between booking_min_ahead_s '
    'seconds and booking_max_ahead_days days ahead (DP030); vehicle_id must be the client''s own '
    '(DP031) and gives the vehicle type; DP008 for non-clients. Returns the booking object.';

CREATE OR REPLACE FUNCTION dispatch.list_bookings(
    user_id bigint,
    status text DEFAULT NULL,
    page_size integer DEFAULT 20,
    page_offset integer DEFAULT 0
)
RETURNS jsonb
LANGUAGE plpgsql
STABLE
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
COMMENT ON FUNCTION dispatch.list_bookings(bigint, text, integer, integer) IS
    'The bookings a user may see (a client''s own, every one for a dispatcher), latest '
    'scheduled_for first, as a JSON array of booking objects.';

CREATE OR REPLACE FUNCTION dispatch.cancel_booking(booking_id bigint, client_id bigint)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
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
COMMENT ON FUNCTION dispatch.cancel_booking(bigint, bigint) IS
    'The client cancels a scheduled booking. DP032 unknown or another client''s booking, DP033 '
    'no longer scheduled (converted, failed or canceled; its status and assistance_id in DETAIL).';

CREATE OR REPLACE FUNCTION dispatch.activate_due_bookings(max_bookings integer DEFAULT 20)
RETURNS integer
LANGUAGE plpgsql
VOLATILE
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
COMMENT ON FUNCTION dispatch.activate_due_bookings(integer) IS
    'Turn up to max_bookings due bookings (scheduled_for within booking_lead_time_s) into '
    'assistance requests via dispatch.request_assistance, each exactly once whatever the number '
    'of concurrent callers (FOR UPDATE SKIP LOCKED, in the caller''s transaction). A client with an '
    'open request fails the booking (OPEN_REQUEST_EXISTS); other refusals fail it too '
    '(REQUEST_REFUSED). The client gets booking_activated / booking_failed on topic client:<id>. '
    'Returns how many bookings were handled.';

CREATE OR REPLACE FUNCTION dispatch.sample_supply(min_interval_s double precision DEFAULT 50)
RETURNS boolean
LANGUAGE plpgsql
VOLATILE
SET max_parallel_workers_per_gather = 0
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
COMMENT ON FUNCTION dispatch.sample_supply(double precision) IS
    'Add one sample of idle assistants per H3 r7 cell and service type to the current hour of '
    'dispatch.supply_history (skipped when another session sampled less than min_interval_s ago). '
    'Every server process calls it every DISPATCH_SUPPLY_SAMPLE_S seconds.';

CREATE OR REPLACE FUNCTION dispatch.booking_availability(
    cells_r7 bigint[],
    service_type text,
    day date,
    weeks integer DEFAULT 4
)
RETURNS TABLE (
    slot_start timestamptz,
    slot_end timestamptz,
    expected_idle_assistants numeric,
    sampled_days integer,
    bookable boolean
)
LANGUAGE sql
STABLE
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
COMMENT ON FUNCTION dispatch.booking_availability(bigint[], text, date, integer) IS
    'Hourly slots (UTC) of a day with the idle assistants of a service type expected in the given '
    'H3 r7 cells: the mean over the same hour of the same weekday in the previous `weeks` weeks '
    '(dispatch.supply_history); NULL when none was sampled. bookable: a booking may start in it.';
