-- Real-time: who may join a request's channel, and chat.

-- The one party rule of a job's channel (/ws/assistance/<id>/): its client, and its assistant while
-- the job is theirs and open. The server's sockets re-apply it to every status frame they pass on
-- (api/ws/job.py), so a socket follows the job: reassigned, finished or canceled, the assistant's
-- socket closes (4403). Reading the request's record (view, messages, track) is a wider rule.
CREATE OR REPLACE FUNCTION dispatch.channel_party(request dispatch.assistance_requests, user_id bigint)
RETURNS boolean
LANGUAGE sql
IMMUTABLE
AS $$
    SELECT coalesce(user_id = request.client_id
                    OR (user_id = request.assistant_id AND request.status IN ('accepted', 'ongoing')),
                    false)
$$;
COMMENT ON FUNCTION dispatch.channel_party(dispatch.assistance_requests, bigint) IS
    'Whether a user is a party of a job''s channel: its client, or its assistant while the job is '
    'accepted or ongoing. Never NULL.';

CREATE OR REPLACE FUNCTION dispatch.channel_status(assistance_id bigint, user_id bigint)
RETURNS jsonb
LANGUAGE plpgsql
STABLE
AS $$
BEGIN
    -- plpgsql so the plan is cached per session (a non-inlined SQL function is re-planned
    -- on every call).
    RETURN (
    SELECT dispatch.status_message(r)
        FROM dispatch.assistance_requests r
        WHERE r.id = channel_status.assistance_id
          AND dispatch.channel_party(r, channel_status.user_id)
    );
END;
$$;
COMMENT ON FUNCTION dispatch.channel_status(bigint, bigint) IS
    'The current "status" frame of a request for a party of its channel (dispatch.channel_party); '
    'NULL for anyone else or an unknown request.';

CREATE OR REPLACE FUNCTION dispatch.post_chat(
    assistance_id bigint,
    sender_id bigint,
    message text,
    per_minute integer DEFAULT 0
)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
AS $$
DECLARE
    frame jsonb;
BEGIN
    -- One bucket per user for every socket in every process (DISPATCH_WS_CHAT_PER_MINUTE):
    -- bursts of per_minute, refilled at per_minute a minute.
    IF per_minute > 0
       AND NOT dispatch.take_token('chat:' || post_chat.sender_id, per_minute, per_minute / 60.0) THEN
        RAISE EXCEPTION 'too many chat messages; slow down' USING ERRCODE = 'DPC01';
    END IF;
    INSERT INTO dispatch.chat_messages (assistance_id, sender_id, message)
    SELECT r.id, post_chat.sender_id, post_chat.message
    FROM dispatch.assistance_requests r
    WHERE r.id = post_chat.assistance_id AND dispatch.channel_party(r, post_chat.sender_id)
    RETURNING jsonb_build_object(
        'type', 'chat',
        'message', chat_messages.message,
        'sender', chat_messages.sender_id,
        'sender_name', (SELECT u.name FROM dispatch.users u WHERE u.id = chat_messages.sender_id),
        'sender_role', (SELECT u.role FROM dispatch.users u WHERE u.id = chat_messages.sender_id),
        'sent_at', dispatch.iso_utc(chat_messages.sent_at)
    ) INTO frame;
    IF frame IS NULL THEN
        RAISE EXCEPTION 'You are not a party to this assistance request.' USING ERRCODE = 'DP001';
    END IF;
    PERFORM dispatch.emit('assistance:' || post_chat.assistance_id, frame);
    RETURN frame;
END;
$$;
COMMENT ON FUNCTION dispatch.post_chat(bigint, bigint, text, integer) IS
    'Store a chat message from a party of a request''s channel (dispatch.channel_party; DP001 '
    'otherwise) and relay it on the request''s channel (frame {type: chat, message, sender, '
    'sender_name, sender_role, sent_at}). With per_minute > 0, the sender''s chat bucket '
    '(dispatch.take_token, key chat:<user id>) must hold a token, else DPC01.';
