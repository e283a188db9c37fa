-- Accounts: rate-limit counters and token buckets, refresh-token rotation and one-time code
-- checks.

CREATE OR REPLACE FUNCTION dispatch.rate_limit_hit(
    bucket_key text, max_hits integer, window_seconds integer
)
RETURNS integer
LANGUAGE sql
VOLATILE
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
COMMENT ON FUNCTION dispatch.rate_limit_hit(text, integer, integer) IS
    'Count one request in a fixed-window bucket; 0 when allowed, else seconds until the window ends.';

CREATE OR REPLACE FUNCTION dispatch.take_token(
    bucket_key text, capacity double precision, per_second double precision
)
RETURNS boolean
LANGUAGE plpgsql
VOLATILE
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
COMMENT ON FUNCTION dispatch.take_token(text, double precision, double precision) IS
    'Take one token from a bucket shared by every server process: up to `capacity` at once, '
    'refilled at `per_second`; true when taken, false when empty (nothing changes). A capacity '
    'of 0 or less is no limit. The caller''s transaction holds the bucket until it ends.';

CREATE OR REPLACE FUNCTION dispatch.rotate_refresh_token(
    old_hash bytea, new_hash bytea, new_expires_at timestamptz
)
RETURNS text
LANGUAGE plpgsql
VOLATILE
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
COMMENT ON FUNCTION dispatch.rotate_refresh_token(bytea, bytea, timestamptz) IS
    'Exchange a live refresh token for its successor (ok); a used or revoked one revokes its family '
    '(reused, revoked); also expired, disabled or unknown.';

CREATE OR REPLACE FUNCTION dispatch.check_code(
    for_user bigint, for_purpose text, given_hash bytea, max_attempts integer
)
RETURNS text
LANGUAGE plpgsql
VOLATILE
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
COMMENT ON FUNCTION dispatch.check_code(bigint, text, bytea, integer) IS
    'Check a one-time code: ok (and consumed), invalid (a wrong try is counted), expired, exhausted.';
