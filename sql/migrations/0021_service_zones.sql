-- Service zones (seed 004's offers by location): polygons with their own tariffs and a
-- serviceable flag. A pickup's zone is the smallest zone covering it (dispatch.zone_at).

CREATE TABLE dispatch.service_zones (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name        text NOT NULL CONSTRAINT service_zones_name_check CHECK (length(name) BETWEEN 1 AND 120),
    geom        geometry(MultiPolygon, 4326) NOT NULL
                    -- Analysts may insert rows by hand: the database refuses what the API refuses.
                    CONSTRAINT service_zones_geom_valid_check CHECK (ST_IsValid(geom) AND NOT ST_IsEmpty(geom)),
    -- Geodesic area, the tie-breaker on overlap (the smallest zone wins).
    area_m2     double precision GENERATED ALWAYS AS (ST_Area(geom::geography)) STORED,
    serviceable boolean NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT service_zones_name_key UNIQUE (name)
);
CREATE INDEX service_zones_geom_idx ON dispatch.service_zones USING gist (geom);

-- A zone's own prices; a (service, vehicle) pair without a row falls back to dispatch.tariffs
-- (whose label, currency and final_price_on_completion always apply).
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
