-- Time (issue 13): scheduled bookings, assistant shifts, the hourly supply history that booking
-- availability reads, and the index behind chat history pages.

INSERT INTO dispatch.settings (key, value, description) VALUES
    ('booking_min_ahead_s', '900',
     'A booking''s scheduled_for must be at least this many seconds ahead when it is made.'),
    ('booking_max_ahead_days', '30', 'A booking''s scheduled_for is at most this many days ahead.'),
    ('booking_lead_time_s', '600',
     'A booking becomes an assistance request this many seconds before its scheduled_for.'),
    ('supply_history_days', '35',
     'Days of hourly idle-supply samples kept for booking availability (dispatch.supply_history).')
ON CONFLICT (key) DO NOTHING;

-- A client's request for later. Its pickup cells are computed by the application with the h3
-- package when it is made (the database has no H3), because the conversion runs in SQL.
CREATE TABLE dispatch.bookings (
    id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    client_id          bigint NOT NULL REFERENCES dispatch.users (id) ON DELETE CASCADE,
    -- scheduled -> converted (an assistance request exists) | failed (could not become one) |
    -- canceled (by the client, while scheduled). The last three are final.
    status             text NOT NULL DEFAULT 'scheduled' CONSTRAINT bookings_status_check
                           CHECK (status IN ('scheduled', 'converted', 'failed', 'canceled')),
    service_type       text NOT NULL CONSTRAINT bookings_service_type_check
                           CHECK (service_type IN ('towing', 'repair')),
    vehicle_type       text NOT NULL CONSTRAINT bookings_vehicle_type_check
                           CHECK (vehicle_type IN ('light', 'heavy')),
    -- The client's own vehicle (dispatch.vehicles of the fleet feature), checked when booked.
    vehicle_id         bigint,
    description        text NOT NULL DEFAULT '',
    pickup             geography(Point, 4326) NOT NULL,
    dropoff            geography(Point, 4326),
    pickup_h3_r7       bigint NOT NULL,
    neighbour_cells_r7 bigint[] NOT NULL,
    scheduled_for      timestamptz NOT NULL,
    assistance_id      bigint CONSTRAINT bookings_assistance_key UNIQUE
                           REFERENCES dispatch.assistance_requests (id) ON DELETE SET NULL,
    -- Why a booking failed: the SQLSTATE's machine code (OPEN_REQUEST_EXISTS, ...) and sentence.
    failure_code       text,
    failure_reason     text,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    converted_at       timestamptz,
    canceled_at        timestamptz,
    failed_at          timestamptz,
    CONSTRAINT bookings_failure_check CHECK ((status = 'failed') = (failure_code IS NOT NULL))
);
COMMENT ON TABLE dispatch.bookings IS
    'Scheduled bookings: at scheduled_for minus booking_lead_time_s, dispatch.activate_due_bookings '
    'turns each into one assistance request (converted) or records why it could not (failed).';
-- The activator's queue: only scheduled rows, in due order.
CREATE INDEX bookings_due_idx ON dispatch.bookings (scheduled_for, id) WHERE status = 'scheduled';
CREATE INDEX bookings_client_idx ON dispatch.bookings (client_id, scheduled_for DESC, id DESC);

-- Assistant attendance: one row per period on duty (active and not disabled).
CREATE TABLE dispatch.shifts (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    assistant_id bigint NOT NULL REFERENCES dispatch.users (id) ON DELETE CASCADE,
    started_at   timestamptz NOT NULL DEFAULT now(),
    ended_at     timestamptz,
    -- inactive (went off duty) | disabled (the account was disabled) | deleted (profile removed)
    end_reason   text CONSTRAINT shifts_end_reason_check
                     CHECK (end_reason IN ('inactive', 'disabled', 'deleted')),
    CONSTRAINT shifts_end_check CHECK (ended_at IS NULL OR ended_at >= started_at),
    CONSTRAINT shifts_end_reason_present CHECK ((ended_at IS NULL) = (end_reason IS NULL))
);
COMMENT ON TABLE dispatch.shifts IS
    'Periods an assistant was on duty: opened when it goes active, closed when it goes inactive or '
    'is disabled (kept by triggers on dispatch.assistants and dispatch.users).';
CREATE UNIQUE INDEX shifts_one_open ON dispatch.shifts (assistant_id) WHERE ended_at IS NULL;
CREATE INDEX shifts_assistant_idx ON dispatch.shifts (assistant_id, started_at DESC);

-- Idle supply per hour, H3 r7 cell and service type, sampled by every server process's time
-- keeper (one sample per interval across processes): availability reads the mean of past hours.
CREATE TABLE dispatch.supply_history (
    hour         timestamptz NOT NULL,
    h3_r7        bigint NOT NULL,
    service_type text NOT NULL,
    idle_sum     bigint NOT NULL,
    CONSTRAINT supply_history_pkey PRIMARY KEY (hour, h3_r7, service_type)
);
-- How many samples each hour had (a cell with no idle assistant in a sample has no row).
CREATE TABLE dispatch.supply_samples (
    hour       timestamptz PRIMARY KEY,
    samples    integer NOT NULL,
    sampled_at timestamptz NOT NULL
);
COMMENT ON TABLE dispatch.supply_history IS
    'Idle assistants summed over the samples of an hour per H3 r7 cell and service type; divide '
    'by dispatch.supply_samples.samples for the hour''s mean.';

-- Chat history pages are keyset pages on the message id.
CREATE INDEX chat_messages_assistance_id_idx ON dispatch.chat_messages (assistance_id, id DESC);

-- Shifts of assistants already on duty when this migration runs.
INSERT INTO dispatch.shifts (assistant_id, started_at)
SELECT a.user_id, a.updated_at
  FROM dispatch.assistants a JOIN dispatch.users u ON u.id = a.user_id
 WHERE a.is_active AND NOT u.is_disabled;
