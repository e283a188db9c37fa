-- Access-token revocation: checked on every authenticated request and WebSocket upgrade.
CREATE OR REPLACE FUNCTION dispatch.access_revoked(user_id bigint, family_id uuid DEFAULT NULL)
RETURNS boolean
LANGUAGE plpgsql
STABLE
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
COMMENT ON FUNCTION dispatch.access_revoked(bigint, uuid) IS
    'True when an access token of this user (and login session family) must be refused: the user '
    'is disabled or gone, or the session was revoked (logout, password reset, refresh reuse).';

-- Revocations (sessions ended, users disabled or deleted) announced on the event bus, whatever
-- makes them (the API, a password reset, an analyst in psql), so that server processes can cache
-- "this token is still good" safely.

CREATE OR REPLACE FUNCTION dispatch.announce_revoked_sessions() RETURNS trigger
LANGUAGE plpgsql
VOLATILE
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
COMMENT ON FUNCTION dispatch.announce_revoked_sessions() IS
    'Trigger: emits {sessions: [{user_id, family}]} on topic sys:revocations when refresh tokens '
    'are revoked.';

CREATE OR REPLACE FUNCTION dispatch.announce_revoked_users() RETURNS trigger
LANGUAGE plpgsql
VOLATILE
AS $$
BEGIN
    PERFORM dispatch.emit('sys:revocations', jsonb_build_object('users', jsonb_agg(o.id)))
    FROM old_rows o JOIN new_rows n ON n.id = o.id
    WHERE n.is_disabled AND NOT o.is_disabled
    HAVING count(*) > 0;
    RETURN NULL;
END;
$$;
COMMENT ON FUNCTION dispatch.announce_revoked_users() IS
    'Trigger: emits {users: [id]} on topic sys:revocations when users are disabled.';

CREATE OR REPLACE FUNCTION dispatch.announce_deleted_users() RETURNS trigger
LANGUAGE plpgsql
VOLATILE
AS $$
BEGIN
    PERFORM dispatch.emit('sys:revocations', jsonb_build_object('users', jsonb_agg(o.id)))
    FROM old_rows o
    HAVING count(*) > 0;
    RETURN NULL;
END;
$$;
COMMENT ON FUNCTION dispatch.announce_deleted_users() IS
    'Trigger: emits {users: [id]} on topic sys:revocations when users are deleted.';

CREATE OR REPLACE TRIGGER refresh_tokens_announce_revoked
    AFTER UPDATE ON dispatch.refresh_tokens
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION dispatch.announce_revoked_sessions();
CREATE OR REPLACE TRIGGER users_announce_disabled
    AFTER UPDATE ON dispatch.users
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION dispatch.announce_revoked_users();
CREATE OR REPLACE TRIGGER users_announce_deleted
    AFTER DELETE ON dispatch.users
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION dispatch.announce_deleted_users();
