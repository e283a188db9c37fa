-- Positions' matchable flag follows jobs through row triggers with a WHEN clause (issue 10, goal
-- 4). The statement triggers of 0008 ran for every insert and update of a request, collecting
-- transition tables of whole request rows, to find an assistant in none of them: a new request
-- has no assistant, and a round's bookkeeping or a client's cancel before anyone accepted changes
-- nobody's job. A row trigger whose WHEN is false is not even called.
DROP TRIGGER IF EXISTS assistance_matchable_insert ON dispatch.assistance_requests;
DROP TRIGGER IF EXISTS assistance_matchable_update ON dispatch.assistance_requests;

CREATE FUNCTION dispatch.matchable_from_job() RETURNS trigger
LANGUAGE plpgsql AS $$
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

CREATE TRIGGER assistance_matchable_insert AFTER INSERT ON dispatch.assistance_requests
    FOR EACH ROW WHEN (NEW.assistant_id IS NOT NULL)
    EXECUTE FUNCTION dispatch.matchable_from_job();
CREATE TRIGGER assistance_matchable_update AFTER UPDATE OF status, assistant_id
    ON dispatch.assistance_requests
    FOR EACH ROW WHEN ((OLD.assistant_id IS NOT NULL OR NEW.assistant_id IS NOT NULL)
                       AND (OLD.status IS DISTINCT FROM NEW.status
                            OR OLD.assistant_id IS DISTINCT FROM NEW.assistant_id))
    EXECUTE FUNCTION dispatch.matchable_from_job();
DROP FUNCTION IF EXISTS dispatch.matchable_from_new_jobs();
DROP FUNCTION IF EXISTS dispatch.matchable_from_changed_jobs();
