-- Offers (contract, "Offers"): a request is offered in rounds until someone takes it. One row per
-- (request, assistant): an assistant is offered a request at most once, ever. Why dispatch.offers
-- has no foreign keys, few indexes and a fillfactor: docs/decisions/0003-offers-lean-writes.md.

INSERT INTO dispatch.settings (key, value, description) VALUES
    ('offer_timeout_s', '20', 'How long one offer round lasts, seconds.'),
    ('offer_radius_growth', '1.5',
     'Factor by which the search radius grows from one round to the next.'),
    ('offer_max_radius_m', '50000', 'Largest search radius a round may reach, metres.'),
    ('offer_max_rounds', '5',
     'Rounds before the search is exhausted (the request then waits in the dispatcher queue).'),
    ('offer_arrival_check_s', '2',
     'How often (seconds) each searching request looks for assistants who became eligible within '
     'its current round''s reach; they are offered it as part of that round.')
ON CONFLICT (key) DO NOTHING;

CREATE TABLE dispatch.offers (
    assistance_id bigint NOT NULL,
    assistant_id  bigint NOT NULL,
    round         smallint NOT NULL CONSTRAINT offers_round_check CHECK (round >= 1),
    distance_m    double precision NOT NULL CONSTRAINT offers_distance_check CHECK (distance_m >= 0),
    sent_at       timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz NOT NULL,
    state         text NOT NULL DEFAULT 'open' CONSTRAINT offers_state_check
                      CHECK (state IN ('open', 'declined', 'expired', 'withdrawn', 'accepted')),
    closed_at     timestamptz,
    close_reason  text,
    CONSTRAINT offers_pkey PRIMARY KEY (assistance_id, assistant_id),
    CONSTRAINT offers_closed_check CHECK ((state = 'open') = (closed_at IS NULL)),
    CONSTRAINT offers_expiry_check CHECK (expires_at > sent_at)
) WITH (fillfactor = 70);
COMMENT ON TABLE dispatch.offers IS
    'Every offer of a request to an assistant: its round, distance, when it was sent and expires, '
    'and how it ended (open, declined, expired, withdrawn, accepted). Closing states are final.';
COMMENT ON COLUMN dispatch.offers.assistance_id IS
    'The request offered. No foreign key: offers are written by dispatch.send_offers alone, for '
    'the request it holds locked; deleting or truncating requests deletes their offers by trigger '
    '(docs/decisions/0003-offers-lean-writes.md).';
COMMENT ON COLUMN dispatch.offers.assistant_id IS
    'The assistant offered it. No foreign key: dispatch.send_offers offers only assistants it has '
    'just read from dispatch.available_assistants; deleting or truncating users deletes their '
    'offers by trigger (docs/decisions/0003-offers-lean-writes.md).';
COMMENT ON COLUMN dispatch.offers.close_reason IS
    'Why a withdrawn offer closed: accepted (by someone else) | canceled | assigned.';
-- No index holds state, closed_at or close_reason (in its columns or predicate), so closing an
-- offer is a HOT update; the primary key, led by the request, serves "the open offers of this
-- request" (at most offer_max_rounds * matching_max_results rows).
CREATE INDEX offers_assistant_expiry_idx ON dispatch.offers (assistant_id, expires_at);
COMMENT ON INDEX dispatch.offers_assistant_expiry_idx IS
    '"Is this assistant offered something now" (dispatch.assistant_state, the dispatchers'' list, '
    'dispatch.assistant_utilisation): the assistant''s offers that have not expired. Holds no '
    'state, so closing an offer stays a HOT update.';
CREATE INDEX offers_expiry_idx ON dispatch.offers (expires_at);
COMMENT ON INDEX dispatch.offers_expiry_idx IS
    '"Who is offered something now" (the fleet feed): the offers that have not expired, a live '
    'round''s, a few per assistant. Holds no state, so closing an offer stays a HOT update.';

CREATE TABLE dispatch.offer_rounds (
    assistance_id bigint NOT NULL REFERENCES dispatch.assistance_requests (id) ON DELETE CASCADE,
    round         smallint NOT NULL CONSTRAINT offer_rounds_round_check CHECK (round >= 1),
    started_at    timestamptz NOT NULL DEFAULT now(),
    ends_at       timestamptz NOT NULL,
    radius_m      double precision NOT NULL,
    offered       integer NOT NULL DEFAULT 0,
    arrivals      integer NOT NULL DEFAULT 0,
    CONSTRAINT offer_rounds_pkey PRIMARY KEY (assistance_id, round)
);
COMMENT ON TABLE dispatch.offer_rounds IS
    'Every offer round of a request: start, end, search radius, offers sent at its start and to '
    'assistants arriving during it. With dispatch.offers, the full record of a search.';
COMMENT ON COLUMN dispatch.offer_rounds.offered IS 'Offers sent when the round started.';
COMMENT ON COLUMN dispatch.offer_rounds.arrivals IS
    'Offers added during the round to assistants who became eligible within its reach.';
