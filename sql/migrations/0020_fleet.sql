-- Fleet and money basics: currencies with their minor units, and the clients' own vehicles.

-- Money is rounded to the currency's minor unit (ISO 4217 exponent), once per line.
CREATE TABLE dispatch.currencies (
    code        text CONSTRAINT currencies_pkey PRIMARY KEY
                    CONSTRAINT currencies_code_check CHECK (code ~ '^[A-Z]{3}$'),
    minor_units smallint NOT NULL CONSTRAINT currencies_minor_units_check
                    CHECK (minor_units BETWEEN 0 AND 4)
);
INSERT INTO dispatch.currencies (code, minor_units) VALUES
    ('DZD', 2), ('EUR', 2), ('USD', 2), ('MAD', 2), ('TND', 3), ('JPY', 0)
ON CONFLICT (code) DO NOTHING;

-- A client's vehicle (seed 004). The plate is stored normalised (upper case, one '-' between
-- groups); a VIN, when given, is 17 characters with a valid check digit (dispatch.vin_valid).
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
    -- One client does not register the same plate twice.
    CONSTRAINT vehicles_owner_plate_key UNIQUE (owner_id, license_plate)
);
