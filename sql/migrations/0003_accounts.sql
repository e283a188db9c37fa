-- Accounts: refresh-token sessions, one-time codes, the message outbox and rate-limit buckets.

-- Refresh tokens are stored hashed (sha256 of the token). A family is one login session: every
-- rotation adds a row to it, and presenting a used or revoked member revokes the whole family.
CREATE TABLE dispatch.refresh_tokens (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id    bigint NOT NULL REFERENCES dispatch.users (id) ON DELETE CASCADE,
    family_id  uuid NOT NULL,
    token_hash bytea NOT NULL CONSTRAINT refresh_tokens_token_hash_key UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    used_at    timestamptz,  -- exchanged for its successor
    revoked_at timestamptz   -- logout, password reset, reuse detected
);
CREATE INDEX refresh_tokens_family_idx ON dispatch.refresh_tokens (family_id);
CREATE INDEX refresh_tokens_live_user_idx ON dispatch.refresh_tokens (user_id)
    WHERE revoked_at IS NULL;

-- One-time codes (6 digits) for verifying contacts and resetting passwords, stored as an HMAC.
-- At most one live (unconsumed) code per user and purpose: issuing a new one supersedes the old.
CREATE TABLE dispatch.one_time_codes (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id     bigint NOT NULL REFERENCES dispatch.users (id) ON DELETE CASCADE,
    purpose     text NOT NULL CONSTRAINT one_time_codes_purpose_check
                    CHECK (purpose IN ('verify_email', 'verify_phone', 'password_reset')),
    target      text NOT NULL,  -- the address the code was sent to
    code_hash   bytea NOT NULL,
    attempts    integer NOT NULL DEFAULT 0,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    consumed_at timestamptz  -- used, or superseded by a newer code
);
CREATE UNIQUE INDEX one_time_codes_live_key ON dispatch.one_time_codes (user_id, purpose)
    WHERE consumed_at IS NULL;

-- Every message to a user goes through here; a sender drains it (log by default, SMTP when
-- configured). Bodies are blanked once sent so delivered codes do not linger in the table.
CREATE TABLE dispatch.outbox (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id       bigint REFERENCES dispatch.users (id) ON DELETE SET NULL,
    channel       text NOT NULL CONSTRAINT outbox_channel_check CHECK (channel IN ('email', 'sms')),
    recipient     text NOT NULL,
    subject       text NOT NULL DEFAULT '',
    body          text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    attempts      integer NOT NULL DEFAULT 0,
    claimed_until timestamptz,
    sent_at       timestamptz,
    last_error    text
);
CREATE INDEX outbox_pending_idx ON dispatch.outbox (id) WHERE sent_at IS NULL;

-- Fixed-window request counters shared by every server process.
CREATE TABLE dispatch.rate_limits (
    bucket       text PRIMARY KEY,
    window_start timestamptz NOT NULL,
    hits         integer NOT NULL
);
