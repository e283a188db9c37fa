-- Pricing: tariffs per service and vehicle type, the surge settings, and service zones with
-- their own tariffs.

INSERT INTO dispatch.settings (key, value, description) VALUES
    ('surge_k', '0.5',
     'Surge slope k: multiplier = 1 + k * max(0, demand / supply - 1), before the cap.'),
    ('surge_cap', '2.0', 'Largest surge multiplier.')
ON CONFLICT (key) DO NOTHING;

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
COMMENT ON TABLE dispatch.tariffs IS
    'Tariffs per service and vehicle type. Towing: base fare + per-km x pickup-to-dropoff distance. '
    'Repair: a callout fee only; the assistant sets the final price on completion '
    '(final_price_on_completion).';
-- The original service's values, DZD.
INSERT INTO dispatch.tariffs
    (service_type, vehicle_type, base_label, base_fare, per_km, currency, final_price_on_completion)
VALUES
    ('towing', 'light', 'Base fare', 1500, 50, 'DZD', false),
    ('towing', 'heavy', 'Base fare', 3000, 150, 'DZD', false),
    ('repair', 'light', 'Callout fee', 1000, 0, 'DZD', true),
    ('repair', 'heavy', 'Callout fee', 2000, 0, 'DZD', true);

CREATE TABLE dispatch.service_zones (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name        text NOT NULL CONSTRAINT service_zones_name_check CHECK (length(name) BETWEEN 1 AND 120),
    geom        geometry(MultiPolygon, 4326) NOT NULL
                    CONSTRAINT service_zones_geom_valid_check CHECK (ST_IsValid(geom) AND NOT ST_IsEmpty(geom)),
    area_m2     double precision GENERATED ALWAYS AS (ST_Area(geom::geography)) STORED,
    serviceable boolean NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT service_zones_name_key UNIQUE (name)
);
COMMENT ON TABLE dispatch.service_zones IS
    'Service zones: polygons with their own tariffs and a serviceable flag. A pickup''s zone is the '
    'smallest zone covering it (dispatch.zone_at).';
COMMENT ON COLUMN dispatch.service_zones.area_m2 IS
    'Geodesic area, the tie-breaker on overlap (the smallest zone wins).';
COMMENT ON CONSTRAINT service_zones_geom_valid_check ON dispatch.service_zones IS
    'Analysts may insert rows by hand: the database refuses what the API refuses.';
CREATE INDEX service_zones_geom_idx ON dispatch.service_zones USING gist (geom);

CREATE TABLE dispatch.zone_tariffs (
    zone_id      bigint NOT NULL REFERENCES dispatch.service_zones (id) ON DELETE CASCADE,
    service_type text NOT NULL,
    vehicle_type text NOT NULL,
    base_fare    numeric(12, 2) NOT NULL CONSTRAINT zone_tariffs_base_fare_check CHECK (base_fare >= 0),
    per_km       numeric(12, 2) NOT NULL CONSTRAINT zone_tariffs_per_km_check CHECK (per_km >= 0),
    CONSTRAINT zone_tariffs_pkey PRIMARY KEY (zone_id, service_type, vehicle_type),
    CONSTRAINT zone_tariffs_pair_fkey FOREIGN KEY (service_type, vehicle_type)
        REFERENCES dispatch.tariffs (service_type, vehicle_type)
);
COMMENT ON TABLE dispatch.zone_tariffs IS
    'A zone''s own prices; a (service, vehicle) pair without a row falls back to dispatch.tariffs '
    '(whose label, currency and final_price_on_completion always apply).';
