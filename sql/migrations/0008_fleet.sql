-- Fleet: the clients' own vehicles.

CREATE TABLE dispatch.vehicles (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    owner_id      bigint NOT NULL REFERENCES dispatch.users (id) ON DELETE CASCADE,
    make          text NOT NULL CONSTRAINT vehicles_make_check CHECK (length(make) BETWEEN 1 AND 60),
    model         text NOT NULL CONSTRAINT vehicles_model_check CHECK (length(model) BETWEEN 1 AND 60),
    year          smallint NOT NULL CONSTRAINT vehicles_year_check CHECK (year >= 1900),
    license_plate text NOT NULL CONSTRAINT vehicles_license_plate_check
                      CHECK (license_plate ~ '^[A-Z0-9]+(-[A-Z0-9]+)*$' AND length(license_plate) <= 20),
    vin           text CONSTRAINT vehicles_vin_check CHECK (vin ~ '^[A-HJ-NPR-Z0-9]{17}$'),
    fuel_type     text CONSTRAINT vehicles_fuel_type_check
                      CHECK (fuel_type IN ('gasoline', 'diesel', 'electric', 'hybrid', 'lpg', 'cng',
                                           'other')),
    vehicle_class text NOT NULL DEFAULT 'light' CONSTRAINT vehicles_vehicle_class_check
                      CHECK (vehicle_class IN ('light', 'heavy')),
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT vehicles_owner_plate_key UNIQUE (owner_id, license_plate)
);
COMMENT ON TABLE dispatch.vehicles IS
    'A client''s vehicles. The plate is stored normalised (upper case, one ''-'' between groups); a '
    'VIN, when given, is 17 characters with a valid check digit (dispatch.vin_valid). One client '
    'does not register the same plate twice.';
