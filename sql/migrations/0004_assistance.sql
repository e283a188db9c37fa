-- The dispatch core: tariffs, matching/surge settings, assistance requests, their transitions, ratings.

-- Tariffs per service and vehicle type. Towing: base fare + per-km × pickup→dropoff distance
-- (the original service's values, DZD). Repair: a callout fee only; the assistant sets the final
-- price on completion (final_price_on_completion).
CREATE TABLE dispatch.tariffs (
    service_type              text NOT NULL CONSTRAINT tariffs_service_type_check
                                  CHECK (service_type IN ('towing', 'repair')),
    vehicle_type              text NOT NULL CONSTRAINT tariffs_vehicle_type_check
                                  CHECK (vehicle_type IN ('light', 'heavy')),
    base_label                text NOT NULL,
    base_fare                 numeric(12, 2) NOT NULL CONSTRAINT tariffs_base_fare_check
                                  CHECK (base_fare >= 0),
    per_km                    numeric(12, 2) NOT NULL CONSTRAINT tariffs_per_km_check
                                  CHECK (per_km >= 0),
    currency                  text NOT NULL DEFAULT 'DZD',
    final_price_on_completion boolean NOT NULL DEFAULT false,
    CONSTRAINT tariffs_pkey PRIMARY KEY (service_type, vehicle_type)
);
INSERT INTO dispatch.tariffs
    (service_type, vehicle_type, base_label, base_fare, per_km, currency, final_price_on_completion)
VALUES
    ('towing', 'light', 'Base fare', 1500, 50, 'DZD', false),
    ('towing', 'heavy', 'Base fare', 3000, 150, 'DZD', false),
    ('repair', 'light', 'Callout fee', 1000, 0, 'DZD', true),
    ('repair', 'heavy', 'Callout fee', 2000, 0, 'DZD', true);

INSERT INTO dispatch.settings (key, value, description) VALUES
    ('surge_k', '0.5',
     'Surge slope k: multiplier = 1 + k * max(0, demand / supply - 1), before the cap.'),
    ('surge_cap', '2.0', 'Largest surge multiplier.'),
    ('matching_radius_m', '10000', 'Default search radius of dispatch.nearby_assistants, metres.'),
    ('matching_max_results', '10', 'Default number of assistants dispatch.nearby_assistants returns.')
ON CONFLICT (key) DO NOTHING;

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
    -- The quote as dispatch.quote_price built it ({total, currency, surge_multiplier, lines}),
    -- updated when the assistant sets a repair's final price.
    price                   jsonb NOT NULL,
    total_price             numeric(12, 2) NOT NULL
                                CONSTRAINT assistance_requests_total_price_check CHECK (total_price >= 0),
    currency                text NOT NULL,
    -- Who was notified at creation ([{assistant_id, distance}]); an idempotent retry answers with it.
    matched_assistants      jsonb NOT NULL DEFAULT '[]',
    idempotency_key         text,
    idempotency_fingerprint text,
    created_at              timestamptz NOT NULL DEFAULT now(),
    updated_at              timestamptz NOT NULL DEFAULT now(),
    accepted_at             timestamptz,
    started_at              timestamptz,
    completed_at            timestamptz,
    canceled_at             timestamptz,
    CONSTRAINT assistance_requests_assistant_check
        CHECK (status IN ('requested', 'canceled') OR assistant_id IS NOT NULL),
    CONSTRAINT assistance_requests_parties_check CHECK (assistant_id IS DISTINCT FROM client_id),
    CONSTRAINT assistance_requests_idempotency_key UNIQUE (client_id, idempotency_key)
);
-- The rules the lifecycle functions enforce, backed by the database itself.
CREATE UNIQUE INDEX assistance_one_open_per_client ON dispatch.assistance_requests (client_id)
    WHERE status IN ('requested', 'accepted', 'ongoing');
CREATE UNIQUE INDEX assistance_one_open_per_assistant ON dispatch.assistance_requests (assistant_id)
    WHERE status IN ('accepted', 'ongoing');
CREATE INDEX assistance_requests_client_idx
    ON dispatch.assistance_requests (client_id, created_at DESC, id DESC);
CREATE INDEX assistance_requests_assistant_idx
    ON dispatch.assistance_requests (assistant_id, created_at DESC, id DESC)
    WHERE assistant_id IS NOT NULL;
CREATE INDEX assistance_requests_open_cell_idx ON dispatch.assistance_requests (pickup_h3_r7)
    WHERE status = 'requested';

-- Every transition (creation included, from_status NULL): who, in which role, when, from, to.
CREATE TABLE dispatch.assistance_events (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    assistance_id bigint NOT NULL REFERENCES dispatch.assistance_requests (id) ON DELETE CASCADE,
    actor_id      bigint NOT NULL REFERENCES dispatch.users (id),
    actor_role    text NOT NULL,
    from_status   text,
    to_status     text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX assistance_events_assistance_idx ON dispatch.assistance_events (assistance_id, id);

-- One rating per completed assistance, by its client (the primary key makes it "once").
CREATE TABLE dispatch.ratings (
    assistance_id bigint CONSTRAINT ratings_pkey PRIMARY KEY
                      REFERENCES dispatch.assistance_requests (id) ON DELETE CASCADE,
    client_id     bigint NOT NULL REFERENCES dispatch.users (id),
    assistant_id  bigint NOT NULL REFERENCES dispatch.users (id),
    rating        smallint NOT NULL CONSTRAINT ratings_rating_check CHECK (rating BETWEEN 1 AND 5),
    comment       text NOT NULL DEFAULT '',
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ratings_assistant_idx ON dispatch.ratings (assistant_id);
