-- Answers to offers: an accept's shared step (dispatch.take_request, also a dispatcher's assign),
-- a decline, and the withdrawal of open offers when a request is taken or canceled. Like the
-- rounds (offers.sql), each runs with the request's row locked.

CREATE OR REPLACE FUNCTION dispatch.close_offers(
    assistance_id bigint,
    winner_id bigint,
    closed_state text,
    reason text
)
RETURNS integer
LANGUAGE plpgsql
VOLATILE
AS $$
DECLARE
    topics text[];
    frames jsonb[];
    gone   integer;
BEGIN
    -- One statement, one batch: the dispatchers' frame of every closed offer (the winner's
    -- first), then each other assistant's offer_withdrawn.
    WITH won AS (
        UPDATE dispatch.offers o SET state = 'accepted', closed_at = now()
         WHERE o.assistance_id = close_offers.assistance_id
           AND o.assistant_id = close_offers.winner_id AND o.state = 'open'
        RETURNING o.*
    ), closed AS (
        UPDATE dispatch.offers o
           SET state = close_offers.closed_state, closed_at = now(),
               close_reason = CASE WHEN close_offers.closed_state = 'withdrawn'
                                   THEN close_offers.reason END
         WHERE o.assistance_id = close_offers.assistance_id AND o.state = 'open'
           AND o.assistant_id IS DISTINCT FROM close_offers.winner_id
        RETURNING o.*
    ), pickup AS (
        SELECT dispatch.point_json(r.pickup) AS p FROM dispatch.assistance_requests r
         WHERE r.id = close_offers.assistance_id
    ), frames AS (
        SELECT 0 AS part, w.assistant_id, 'dispatch' AS topic, dispatch.feed_offer_frame(w, p.p) AS frame
          FROM won w, pickup p
        UNION ALL
        SELECT 1, x.assistant_id, 'dispatch', dispatch.feed_offer_frame(x, p.p) FROM closed x, pickup p
        UNION ALL
        SELECT 2, x.assistant_id, 'assistant:' || x.assistant_id,
               jsonb_build_object('type', 'offer_withdrawn',
                                  'assistance_id', close_offers.assistance_id,
                                  'reason', close_offers.reason)
          FROM closed x
    )
    SELECT array_agg(f.topic ORDER BY f.part, f.assistant_id),
           array_agg(f.frame ORDER BY f.part, f.assistant_id),
           count(*) FILTER (WHERE f.part = 2)
      INTO topics, frames, gone
      FROM frames f;
    IF topics IS NOT NULL THEN
        PERFORM dispatch.emit_many(topics, frames);
    END IF;
    RETURN gone;
END;
$$;
COMMENT ON FUNCTION dispatch.close_offers(bigint, bigint, text, text) IS
    'Internal: close every open offer of a request: winner_id''s (if any) becomes accepted, the '
    'others closed_state (withdrawn with close_reason = reason, or expired); each of those '
    'assistants gets {type: offer_withdrawn, assistance_id, reason} and the dispatchers an "offer" '
    'frame per closed offer, in one batch. Returns how many were not accepted.';

CREATE OR REPLACE FUNCTION dispatch.close_open_offers(
    assistance_id bigint,
    winner_id bigint,
    reason text
)
RETURNS integer
LANGUAGE plpgsql
VOLATILE
AS $$
BEGIN
    RETURN dispatch.close_offers(assistance_id, winner_id, 'withdrawn', reason);
END;
$$;
COMMENT ON FUNCTION dispatch.close_open_offers(bigint, bigint, text) IS
    'The request was taken or canceled: winner_id''s open offer (if any) becomes accepted, every '
    'other open offer withdrawn with reason (accepted | canceled | assigned), and each of those '
    'assistants gets {type: offer_withdrawn, assistance_id, reason}. Returns the number withdrawn.';

CREATE OR REPLACE FUNCTION dispatch.take_request(
    assistance_id bigint,
    assistant_id bigint,
    actor_id bigint,
    reason text DEFAULT 'accepted'
)
RETURNS dispatch.assistance_requests
LANGUAGE plpgsql
VOLATILE
AS $$
#variable_conflict use_column
DECLARE
    req dispatch.assistance_requests;
BEGIN
    -- The row lock is the arbiter: of concurrent takers (accepts, a dispatcher's assign) the
    -- first locks the row and finds it requested; the others wait, then find it taken.
    SELECT * INTO req FROM dispatch.assistance_requests r WHERE r.id = take_request.assistance_id
    FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'Assistance request not found.' USING ERRCODE = 'DP001';
    END IF;
    IF req.status IN ('completed', 'canceled') THEN
        RAISE EXCEPTION 'This assistance request is already %.', req.status USING ERRCODE = 'DP006';
    END IF;
    IF req.status <> 'requested' THEN
        RAISE EXCEPTION 'This assistance request was already accepted.' USING ERRCODE = 'DP003';
    END IF;
    PERFORM dispatch.close_open_offers(req.id, take_request.assistant_id, take_request.reason);
    UPDATE dispatch.assistance_requests AS r
       SET status = 'accepted', assistant_id = take_request.assistant_id, accepted_at = now(),
           updated_at = now()
     WHERE r.id = req.id
    RETURNING * INTO req;
    req := dispatch.set_job_eta(req);  -- etas.sql: the status frame carries it
    PERFORM dispatch.record_transition(req, take_request.actor_id, 'requested');
    RETURN req;
END;
$$;
COMMENT ON FUNCTION dispatch.take_request(bigint, bigint, bigint, text) IS
    'The one way a request gets its assistant (an accept, a dispatcher''s assign): exactly one of '
    'concurrent takers wins (DP003 for the others, DP006 if completed/canceled, DP001 unknown); '
    'the winner''s open offer becomes accepted, every other open offer is withdrawn with reason, '
    'the search stops, the transition is recorded with actor_id. No availability checks: the '
    'caller makes them (with the assistant''s profile row locked).';

CREATE OR REPLACE FUNCTION dispatch.decline_offer(assistance_id bigint, assistant_id bigint)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
AS $$
#variable_conflict use_column
DECLARE
    req      dispatch.assistance_requests;
    declined dispatch.offers;
BEGIN
    -- Lock the request first, as the round driver and accept do: a decline and a round end
    -- cannot both close the same offer.
    SELECT * INTO req FROM dispatch.assistance_requests r WHERE r.id = decline_offer.assistance_id
    FOR UPDATE;
    UPDATE dispatch.offers o SET state = 'declined', closed_at = now()
     WHERE o.assistance_id = decline_offer.assistance_id
       AND o.assistant_id = decline_offer.assistant_id AND o.state = 'open'
    RETURNING o.* INTO declined;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'You hold no open offer for this request.' USING ERRCODE = 'DP017';
    END IF;
    PERFORM dispatch.emit('dispatch',
                          dispatch.feed_offer_frame(declined, dispatch.point_json(req.pickup)));
    -- Everyone offered this round said no: the next round starts now, not at the deadline. An
    -- exclusive offer of an assignment batch declined: back into the next batch (assignment.sql).
    IF req.searching AND NOT EXISTS (
        SELECT 1 FROM dispatch.offers o WHERE o.assistance_id = req.id AND o.state = 'open'
    ) THEN
        IF req.assigning THEN
            PERFORM dispatch.assignment_requeue(req);
        ELSE
            PERFORM dispatch.advance_offer_round(req);
        END IF;
    END IF;
    RETURN jsonb_build_object('assistance_id', req.id, 'declined', true);
END;
$$;
COMMENT ON FUNCTION dispatch.decline_offer(bigint, bigint) IS
    'An assistant declines its open offer of a request (never offered it again); when no open '
    'offer of the request is left the next round starts at once (an exclusive offer of an '
    'assignment batch: the request waits for the next batch). DP017 without an open offer.';

-- A request leaving 'requested' withdraws its open offers, whichever function made the change.
-- Functions that know a better reason (an assign) close the offers themselves first; this
-- catches every other writer.
CREATE OR REPLACE FUNCTION dispatch.requests_withdraw_offers() RETURNS trigger
LANGUAGE plpgsql
VOLATILE
AS $$
BEGIN
    PERFORM dispatch.close_open_offers(
        NEW.id, NEW.assistant_id,
        CASE WHEN NEW.status = 'canceled' THEN 'canceled' ELSE 'accepted' END);
    RETURN NULL;
END;
$$;
COMMENT ON FUNCTION dispatch.requests_withdraw_offers() IS
    'Trigger: a request leaving requested withdraws its open offers (see '
    'dispatch.close_open_offers).';

CREATE OR REPLACE TRIGGER assistance_withdraw_offers AFTER UPDATE OF status
    ON dispatch.assistance_requests
    FOR EACH ROW WHEN (OLD.status = 'requested' AND NEW.status <> 'requested')
    EXECUTE FUNCTION dispatch.requests_withdraw_offers();

-- A closed offer never changes again (offers_closed_check covers open <-> closed consistency).

CREATE OR REPLACE FUNCTION dispatch.offers_final_guard() RETURNS trigger
LANGUAGE plpgsql
VOLATILE
AS $$
BEGIN
    IF OLD.state <> 'open' AND (NEW.state, NEW.closed_at, NEW.close_reason)
                               IS DISTINCT FROM (OLD.state, OLD.closed_at, OLD.close_reason) THEN
        RAISE EXCEPTION 'An offer in state % is final.', OLD.state USING ERRCODE = 'DP013';
    END IF;
    RETURN NEW;
END;
$$;
COMMENT ON FUNCTION dispatch.offers_final_guard() IS
    'Trigger: a closed offer (declined, expired, withdrawn, accepted) never changes again '
    '(DP013).';

CREATE OR REPLACE TRIGGER offers_final_guard BEFORE UPDATE ON dispatch.offers
    FOR EACH ROW WHEN (OLD.state <> 'open') EXECUTE FUNCTION dispatch.offers_final_guard();
COMMENT ON TRIGGER offers_final_guard ON dispatch.offers IS
    'Runs only for an offer already closed: the WHEN condition is checked without calling the '
    'function, so closing ten open offers (a round''s end, a cancel) runs no plpgsql at all.';
