-- Shifts: an assistant's periods on duty, opened and closed by triggers on the tables that decide
-- whether it is on duty (dispatch.assistants.is_active, dispatch.users.is_disabled), and the
-- figures per shift (online and on-job minutes, jobs) read off the request timeline.

CREATE OR REPLACE FUNCTION dispatch.sync_shifts(user_ids bigint[])
RETURNS void
LANGUAGE plpgsql
VOLATILE
AS $$
BEGIN
    IF cardinality(user_ids) = 0 THEN
        RETURN;
    END IF;
    -- Serialise on the assistants rows (as refresh_matchable does), then decide in new
    -- statements: a toggle racing a disable cannot both decide from a stale state.
    PERFORM 1 FROM dispatch.assistants a WHERE a.user_id = ANY (user_ids)
      ORDER BY a.user_id FOR NO KEY UPDATE;
    UPDATE dispatch.shifts s
       SET ended_at = greatest(now(), s.started_at),
           end_reason = CASE WHEN a.user_id IS NULL THEN 'deleted'
                             WHEN u.is_disabled THEN 'disabled'
                             ELSE 'inactive' END
      FROM dispatch.users u
      LEFT JOIN dispatch.assistants a ON a.user_id = u.id
     WHERE s.assistant_id = ANY (user_ids) AND s.ended_at IS NULL AND u.id = s.assistant_id
       AND NOT (coalesce(a.is_active, false) AND NOT u.is_disabled);
    INSERT INTO dispatch.shifts (assistant_id)
    SELECT a.user_id FROM dispatch.assistants a JOIN dispatch.users u ON u.id = a.user_id
     WHERE a.user_id = ANY (user_ids) AND a.is_active AND NOT u.is_disabled
    ON CONFLICT (assistant_id) WHERE ended_at IS NULL DO NOTHING;
END;
$$;
COMMENT ON FUNCTION dispatch.sync_shifts(bigint[]) IS
    'Open a shift for each of these assistants who is on duty (active, not disabled) without one, '
    'and close the open shift of each who is not (called by triggers).';

CREATE OR REPLACE FUNCTION dispatch.shifts_from_assistants() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM dispatch.sync_shifts(ARRAY(SELECT n.user_id FROM new_rows n WHERE n.is_active));
    ELSIF TG_OP = 'UPDATE' THEN
        PERFORM dispatch.sync_shifts(ARRAY(
            SELECT n.user_id FROM new_rows n JOIN old_rows o ON o.user_id = n.user_id
             WHERE n.is_active IS DISTINCT FROM o.is_active));
    ELSE
        PERFORM dispatch.sync_shifts(ARRAY(SELECT o.user_id FROM old_rows o));
    END IF;
    RETURN NULL;
END;
$$;
COMMENT ON FUNCTION dispatch.shifts_from_assistants() IS
    'Trigger: open or close shifts of assistants inserted, deleted or whose is_active changed.';

CREATE OR REPLACE FUNCTION dispatch.shifts_from_users() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM dispatch.sync_shifts(ARRAY(
        SELECT n.id FROM new_rows n JOIN old_rows o ON o.id = n.id
         WHERE n.role = 'assistant' AND n.is_disabled IS DISTINCT FROM o.is_disabled));
    RETURN NULL;
END;
$$;
COMMENT ON FUNCTION dispatch.shifts_from_users() IS
    'Trigger: disabling an assistant closes its shift; enabling an active one opens one.';

CREATE OR REPLACE TRIGGER assistants_shifts_insert AFTER INSERT ON dispatch.assistants
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION dispatch.shifts_from_assistants();
CREATE OR REPLACE TRIGGER assistants_shifts_update AFTER UPDATE ON dispatch.assistants
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION dispatch.shifts_from_assistants();
CREATE OR REPLACE TRIGGER assistants_shifts_delete AFTER DELETE ON dispatch.assistants
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION dispatch.shifts_from_assistants();
CREATE OR REPLACE TRIGGER users_shifts AFTER UPDATE ON dispatch.users
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION dispatch.shifts_from_users();

CREATE OR REPLACE VIEW dispatch.shift_report AS
SELECT s.id AS shift_id,
       s.assistant_id,
       s.started_at,
       s.ended_at,
       s.end_reason,
       round((extract(epoch FROM coalesce(s.ended_at, now()) - s.started_at) / 60)::numeric, 1)
           AS online_minutes,
       coalesce(j.on_job_minutes, 0) AS on_job_minutes,
       coalesce(j.jobs, 0) AS jobs
  FROM dispatch.shifts s
  LEFT JOIN LATERAL (
      -- Time on a job: from its accept to its completion or cancellation (or now), clipped to
      -- the shift; jobs: those accepted during the shift.
      SELECT round((sum(extract(epoch FROM
                       least(coalesce(r.completed_at, r.canceled_at, now()), coalesce(s.ended_at, now()))
                       - greatest(r.accepted_at, s.started_at))) / 60)::numeric, 1) AS on_job_minutes,
             count(*) FILTER (WHERE r.accepted_at >= s.started_at)::integer AS jobs
        FROM dispatch.assistance_requests r
       WHERE r.assistant_id = s.assistant_id
         AND r.accepted_at IS NOT NULL
         AND r.accepted_at < coalesce(s.ended_at, now())
         AND coalesce(r.completed_at, r.canceled_at, now()) > s.started_at
  ) j ON true;
COMMENT ON VIEW dispatch.shift_report IS
    'One row per shift: online_minutes (start to end, or now while open), on_job_minutes (time '
    'between accept and completion/cancellation of the assistant''s jobs within the shift) and '
    'jobs (accepted during the shift). Feeds per-assistant utilisation.';

CREATE OR REPLACE FUNCTION dispatch.list_shifts(
    assistant_id bigint,
    since timestamptz DEFAULT NULL,
    page_size integer DEFAULT 100
)
RETURNS jsonb
LANGUAGE plpgsql
STABLE
AS $$
BEGIN
    RETURN (
        SELECT coalesce(jsonb_agg(jsonb_build_object(
                   'id', r.shift_id,
                   'started_at', dispatch.iso_utc(r.started_at),
                   'ended_at', dispatch.iso_utc(r.ended_at),
                   'end_reason', r.end_reason,
                   'online_minutes', r.online_minutes,
                   'on_job_minutes', r.on_job_minutes,
                   'jobs', r.jobs) ORDER BY r.started_at DESC, r.shift_id DESC), '[]')
          FROM (
              SELECT * FROM dispatch.shift_report r
               WHERE r.assistant_id = list_shifts.assistant_id
                 AND (list_shifts.since IS NULL OR coalesce(r.ended_at, 'infinity') >= list_shifts.since)
               ORDER BY r.started_at DESC, r.shift_id DESC
               LIMIT list_shifts.page_size
          ) r
    );
END;
$$;
COMMENT ON FUNCTION dispatch.list_shifts(bigint, timestamptz, integer) IS
    'An assistant''s shifts that ended at or after `since` (or are open), newest first, with '
    'online_minutes, on_job_minutes and jobs (dispatch.shift_report).';

CREATE OR REPLACE FUNCTION dispatch.chat_history(
    assistance_id bigint,
    user_id bigint,
    before_id bigint DEFAULT NULL,
    page_size integer DEFAULT 50
)
RETURNS jsonb
LANGUAGE plpgsql
STABLE
AS $$
DECLARE
    page jsonb;
    last_id bigint;
    more boolean;
BEGIN
    IF NOT dispatch.can_read_assistance(chat_history.assistance_id, chat_history.user_id) THEN
        RETURN NULL;
    END IF;
    SELECT coalesce(jsonb_agg(jsonb_build_object(
               'id', m.id,
               'type', 'chat',
               'message', m.message,
               'sender', m.sender_id,
               'sender_id', m.sender_id,
               'sender_name', u.name,
               'sender_role', u.role,
               'sent_at', dispatch.iso_utc(m.sent_at),
               'sentAt', dispatch.iso_utc(m.sent_at)) ORDER BY m.id DESC), '[]'),
           min(m.id)
      INTO page, last_id
      FROM (SELECT * FROM dispatch.chat_messages c
             WHERE c.assistance_id = chat_history.assistance_id
               AND (chat_history.before_id IS NULL OR c.id < chat_history.before_id)
             ORDER BY c.id DESC
             LIMIT chat_history.page_size) m
      JOIN dispatch.users u ON u.id = m.sender_id;
    more := last_id IS NOT NULL AND EXISTS (
        SELECT 1 FROM dispatch.chat_messages c
         WHERE c.assistance_id = chat_history.assistance_id AND c.id < last_id);
    RETURN jsonb_build_object('results', page,
                              'next_before', CASE WHEN more THEN last_id END);
END;
$$;
COMMENT ON FUNCTION dispatch.chat_history(bigint, bigint, bigint, integer) IS
    'A page of a job''s chat, newest first: messages with id below before_id (all when NULL), at '
    'most page_size; next_before is the id to pass for the next (older) page, NULL at the start. '
    'NULL unless the user is a party of the job or a dispatcher.';
