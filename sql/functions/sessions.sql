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
