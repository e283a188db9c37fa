-- Offers: a request is offered in rounds until someone takes it (contract, "Offers").
-- One row per (request, assistant): an assistant is offered a request at most once, ever.

INSERT INTO dispatch.settings (key, value, description) VALUES
    ('offer_timeout_s', '20', 'How long one offer round lasts, seconds.'),
    ('offer_radius_growth', '1.5',
     'Factor by which the search radius grows from one round to the next.'),
    ('offer_max_radius_m', '50000', 'Largest search radius a round may reach, metres.'),
    ('offer_max_rounds', '5',
     'Rounds before the search is exhausted (the request then waits in the dispatcher queue).')
ON CONFLICT (key) DO NOTHING;

ALTER TABLE dispatch.assistance_requests
    -- true while rounds are running; false once assigned, canceled or exhausted.
    ADD COLUMN searching        boolean NOT NULL DEFAULT false,
    -- The round in progress (0 before the first one is sent).
    ADD COLUMN offer_round      smallint NOT NULL DEFAULT 0
        CONSTRAINT assistance_requests_offer_round_check CHECK (offer_round >= 0),
    -- When the current round ends (database clock); the round driver takes rows due by now().
    ADD COLUMN round_ends_at    timestamptz,
    -- When the search ran out of rounds (search_exhausted was sent); NULL otherwise.
    ADD COLUMN exhausted_at     timestamptz;

CREATE INDEX assistance_requests_round_due_idx ON dispatch.assistance_requests (round_ends_at)
    WHERE searching;

CREATE TABLE dispatch.offers (
    assistance_id bigint NOT NULL REFERENCES dispatch.assistance_requests (id) ON DELETE CASCADE,
    assistant_id  bigint NOT NULL REFERENCES dispatch.users (id) ON DELETE CASCADE,
    round         smallint NOT NULL CONSTRAINT offers_round_check CHECK (round >= 1),
    distance_m    double precision NOT NULL CONSTRAINT offers_distance_check CHECK (distance_m >= 0),
    sent_at       timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz NOT NULL,
    state         text NOT NULL DEFAULT 'open' CONSTRAINT offers_state_check
                      CHECK (state IN ('open', 'declined', 'expired', 'withdrawn', 'accepted')),
    closed_at     timestamptz,
    -- Why a withdrawn offer closed: accepted (by someone else) | canceled | assigned.
    close_reason  text,
    CONSTRAINT offers_pkey PRIMARY KEY (assistance_id, assistant_id),
    CONSTRAINT offers_closed_check CHECK ((state = 'open') = (closed_at IS NULL)),
    CONSTRAINT offers_expiry_check CHECK (expires_at > sent_at)
);
COMMENT ON TABLE dispatch.offers IS
    'Every offer of a request to an assistant: its round, distance, when it was sent and expires, '
    'and how it ended (open, declined, expired, withdrawn, accepted). Closing states are final.';
CREATE INDEX offers_open_assistant_idx ON dispatch.offers (assistant_id) WHERE state = 'open';
CREATE INDEX offers_assistant_sent_idx ON dispatch.offers (assistant_id, sent_at);
CREATE INDEX offers_sent_idx ON dispatch.offers (sent_at);

-- A closed offer never changes again (the constraint above covers open <-> closed consistency).
CREATE FUNCTION dispatch.offers_final_guard() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    IF OLD.state <> 'open' AND (NEW.state, NEW.closed_at, NEW.close_reason)
                               IS DISTINCT FROM (OLD.state, OLD.closed_at, OLD.close_reason) THEN
        RAISE EXCEPTION 'An offer in state % is final.', OLD.state USING ERRCODE = 'DP013';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER offers_final_guard BEFORE UPDATE ON dispatch.offers
    FOR EACH ROW EXECUTE FUNCTION dispatch.offers_final_guard();
