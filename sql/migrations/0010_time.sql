-- Time: scheduled bookings, assistant shifts, and the hourly supply history that booking
-- availability reads.

INSERT INTO dispatch.settings (key, value, description) VALUES
    ('booking_min_ahead_s', '900',
     'A booking''s scheduled_for must be at least this many seconds ahead when it is made.'),
    ('booking_max_ahead_days', '30', 'A booking''s scheduled_for is at most this many days ahead.'),
    ('booking_lead_time_s', '600',
     'A booking becomes an assistance request this many seconds before its scheduled_for.'),
    ('supply_history_days', '35',
     'Days of hourly idle-supply samples kept for booking availability (dispatch.supply_history).')
ON CONFLICT (key) DO NOTHING;

CREATE TABLE dispatch.bookings (
    id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    client_id          bigint NOT NULL REFERENCES dispatch.users (id) ON DELETE CASCADE,
    status             text NOT NULL DEFAULT 'scheduled' CONSTRAINT bookings_status_check
                           CHECK (status IN ('scheduled', 'converted', 'failed', 'canceled')),
    service_type       text NOT NULL CONSTRAINT bookings_service_type_check
                           CHECK (service_type IN ('towing', 'repair')),
    vehicle_type       text NOT NULL CONSTRAINT bookings_vehicle_type_check
                           CHECK (vehicle_type IN ('light', 'heavy')),
    vehicle_id         bigint,
    description        text NOT NULL DEFAULT '',
    pickup             geography(Point, 4326) NOT NULL,
    dropoff            geography(Point, 4326),
    pickup_h3_r7       bigint NOT NULL,
    neighbour_cells_r7 bigint[] NOT NULL,
    scheduled_for      timestamptz NOT NULL,
    assistance_id      bigint CONSTRAINT bookings_assistance_key UNIQUE
                           REFERENCES dispatch.assistance_requests (id) ON DELETE SET NULL,
    failure_code       text,
    failure_reason     text,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    converted_at       timestamptz,
    canceled_at        timestamptz,
    failed_at          timestamptz,
    CONSTRAINT bookings_failure_check CHECK ((status = 'failed') = (failure_code IS NOT NULL)),
    CONSTRAINT bookings_vehicle_fkey FOREIGN KEY (vehicle_id)
        REFERENCES dispatch.vehicles (id) ON DELETE SET NULL
);
COMMENT ON TABLE dispatch.bookings IS
    'Scheduled bookings: at scheduled_for minus booking_lead_time_s, dispatch.activate_due_bookings '
    'turns each into one assistance request (converted) or records why it could not (failed).';
COMMENT ON COLUMN dispatch.bookings.status IS
    'scheduled -> converted (an assistance request exists) | failed (could not become one) | '
    'canceled (by the client, while scheduled). The last three are final.';
COMMENT ON COLUMN dispatch.bookings.vehicle_id IS
    'The client''s own vehicle (dispatch.vehicles), checked when booked.';
COMMENT ON COLUMN dispatch.bookings.neighbour_cells_r7 IS
    'The pickup''s H3 r7 cell and its neighbours, computed by the application with the h3 package '
    'when the booking is made (the database has no H3).';
COMMENT ON COLUMN dispatch.bookings.failure_code IS
    'Why a booking failed: the SQLSTATE''s machine code (OPEN_REQUEST_EXISTS, ...); failure_reason '
    'holds its sentence.';
COMMENT ON CONSTRAINT bookings_vehicle_fkey ON dispatch.bookings IS
    'SET NULL: a finished booking (converted into a finished job, failed, canceled) keeps its '
    'vehicle_type and forgets a deleted vehicle; dispatch.delete_vehicle refuses the delete while '
    'the booking is open, so no open booking loses its vehicle.';
CREATE INDEX bookings_due_idx ON dispatch.bookings (scheduled_for, id) WHERE status = 'scheduled';
COMMENT ON INDEX dispatch.bookings_due_idx IS
    'The activator''s queue: only scheduled rows, in due order.';
CREATE INDEX bookings_client_idx ON dispatch.bookings (client_id, scheduled_for DESC, id DESC);
CREATE INDEX bookings_vehicle_idx ON dispatch.bookings (vehicle_id) WHERE vehicle_id IS NOT NULL;
COMMENT ON INDEX dispatch.bookings_vehicle_idx IS
    'Bookings of a vehicle, for bookings_vehicle_fkey (ON DELETE SET NULL) and '
    'dispatch.delete_vehicle.';

CREATE TABLE dispatch.shifts (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    assistant_id bigint NOT NULL REFERENCES dispatch.users (id) ON DELETE CASCADE,
    started_at   timestamptz NOT NULL DEFAULT now(),
    ended_at     timestamptz,
    end_reason   text CONSTRAINT shifts_end_reason_check
                     CHECK (end_reason IN ('inactive', 'disabled', 'deleted')),
    CONSTRAINT shifts_end_check CHECK (ended_at IS NULL OR ended_at >= started_at),
    CONSTRAINT shifts_end_reason_present CHECK ((ended_at IS NULL) = (end_reason IS NULL))
);
COMMENT ON TABLE dispatch.shifts IS
    'Periods an assistant was on duty: opened when it goes active, closed when it goes inactive or '
    'is disabled (kept by triggers on dispatch.assistants and dispatch.users).';
COMMENT ON COLUMN dispatch.shifts.end_reason IS
    'inactive (went off duty) | disabled (the account was disabled) | deleted (profile removed).';
CREATE UNIQUE INDEX shifts_one_open ON dispatch.shifts (assistant_id) WHERE ended_at IS NULL;
CREATE INDEX shifts_assistant_idx ON dispatch.shifts (assistant_id, started_at DESC);

CREATE TABLE dispatch.supply_history (
    hour         timestamptz NOT NULL,
    h3_r7        bigint NOT NULL,
    service_type text NOT NULL,
    idle_sum     bigint NOT NULL,
    CONSTRAINT supply_history_pkey PRIMARY KEY (hour, h3_r7, service_type)
);
COMMENT ON TABLE dispatch.supply_history IS
    'Idle assistants summed over the samples of an hour per H3 r7 cell and service type; divide '
    'by dispatch.supply_samples.samples for the hour''s mean.';

CREATE TABLE dispatch.supply_samples (
    hour       timestamptz PRIMARY KEY,
    samples    integer NOT NULL,
    sampled_at timestamptz NOT NULL
);
COMMENT ON TABLE dispatch.supply_samples IS
    'How many samples each hour had (taken by every server process''s time keeper, one per '
    'interval across processes); a cell with no idle assistant in a sample has no row in '
    'dispatch.supply_history.';
