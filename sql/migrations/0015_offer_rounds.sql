-- Offer rounds (issue 9): what the round driver needs beyond the shared shape of 0009.

INSERT INTO dispatch.settings (key, value, description) VALUES
    ('offer_arrival_check_s', '2',
     'How often (seconds) each searching request looks for assistants who became eligible within '
     'its current round''s reach; they are offered it as part of that round.')
ON CONFLICT (key) DO NOTHING;

ALTER TABLE dispatch.assistance_requests
    -- The search radius of the round in progress (metres); NULL before the first round.
    ADD COLUMN round_radius_m       double precision,
    -- When the arrival sweep last looked for newly eligible assistants for this request.
    ADD COLUMN arrivals_checked_at  timestamptz;

-- The arrival sweep takes searching requests least recently checked first.
CREATE INDEX assistance_requests_arrivals_idx ON dispatch.assistance_requests (arrivals_checked_at)
    WHERE searching;
-- "Which offers does this request hold" in each round (accept, decline, expiry).
CREATE INDEX offers_open_request_idx ON dispatch.offers (assistance_id) WHERE state = 'open';

-- One row per round of a request: when it started, its reach, how many it reached. A round that
-- found nobody still leaves its row, so a replay sees every round, not only those with offers.
CREATE TABLE dispatch.offer_rounds (
    assistance_id bigint NOT NULL REFERENCES dispatch.assistance_requests (id) ON DELETE CASCADE,
    round         smallint NOT NULL CONSTRAINT offer_rounds_round_check CHECK (round >= 1),
    started_at    timestamptz NOT NULL DEFAULT now(),
    ends_at       timestamptz NOT NULL,
    radius_m      double precision NOT NULL,
    -- Offers sent when the round started, and those added during it to arriving assistants.
    offered       integer NOT NULL DEFAULT 0,
    arrivals      integer NOT NULL DEFAULT 0,
    CONSTRAINT offer_rounds_pkey PRIMARY KEY (assistance_id, round)
);
COMMENT ON TABLE dispatch.offer_rounds IS
    'Every offer round of a request: start, end, search radius, offers sent at its start and to '
    'assistants arriving during it. With dispatch.offers, the full record of a search.';

-- Whenever a request leaves 'requested' (accepted, assigned, canceled) its search stops and its
-- open offers are withdrawn, whichever function made the change. Functions that know a better
-- reason (an assign) close the offers themselves first; this catches every other writer.
CREATE FUNCTION dispatch.requests_stop_search() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.searching := false;
    NEW.round_ends_at := NULL;
    RETURN NEW;
END;
$$;
COMMENT ON FUNCTION dispatch.requests_stop_search() IS
    'Trigger: a request leaving requested stops searching.';
CREATE TRIGGER assistance_stop_search BEFORE UPDATE OF status ON dispatch.assistance_requests
    FOR EACH ROW WHEN (OLD.status = 'requested' AND NEW.status <> 'requested')
    EXECUTE FUNCTION dispatch.requests_stop_search();

CREATE FUNCTION dispatch.requests_withdraw_offers() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM dispatch.close_open_offers(
        NEW.id, NEW.assistant_id,
        CASE WHEN NEW.status = 'canceled' THEN 'canceled' ELSE 'accepted' END);
    RETURN NULL;
END;
$$;
COMMENT ON FUNCTION dispatch.requests_withdraw_offers() IS
    'Trigger: a request leaving requested withdraws its open offers (see dispatch.close_open_offers).';
CREATE TRIGGER assistance_withdraw_offers AFTER UPDATE OF status ON dispatch.assistance_requests
    FOR EACH ROW WHEN (OLD.status = 'requested' AND NEW.status <> 'requested')
    EXECUTE FUNCTION dispatch.requests_withdraw_offers();
