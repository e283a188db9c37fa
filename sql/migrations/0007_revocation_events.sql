-- Announce revocations (sessions ended, users disabled or deleted) on the event bus, whatever
-- makes them (the API, a password reset, an analyst in psql), so server processes can cache
-- "this token is still good" safely.
CREATE FUNCTION dispatch.announce_revoked_sessions() RETURNS trigger
LANGUAGE plpgsql AS $$
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
CREATE TRIGGER refresh_tokens_announce_revoked
    AFTER UPDATE ON dispatch.refresh_tokens
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION dispatch.announce_revoked_sessions();

CREATE FUNCTION dispatch.announce_revoked_users() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM dispatch.emit('sys:revocations', jsonb_build_object('users', jsonb_agg(o.id)))
    FROM old_rows o JOIN new_rows n ON n.id = o.id
    WHERE n.is_disabled AND NOT o.is_disabled
    HAVING count(*) > 0;
    RETURN NULL;
END;
$$;

CREATE FUNCTION dispatch.announce_deleted_users() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM dispatch.emit('sys:revocations', jsonb_build_object('users', jsonb_agg(o.id)))
    FROM old_rows o
    HAVING count(*) > 0;
    RETURN NULL;
END;
$$;
CREATE TRIGGER users_announce_disabled
    AFTER UPDATE ON dispatch.users
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION dispatch.announce_revoked_users();
CREATE TRIGGER users_announce_deleted
    AFTER DELETE ON dispatch.users
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION dispatch.announce_deleted_users();
COMMENT ON FUNCTION dispatch.announce_revoked_sessions() IS
    'Trigger: emits {sessions: [{user_id, family}]} on topic sys:revocations when refresh tokens are revoked.';
COMMENT ON FUNCTION dispatch.announce_revoked_users() IS
    'Trigger: emits {users: [id]} on topic sys:revocations when users are disabled.';
COMMENT ON FUNCTION dispatch.announce_deleted_users() IS
    'Trigger: emits {users: [id]} on topic sys:revocations when users are deleted.';
