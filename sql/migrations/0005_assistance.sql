-- Assistance: requests with their offer-round state, the audit timeline of their transitions,
-- ratings, and the chat of a job's parties.

CREATE TABLE dispatch.assistance_requests (
    id                      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    client_id               bigint NOT NULL REFERENCES dispatch.users (id),
    assistant_id            bigint REFERENCES dispatch.users (id),
    status                  text NOT NULL DEFAULT 'requested'
                                CONSTRAINT assistance_requests_status_check
                                CHECK (status IN ('requested', 'accepted', 'ongoing', 'completed',
                                                  'canceled')),
    service_type            text NOT NULL CONSTRAINT assistance_requests_service_type_check
                                CHECK (service_type IN ('towing', 'repair')),
    vehicle_type            text NOT NULL CONSTRAINT assistance_requests_vehicle_type_check
                                CHECK (vehicle_type IN ('light', 'heavy')),
    description             text NOT NULL DEFAULT '',
    pickup                  geography(Point, 4326) NOT NULL,
    dropoff                 geography(Point, 4326),
    pickup_h3_r7            bigint NOT NULL,
    distance_km             double precision NOT NULL DEFAULT 0
                                CONSTRAINT assistance_requests_distance_check CHECK (distance_km >= 0),
    price                   jsonb NOT NULL,
    total_price             numeric(12, 2) NOT NULL
                                CONSTRAINT assistance_requests_total_price_check CHECK (total_price >= 0),
    currency                text NOT NULL,
    matched_assistants      jsonb NOT NULL DEFAULT '[]',
    idempotency_key         text,
    idempotency_fingerprint text,
    created_at              timestamptz NOT NULL DEFAULT now(),
    updated_at              timestamptz NOT NULL DEFAULT now(),
    accepted_at             timestamptz,
    started_at              timestamptz,
    completed_at            timestamptz,
    canceled_at             timestamptz,
    -- The offer rounds' state (sql/functions/offers.sql); the columns keep the order they were
    -- added in, since functions take the row type.
    searching               boolean NOT NULL DEFAULT false,
    offer_round             smallint NOT NULL DEFAULT 0
                                CONSTRAINT assistance_requests_offer_round_check CHECK (offer_round >= 0),
    round_ends_at           timestamptz,
    exhausted_at            timestamptz,
    round_radius_m          double precision,
    arrivals_checked_at     timestamptz,
    pickup_h3_r8            bigint,
    CONSTRAINT assistance_requests_assistant_check
        CHECK (status IN ('requested', 'canceled') OR assistant_id IS NOT NULL),
    CONSTRAINT assistance_requests_parties_check CHECK (assistant_id IS DISTINCT FROM client_id)
);
COMMENT ON COLUMN dispatch.assistance_requests.price IS
    'The quote as dispatch.quote_price built it ({total, currency, surge_multiplier, lines}), '
    'updated when the assistant sets a repair''s final price.';
COMMENT ON COLUMN dispatch.assistance_requests.matched_assistants IS
    'Who was notified at creation ([{assistant_id, distance}]); an idempotent retry answers with it.';
COMMENT ON COLUMN dispatch.assistance_requests.searching IS
    'True while offer rounds are running; false once assigned, canceled or exhausted.';
COMMENT ON COLUMN dispatch.assistance_requests.offer_round IS
    'The round in progress (0 before the first one is sent).';
COMMENT ON COLUMN dispatch.assistance_requests.round_ends_at IS
    'When the current round ends (database clock); the round driver takes rows due by now().';
COMMENT ON COLUMN dispatch.assistance_requests.exhausted_at IS
    'When the search ran out of rounds (search_exhausted was sent); NULL otherwise.';
COMMENT ON COLUMN dispatch.assistance_requests.round_radius_m IS
    'The search radius of the round in progress (metres); NULL before the first round.';
COMMENT ON COLUMN dispatch.assistance_requests.arrivals_checked_at IS
    'When the arrival sweep last looked for newly eligible assistants for this request.';
COMMENT ON COLUMN dispatch.assistance_requests.pickup_h3_r8 IS
    'The pickup''s H3 resolution-8 cell (computed by the application like pickup_h3_r7), for the '
    'analysts'' per-cell figures.';
-- The rules the lifecycle functions enforce, backed by the database itself.
CREATE UNIQUE INDEX assistance_one_open_per_client ON dispatch.assistance_requests (client_id)
    WHERE status IN ('requested', 'accepted', 'ongoing');
CREATE UNIQUE INDEX assistance_one_open_per_assistant ON dispatch.assistance_requests (assistant_id)
    WHERE status IN ('accepted', 'ongoing');
CREATE UNIQUE INDEX assistance_requests_idempotency_key
    ON dispatch.assistance_requests (client_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
COMMENT ON INDEX dispatch.assistance_requests_idempotency_key IS
    'Idempotency keys are unique per client among the requests that have one. Partial, so keyless '
    'requests write no entry at insert or at a non-HOT update; named as the constraint it replaced '
    'so a race still answers IDEMPOTENCY_KEY_REUSED.';
CREATE INDEX assistance_requests_client_idx
    ON dispatch.assistance_requests (client_id, created_at DESC, id DESC);
CREATE INDEX assistance_requests_assistant_idx
    ON dispatch.assistance_requests (assistant_id, created_at DESC, id DESC)
    WHERE assistant_id IS NOT NULL;
CREATE INDEX assistance_requests_open_cell_idx ON dispatch.assistance_requests (pickup_h3_r7)
    WHERE status = 'requested';
CREATE INDEX assistance_requests_created_idx ON dispatch.assistance_requests (created_at DESC, id DESC);
CREATE INDEX assistance_requests_round_due_idx ON dispatch.assistance_requests (round_ends_at)
    WHERE searching;
COMMENT ON INDEX dispatch.assistance_requests_round_due_idx IS
    'The round driver''s queue: searching requests by the end of their round.';
CREATE INDEX assistance_requests_arrivals_idx ON dispatch.assistance_requests (arrivals_checked_at)
    WHERE searching;
COMMENT ON INDEX dispatch.assistance_requests_arrivals_idx IS
    'The arrival sweep takes searching requests least recently checked first.';

CREATE TABLE dispatch.assistance_events (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    assistance_id bigint NOT NULL REFERENCES dispatch.assistance_requests (id) ON DELETE CASCADE,
    actor_id      bigint NOT NULL REFERENCES dispatch.users (id),
    actor_role    text NOT NULL,
    from_status   text,
    to_status     text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    reason        text
);
COMMENT ON TABLE dispatch.assistance_events IS
    'Every transition of a request (creation included, from_status NULL): who, in which role, '
    'when, from, to.';
COMMENT ON COLUMN dispatch.assistance_events.reason IS
    'The reason a dispatcher gave for an assign, reassign or cancel (NULL for the parties'' own '
    'steps).';
CREATE INDEX assistance_events_assistance_idx ON dispatch.assistance_events (assistance_id, id);
CREATE INDEX assistance_events_created_idx ON dispatch.assistance_events (created_at);

CREATE TABLE dispatch.ratings (
    assistance_id bigint CONSTRAINT ratings_pkey PRIMARY KEY
                      REFERENCES dispatch.assistance_requests (id) ON DELETE CASCADE,
    client_id     bigint NOT NULL REFERENCES dispatch.users (id),
    assistant_id  bigint NOT NULL REFERENCES dispatch.users (id),
    rating        smallint NOT NULL CONSTRAINT ratings_rating_check CHECK (rating BETWEEN 1 AND 5),
    comment       text NOT NULL DEFAULT '',
    created_at    timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE dispatch.ratings IS
    'One rating per completed assistance, by its client (the primary key makes it "once").';
CREATE INDEX ratings_assistant_idx ON dispatch.ratings (assistant_id);

CREATE TABLE dispatch.chat_messages (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    assistance_id bigint NOT NULL REFERENCES dispatch.assistance_requests (id) ON DELETE CASCADE,
    sender_id     bigint NOT NULL REFERENCES dispatch.users (id) ON DELETE CASCADE,
    message       text NOT NULL CONSTRAINT chat_messages_message_check
                      CHECK (length(message) BETWEEN 1 AND 2000),
    sent_at       timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE dispatch.chat_messages IS
    'Chat between the parties of an assistance request, stored and relayed over its channel.';
CREATE INDEX chat_messages_assistance_idx ON dispatch.chat_messages (assistance_id, sent_at);
CREATE INDEX chat_messages_assistance_id_idx ON dispatch.chat_messages (assistance_id, id DESC);
COMMENT ON INDEX dispatch.chat_messages_assistance_id_idx IS
    'Chat history pages are keyset pages on the message id.';
