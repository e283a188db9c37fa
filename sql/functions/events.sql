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

CREATE OR REPLACE FUNCTION dispatch.emit_many(topics text[], messages jsonb[])
RETURNS void
LANGUAGE plpgsql
VOLATILE
AS $$
DECLARE
    batch     jsonb := '[]';
    batch_len integer := 0;
    item      jsonb;
    item_len  integer;
BEGIN
    -- One NOTIFY carries as many messages as fit ({"batch": [{topic, message}, ...]}): a request
    -- offered to ten assistants is one notification for every listener to read, not ten.
    FOR i IN 1 .. coalesce(array_length(topics, 1), 0) LOOP
        item := jsonb_build_object('topic', topics[i], 'message', messages[i]);
        item_len := octet_length(item::text);
        IF item_len > 7800 THEN
            PERFORM dispatch.emit(topics[i], messages[i]);  -- parked and sent by reference
            CONTINUE;
        END IF;
        IF batch_len + item_len > 7800 THEN
            PERFORM pg_notify('dispatch_events', jsonb_build_object('batch', batch)::text);
            batch := '[]';
            batch_len := 0;
        END IF;
        batch := batch || jsonb_build_array(item);
        batch_len := batch_len + item_len + 2;
    END LOOP;
    IF batch_len > 0 THEN
        PERFORM pg_notify('dispatch_events', jsonb_build_object('batch', batch)::text);
    END IF;
END;
$$;
COMMENT ON FUNCTION dispatch.emit_many(text[], jsonb[]) IS
    'Publish several WebSocket messages (topics[i] gets messages[i]) on commit, packed into as few '
    'NOTIFYs as the 8000-byte limit allows.';
