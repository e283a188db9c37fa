-- positions.matchable: the position belongs to an assistant who is active, not disabled and has no
-- open job (the licence date is checked at query time). Kept by triggers on every table that
-- decides it; a partial GiST index over matchable positions lets KNN matching skip the ~70% of
-- positions that could never be offered a job (clients, inactive or busy assistants).
ALTER TABLE dispatch.positions ADD COLUMN matchable boolean NOT NULL DEFAULT false;

CREATE FUNCTION dispatch.refresh_matchable(user_ids bigint[])
RETURNS void
LANGUAGE plpgsql
VOLATILE
AS $$
BEGIN
    IF cardinality(user_ids) = 0 THEN
        RETURN;
    END IF;
    -- Serialise every refresh of an assistant on its assistants row, then decide in a new
    -- statement (a fresh snapshot): two concurrent changes (going active while a job ends, say)
    -- cannot both decide from a state the other has already changed.
    PERFORM 1 FROM dispatch.assistants a WHERE a.user_id = ANY (user_ids)
    ORDER BY a.user_id FOR NO KEY UPDATE;
    UPDATE dispatch.positions p
       SET matchable = m.ok
      FROM (
          SELECT q.user_id,
                 coalesce((SELECT a.is_active AND NOT u.is_disabled
                                  AND NOT EXISTS (
                                      SELECT 1 FROM dispatch.assistance_requests r
                                       WHERE r.assistant_id = a.user_id
                                         AND r.status IN ('accepted', 'ongoing'))
                             FROM dispatch.assistants a
                             JOIN dispatch.users u ON u.id = a.user_id
                            WHERE a.user_id = q.user_id), false) AS ok
          FROM dispatch.positions q
          WHERE q.user_id = ANY (refresh_matchable.user_ids)
      ) m
     WHERE p.user_id = m.user_id AND p.matchable IS DISTINCT FROM m.ok;
END;
$$;
COMMENT ON FUNCTION dispatch.refresh_matchable(bigint[]) IS
    'Recompute dispatch.positions.matchable for these users (called by triggers; safe to call by '
    'hand after bulk changes made with triggers disabled).';

CREATE FUNCTION dispatch.matchable_from_new_rows() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM dispatch.refresh_matchable(ARRAY(SELECT n.user_id FROM new_rows n));
    RETURN NULL;
END;
$$;
COMMENT ON FUNCTION dispatch.matchable_from_new_rows() IS
    'Trigger: refresh positions.matchable for the user_id of every new or changed row.';

CREATE FUNCTION dispatch.matchable_from_users() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM dispatch.refresh_matchable(ARRAY(
        SELECT n.id FROM new_rows n JOIN old_rows o ON o.id = n.id
         WHERE n.is_disabled IS DISTINCT FROM o.is_disabled));
    RETURN NULL;
END;
$$;
COMMENT ON FUNCTION dispatch.matchable_from_users() IS
    'Trigger: refresh positions.matchable for users whose is_disabled changed.';

CREATE FUNCTION dispatch.matchable_from_new_jobs() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM dispatch.refresh_matchable(ARRAY(
        SELECT n.assistant_id FROM new_rows n WHERE n.assistant_id IS NOT NULL));
    RETURN NULL;
END;
$$;
CREATE FUNCTION dispatch.matchable_from_changed_jobs() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM dispatch.refresh_matchable(ARRAY(
        SELECT n.assistant_id FROM new_rows n JOIN old_rows o ON o.id = n.id
         WHERE n.assistant_id IS NOT NULL
           AND (n.status IS DISTINCT FROM o.status OR n.assistant_id IS DISTINCT FROM o.assistant_id)
        UNION
        SELECT o.assistant_id FROM new_rows n JOIN old_rows o ON o.id = n.id
         WHERE o.assistant_id IS NOT NULL AND n.assistant_id IS DISTINCT FROM o.assistant_id));
    RETURN NULL;
END;
$$;
CREATE FUNCTION dispatch.matchable_from_deleted_jobs() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM dispatch.refresh_matchable(ARRAY(
        SELECT o.assistant_id FROM old_rows o WHERE o.assistant_id IS NOT NULL));
    RETURN NULL;
END;
$$;
COMMENT ON FUNCTION dispatch.matchable_from_new_jobs() IS
    'Trigger: an assistance request inserted with an assistant makes that assistant busy.';
COMMENT ON FUNCTION dispatch.matchable_from_changed_jobs() IS
    'Trigger: refresh positions.matchable of assistants whose job status or assignment changed.';
COMMENT ON FUNCTION dispatch.matchable_from_deleted_jobs() IS
    'Trigger: refresh positions.matchable of assistants whose job was deleted.';

CREATE TRIGGER positions_matchable AFTER INSERT ON dispatch.positions
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION dispatch.matchable_from_new_rows();
CREATE TRIGGER assistants_matchable_insert AFTER INSERT ON dispatch.assistants
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION dispatch.matchable_from_new_rows();
CREATE TRIGGER assistants_matchable_update AFTER UPDATE ON dispatch.assistants
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION dispatch.matchable_from_new_rows();
CREATE TRIGGER users_matchable AFTER UPDATE ON dispatch.users
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION dispatch.matchable_from_users();
CREATE TRIGGER assistance_matchable_insert AFTER INSERT ON dispatch.assistance_requests
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION dispatch.matchable_from_new_jobs();
CREATE TRIGGER assistance_matchable_update AFTER UPDATE ON dispatch.assistance_requests
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION dispatch.matchable_from_changed_jobs();
CREATE TRIGGER assistance_matchable_delete AFTER DELETE ON dispatch.assistance_requests
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION dispatch.matchable_from_deleted_jobs();

-- Existing rows.
UPDATE dispatch.positions p SET matchable = true
  FROM dispatch.assistants a JOIN dispatch.users u ON u.id = a.user_id
 WHERE a.user_id = p.user_id AND a.is_active AND NOT u.is_disabled
   AND NOT EXISTS (SELECT 1 FROM dispatch.assistance_requests r
                    WHERE r.assistant_id = a.user_id AND r.status IN ('accepted', 'ongoing'));

CREATE INDEX positions_matchable_geog_idx ON dispatch.positions USING gist (geog) WHERE matchable;
