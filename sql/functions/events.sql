-- dispatch.emit: the one seam between a change and the real-time layer.
CREATE OR REPLACE FUNCTION dispatch.emit(topic text, message jsonb)
RETURNS void
LANGUAGE plpgsql
VOLATILE
AS $$
DECLARE
    envelope text := jsonb_build_object('topic', topic, 'message', message)::text;
    parked   bigint;
BEGIN
    -- NOTIFY is transactional: a rolled-back change announces nothing.
    IF octet_length(envelope) <= 7900 THEN
        PERFORM pg_notify('dispatch_events', envelope);
    ELSE
        INSERT INTO dispatch.event_overflow (topic, message) VALUES (topic, message)
        RETURNING id INTO parked;
        PERFORM pg_notify('dispatch_events', jsonb_build_object('topic', topic, 'ref', parked)::text);
        DELETE FROM dispatch.event_overflow WHERE created_at < now() - interval '1 hour';
    END IF;
END;
$$;
COMMENT ON FUNCTION dispatch.emit(text, jsonb) IS
    'Publish a WebSocket message to a topic (assistant:<id> or assistance:<id>) on commit, via '
    'NOTIFY dispatch_events; messages over the NOTIFY limit are parked in dispatch.event_overflow.';
