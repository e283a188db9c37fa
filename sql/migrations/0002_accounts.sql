-- Accounts: refresh-token sessions, one-time codes, the message outbox, and the request and chat
-- limits shared by every server process.

CREATE TABLE dispatch.refresh_tokens (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id    bigint NOT NULL REFERENCES dispatch.users (id) ON DELETE CASCADE,
    family_id  uuid NOT NULL,
    token_hash bytea NOT NULL CONSTRAINT refresh_tokens_token_hash_key UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    used_at    timestamptz,
    revoked_at timestamptz
);
COMMENT ON TABLE dispatch.refresh_tokens IS
    'Refresh tokens, stored hashed (sha256 of the token). A family is one login session: every '
    'rotation adds a row to it, and presenting a used or revoked member revokes the whole family.';
COMMENT ON COLUMN dispatch.refresh_tokens.used_at IS 'When it was exchanged for its successor.';
COMMENT ON COLUMN dispatch.refresh_tokens.revoked_at IS
    'Logout, password reset, or reuse of a family member detected.';
CREATE INDEX refresh_tokens_family_idx ON dispatch.refresh_tokens (family_id);
CREATE INDEX refresh_tokens_live_user_idx ON dispatch.refresh_tokens (user_id)
    WHERE revoked_at IS NULL;

CREATE TABLE dispatch.one_time_codes (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id     bigint NOT NULL REFERENCES dispatch.users (id) ON DELETE CASCADE,
    purpose     text NOT NULL CONSTRAINT one_time_codes_purpose_check
                    CHECK (purpose IN ('verify_email', 'verify_phone', 'password_reset')),
    target      text NOT NULL,
    code_hash   bytea NOT NULL,
    attempts    integer NOT NULL DEFAULT 0,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    consumed_at timestamptz
);
COMMENT ON TABLE dispatch.one_time_codes IS
    'One-time codes (6 digits) for verifying contacts and resetting passwords, stored as an HMAC. '
    'At most one live (unconsumed) code per user and purpose: issuing a new one supersedes the old.';
COMMENT ON COLUMN dispatch.one_time_codes.target IS 'The address the code was sent to.';
COMMENT ON COLUMN dispatch.one_time_codes.consumed_at IS 'Used, or superseded by a newer code.';
CREATE UNIQUE INDEX one_time_codes_live_key ON dispatch.one_time_codes (user_id, purpose)
    WHERE consumed_at IS NULL;

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
COMMENT ON TABLE dispatch.outbox IS
    'Every message to a user goes through here; a sender drains it (log by default, SMTP when '
    'configured). Bodies are blanked once sent so delivered codes do not linger in the table.';
CREATE INDEX outbox_pending_idx ON dispatch.outbox (id) WHERE sent_at IS NULL;

CREATE TABLE dispatch.rate_limits (
    bucket       text PRIMARY KEY,
    window_start timestamptz NOT NULL,
    hits         integer NOT NULL
);
COMMENT ON TABLE dispatch.rate_limits IS
    'Fixed-window request counters shared by every server process.';

CREATE TABLE dispatch.token_buckets (
    bucket      text PRIMARY KEY,
    tokens      double precision NOT NULL,
    refilled_at timestamptz NOT NULL
);
COMMENT ON TABLE dispatch.token_buckets IS
    'Token buckets shared by every server process (dispatch.take_token): the tokens left as of '
    'refilled_at. Rows of full buckets carry no information; dispatch/ratelimit.py purges old ones.';
