-- Offer policies (contract, "Offer policies"; issue 26): beside the rounds, batched optimal
-- assignment. Every assignment_window_s the searching requests and the idle eligible assistants
-- are matched by a minimum-cost assignment and each matched request gets one exclusive offer.
-- Every batch is recorded with the costs it considered and its solution (docs/architecture/assignment.md).

INSERT INTO dispatch.settings (key, value, description) VALUES
    ('offer_policy', '"rounds"',
     'How requests are offered: rounds (the N nearest at once, round after round) or assignment '
     '(batched minimum-cost matching, one exclusive offer per request, then rounds).'),
    ('assignment_window_s', '2',
     'Under offer_policy assignment: how long (seconds) a request waits for the batch that '
     'matches it (a batch runs once the oldest waiting request has waited this long).'),
    ('assignment_offer_timeout_s', '15',
     'Under offer_policy assignment: how long (seconds) an exclusive offer stays open.'),
    ('assignment_max_batches', '5',
     'Under offer_policy assignment: batches a request takes part in without a taker before it '
     'falls back to the offer rounds.'),
    ('assignment_cost_cap_s', '1800',
     'Under offer_policy assignment: a pair whose travel time (seconds; road where a graph covers '
     'the pickup, else straight line) is over this is not a candidate.')
ON CONFLICT (key) DO NOTHING;

ALTER TABLE dispatch.assistance_requests
    ADD COLUMN assigning boolean NOT NULL DEFAULT false,
    ADD COLUMN assignment_batches smallint NOT NULL DEFAULT 0
        CONSTRAINT assistance_requests_assignment_batches_check CHECK (assignment_batches >= 0),
    ADD COLUMN queued_at timestamptz;
COMMENT ON COLUMN dispatch.assistance_requests.assigning IS
    'In the assignment phase (offer_policy assignment): waiting for a batch or holding an '
    'exclusive offer; false once it falls back to rounds or leaves requested.';
COMMENT ON COLUMN dispatch.assistance_requests.assignment_batches IS
    'How many assignment batches considered this request.';
COMMENT ON COLUMN dispatch.assistance_requests.queued_at IS
    'Since when the request waits for the next assignment batch (NULL while it holds an exclusive '
    'offer or is not in the assignment phase).';
CREATE INDEX assistance_requests_queued_idx ON dispatch.assistance_requests (service_type, queued_at)
    WHERE assigning;

ALTER TABLE dispatch.offers ADD COLUMN batch_id bigint;
COMMENT ON COLUMN dispatch.offers.batch_id IS
    'The assignment batch that made this exclusive offer (dispatch.assignment_batches); NULL for '
    'an offer of the rounds.';

CREATE TABLE dispatch.assignment_batches (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    area        text NOT NULL,
    started_at  timestamptz NOT NULL DEFAULT now(),
    solve_ms    double precision NOT NULL CONSTRAINT assignment_batches_solve_check
                    CHECK (solve_ms >= 0),
    requests    bigint[] NOT NULL,
    assistants  bigint[] NOT NULL,
    costs       jsonb NOT NULL,
    matched     integer NOT NULL,
    total_cost_s double precision NOT NULL DEFAULT 0
);
COMMENT ON TABLE dispatch.assignment_batches IS
    'Every assignment batch: its area (the service type matched), when it ran, how long the '
    'solve took, the requests and assistants it saw, every candidate pair costed '
    '(costs: [[assistance_id, assistant_id, cost_s, eta_source, distance_m]]) and how many it '
    'matched at what total cost. The solution is in dispatch.assignment_decisions.';
CREATE INDEX assignment_batches_started_idx ON dispatch.assignment_batches (started_at);

CREATE TABLE dispatch.assignment_decisions (
    batch_id          bigint NOT NULL REFERENCES dispatch.assignment_batches (id) ON DELETE CASCADE,
    assistance_id     bigint NOT NULL
                          REFERENCES dispatch.assistance_requests (id) ON DELETE CASCADE,
    assistant_id      bigint,
    cost_s            double precision,
    eta_source        text,
    distance_m        double precision,
    candidates        integer NOT NULL DEFAULT 0,
    nearest_id        bigint,
    nearest_cost_s    double precision,
    outcome           text NOT NULL CONSTRAINT assignment_decisions_outcome_check
                          CHECK (outcome IN ('offered', 'unmatched', 'no_candidate', 'fell_back')),
    CONSTRAINT assignment_decisions_pkey PRIMARY KEY (batch_id, assistance_id),
    CONSTRAINT assignment_decisions_offered_check
        CHECK ((outcome = 'offered') = (assistant_id IS NOT NULL))
);
COMMENT ON TABLE dispatch.assignment_decisions IS
    'A batch''s decision for each request it saw: the assistant offered and the pair''s cost, or '
    'why none (unmatched: others needed its candidates more; no_candidate: nobody within '
    'assignment_cost_cap_s; fell_back: its last batch passed, rounds started), with its cheapest '
    'candidate (nearest_id, nearest_cost_s: what the greedy nearest would have offered).';
CREATE INDEX assignment_decisions_request_idx ON dispatch.assignment_decisions (assistance_id);
COMMENT ON INDEX dispatch.assistance_requests_queued_idx IS
    '"Which requests wait for the next assignment batch, oldest first" (dispatch.assignment_problems).';
