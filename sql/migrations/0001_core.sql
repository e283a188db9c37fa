-- Core: PostGIS, the dispatch schema, engine-wide settings, users and assistant profiles.
--
-- The baseline (docs/decisions/0001-sql-baseline.md): each area's tables, indexes, constraints and
-- seed rows in one file, in dependency order. Functions, views of logic and every trigger live in
-- sql/functions/ (applied after the migrations, on every migrate); the reasons behind a table,
-- column or index are COMMENTs here, so they are in the database too.
CREATE EXTENSION IF NOT EXISTS postgis;
CREATE SCHEMA IF NOT EXISTS dispatch;

CREATE TABLE dispatch.settings (
    key         text PRIMARY KEY,
    value       jsonb NOT NULL,
    description text NOT NULL DEFAULT ''
);
COMMENT ON TABLE dispatch.settings IS
    'Engine-wide tunables that SQL functions read (surge k and cap, search radius, offer rounds, '
    'booking windows, retention): one jsonb value and its description per key. Each area''s '
    'migration inserts its own keys.';

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

-- An assistant's profile: what it serves with, and whether it is on duty.
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
