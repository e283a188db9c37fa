-- Core schema: PostGIS, the dispatch schema, users, assistant profiles and live positions.
CREATE EXTENSION IF NOT EXISTS postgis;
CREATE SCHEMA IF NOT EXISTS dispatch;

-- Engine-wide tunables that SQL functions read (surge k and cap, search radius, ...).
CREATE TABLE dispatch.settings (
    key         text PRIMARY KEY,
    value       jsonb NOT NULL,
    description text NOT NULL DEFAULT ''
);

CREATE TABLE dispatch.users (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    role           text NOT NULL CONSTRAINT users_role_check
                       CHECK (role IN ('client', 'assistant', 'dispatcher')),
    email          text CONSTRAINT users_email_key UNIQUE
                       CONSTRAINT users_email_lower_check CHECK (email = lower(email)),
    phone_number   text CONSTRAINT users_phone_number_key UNIQUE,
    name           text NOT NULL DEFAULT '',
    address        text NOT NULL DEFAULT '',
    password_hash  text,
    google_sub     text CONSTRAINT users_google_sub_key UNIQUE,
    email_verified boolean NOT NULL DEFAULT false,
    phone_verified boolean NOT NULL DEFAULT false,
    is_disabled    boolean NOT NULL DEFAULT false,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT users_contact_check CHECK (email IS NOT NULL OR phone_number IS NOT NULL)
);

CREATE TABLE dispatch.assistants (
    user_id                  bigint PRIMARY KEY REFERENCES dispatch.users (id) ON DELETE CASCADE,
    service_type             text NOT NULL CONSTRAINT assistants_service_type_check
                                 CHECK (service_type IN ('towing', 'repair')),
    vehicle_type             text NOT NULL,
    driving_license_cat      text NOT NULL CONSTRAINT assistants_license_cat_check
                                 CHECK (driving_license_cat IN ('b', 'c')),
    driving_license_num      text NOT NULL,
    driving_license_expiry   date NOT NULL,
    vehicle_registration_num bigint NOT NULL,
    is_active                boolean NOT NULL DEFAULT false,
    updated_at               timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX assistants_active_idx ON dispatch.assistants (service_type) WHERE is_active;

-- One row per user, updated in place: the latest known position with its H3 cells
-- (computed by the application with the h3 package, stored as bigint).
CREATE TABLE dispatch.positions (
    user_id    bigint PRIMARY KEY REFERENCES dispatch.users (id) ON DELETE CASCADE,
    geog       geography(Point, 4326) NOT NULL,
    h3_r7      bigint NOT NULL,
    h3_r8      bigint NOT NULL,
    h3_r9      bigint NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX positions_geog_idx ON dispatch.positions USING gist (geog);
CREATE INDEX positions_h3_r7_idx ON dispatch.positions (h3_r7);
CREATE INDEX positions_h3_r8_idx ON dispatch.positions (h3_r8);
CREATE INDEX positions_h3_r9_idx ON dispatch.positions (h3_r9);

-- Append-only trail of every stored position.
CREATE TABLE dispatch.position_history (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id     bigint NOT NULL REFERENCES dispatch.users (id) ON DELETE CASCADE,
    geog        geography(Point, 4326) NOT NULL,
    h3_r9       bigint NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX position_history_user_idx ON dispatch.position_history (user_id, recorded_at DESC);
