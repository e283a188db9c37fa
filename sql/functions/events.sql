-- dispatch.emit: the one seam between a change and the real-time layer.
CREATE OR REPLACE FUNCTION dispatch.emit_except(topic text, message jsonb, skip_user bigint)
RETURNS void
LANGUAGE plpgsql
VOLATILE
AS $$
DECLARE
    -- "skip" only when set: the message itself keeps its nulls.
    envelope text := (jsonb_build_object('topic', topic, 'message', message)
                      || CASE WHEN skip_user IS NULL THEN '{}'::jsonb
                              ELSE jsonb_build_object('skip', skip_user) END)::text;
    parked   bigint;
BEGIN
    -- NOTIFY is transactional: a rolled-back change announces nothing.
    IF octet_length(envelope) <= 7900 THEN
        PERFORM pg_notify('dispatch_events', envelope);
    ELSE
        INSERT INTO dispatch.event_overflow (topic, message) VALUES (topic, message)
        RETURNING id INTO parked;
        PERFORM pg_notify('dispatch_events', (jsonb_build_object('topic', topic, 'ref', parked)
            || CASE WHEN skip_user IS NULL THEN '{}'::jsonb
                    ELSE jsonb_build_object('skip', skip_user) END)::text);
        DELETE FROM dispatch.event_overflow WHERE created_at < now() - interval '1 hour';
    END IF;
END;
$$;
COMMENT ON FUNCTION dispatch.emit_except(text, jsonb, bigint) IS
    'Publish a WebSocket message to a topic on commit, not delivered to sockets of skip_user '
    '(used to relay a party''s own location to the other party only).';

CREATE OR REPLACE FUNCTION dispatch.emit(topic text, message jsonb)
RETURNS void
LANGUAGE sql
VOLATILE
AS $$ SELECT dispatch.emit_except(topic, message, NULL) $$;
COMMENT ON FUNCTION dispatch.emit(text, jsonb) IS
    'Publish a WebSocket message to a topic (assistant:<id> or assistance:<id>) on commit, via '
    'NOTIFY dispatch_events; messages over the NOTIFY limit are parked in dispatch.event_overflow.';
