-- Who can be matched, kept up to date: positions.matchable (active, not disabled, no open job) and
-- the idle supply per H3 r7 cell it adds up to (dispatch.cell_supply), both maintained by triggers
-- on the tables that decide them (docs/decisions/0004-matchable-and-cell-supply.md).

CREATE OR REPLACE FUNCTION dispatch.refresh_matchable(user_ids bigint[])
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

CREATE OR REPLACE FUNCTION dispatch.matchable_from_new_rows() RETURNS trigger
LANGUAGE plpgsql
VOLATILE
AS $$
BEGIN
    PERFORM dispatch.refresh_matchable(ARRAY(SELECT n.user_id FROM new_rows n));
    RETURN NULL;
END;
$$;
COMMENT ON FUNCTION dispatch.matchable_from_new_rows() IS
    'Trigger: refresh positions.matchable for the user_id of every new or changed row.';

CREATE OR REPLACE FUNCTION dispatch.matchable_from_users() RETURNS trigger
LANGUAGE plpgsql
VOLATILE
AS $$
BEGIN
    PERFORM dispatch.refresh_matchable(ARRAY(
        SELECT n.id FROM new_rows n JOIN old_rows o ON o.id = n.id
         WHERE n.is_disabled IS DISTINCT FROM o.is_disabled));
    RETURN NULL;
END;
$$;
COMMENT ON FUNCTION dispatch.matchable_from_users() IS
    'Trigger: refresh positions.matchable for users whose is_disabled changed.';

CREATE OR REPLACE FUNCTION dispatch.matchable_from_job() RETURNS trigger
LANGUAGE plpgsql
VOLATILE
AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM dispatch.refresh_matchable(ARRAY[NEW.assistant_id]);
    ELSE
        PERFORM dispatch.refresh_matchable(ARRAY(
            SELECT DISTINCT a FROM unnest(ARRAY[OLD.assistant_id, NEW.assistant_id]) a
             WHERE a IS NOT NULL));
    END IF;
    RETURN NULL;
END;
$$;
COMMENT ON FUNCTION dispatch.matchable_from_job() IS
    'Trigger: refresh positions.matchable of the assistants whose job was created with them, or '
    'whose job status or assignment changed (the old and the new assistant).';

CREATE OR REPLACE FUNCTION dispatch.matchable_from_deleted_jobs() RETURNS trigger
LANGUAGE plpgsql
VOLATILE
AS $$
BEGIN
    PERFORM dispatch.refresh_matchable(ARRAY(
        SELECT o.assistant_id FROM old_rows o WHERE o.assistant_id IS NOT NULL));
    RETURN NULL;
END;
$$;
COMMENT ON FUNCTION dispatch.matchable_from_deleted_jobs() IS
    'Trigger: refresh positions.matchable of assistants whose job was deleted.';

CREATE OR REPLACE TRIGGER positions_matchable AFTER INSERT ON dispatch.positions
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION dispatch.matchable_from_new_rows();
CREATE OR REPLACE TRIGGER assistants_matchable_insert AFTER INSERT ON dispatch.assistants
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION dispatch.matchable_from_new_rows();
CREATE OR REPLACE TRIGGER assistants_matchable_update AFTER UPDATE ON dispatch.assistants
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION dispatch.matchable_from_new_rows();
CREATE OR REPLACE TRIGGER users_matchable AFTER UPDATE ON dispatch.users
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION dispatch.matchable_from_users();
CREATE OR REPLACE TRIGGER assistance_matchable_insert AFTER INSERT ON dispatch.assistance_requests
    FOR EACH ROW WHEN (NEW.assistant_id IS NOT NULL)
    EXECUTE FUNCTION dispatch.matchable_from_job();
CREATE OR REPLACE TRIGGER assistance_matchable_update AFTER UPDATE OF status, assistant_id
    ON dispatch.assistance_requests
    FOR EACH ROW WHEN ((OLD.assistant_id IS NOT NULL OR NEW.assistant_id IS NOT NULL)
                       AND (OLD.status IS DISTINCT FROM NEW.status
                            OR OLD.assistant_id IS DISTINCT FROM NEW.assistant_id))
    EXECUTE FUNCTION dispatch.matchable_from_job();
CREATE OR REPLACE TRIGGER assistance_matchable_delete AFTER DELETE ON dispatch.assistance_requests
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION dispatch.matchable_from_deleted_jobs();
COMMENT ON TRIGGER assistance_matchable_insert ON dispatch.assistance_requests IS
    'A row trigger with a WHEN clause, not a statement trigger over transition tables: a new '
    'request has no assistant, so the function is not even called for it.';
COMMENT ON TRIGGER assistance_matchable_update ON dispatch.assistance_requests IS
    'Called only when a job''s status or assignment changes and it has an assistant: a round''s '
    'bookkeeping or a cancel before anyone accepted changes nobody''s job.';

CREATE OR REPLACE FUNCTION dispatch.cell_supply_from_positions() RETURNS trigger
LANGUAGE plpgsql
VOLATILE
AS $$
BEGIN
    -- One signed delta per cell; cells are locked in h3 order so two concurrent writers that move
    -- assistants between the same cells cannot deadlock on these rows.
    IF TG_OP = 'INSERT' THEN
        INSERT INTO dispatch.cell_supply AS c (h3_r7, idle_assistants)
        SELECT n.h3_r7, count(*) FROM new_rows n WHERE n.matchable GROUP BY n.h3_r7 ORDER BY 1
        ON CONFLICT (h3_r7) DO UPDATE SET idle_assistants = c.idle_assistants + EXCLUDED.idle_assistants;
    ELSIF TG_OP = 'DELETE' THEN
        UPDATE dispatch.cell_supply c SET idle_assistants = c.idle_assistants - d.n
        FROM (SELECT o.h3_r7, count(*) AS n FROM old_rows o WHERE o.matchable GROUP BY o.h3_r7) d
        WHERE c.h3_r7 = d.h3_r7;
    ELSE
        INSERT INTO dispatch.cell_supply AS c (h3_r7, idle_assistants)
        SELECT d.h3_r7, sum(d.n)
        FROM (SELECT n.h3_r7, 1 AS n FROM new_rows n WHERE n.matchable
              UNION ALL
              SELECT o.h3_r7, -1 FROM old_rows o WHERE o.matchable) d
        GROUP BY d.h3_r7
        HAVING sum(d.n) <> 0
        ORDER BY 1
        ON CONFLICT (h3_r7) DO UPDATE SET idle_assistants = c.idle_assistants + EXCLUDED.idle_assistants;
    END IF;
    RETURN NULL;
END;
$$;
COMMENT ON FUNCTION dispatch.cell_supply_from_positions() IS
    'Trigger: apply the change of matchable positions per H3 r7 cell to dispatch.cell_supply.';

CREATE OR REPLACE TRIGGER positions_cell_supply_insert AFTER INSERT ON dispatch.positions
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION dispatch.cell_supply_from_positions();
CREATE OR REPLACE TRIGGER positions_cell_supply_update AFTER UPDATE ON dispatch.positions
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION dispatch.cell_supply_from_positions();
CREATE OR REPLACE TRIGGER positions_cell_supply_delete AFTER DELETE ON dispatch.positions
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION dispatch.cell_supply_from_positions();
