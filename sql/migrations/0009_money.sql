-- Money: currencies with their minor units, the cost lines added during a job, and one invoice
-- per completed job.

CREATE TABLE dispatch.currencies (
    code        text CONSTRAINT currencies_pkey PRIMARY KEY
                    CONSTRAINT currencies_code_check CHECK (code ~ '^[A-Z]{3}$'),
    minor_units smallint NOT NULL CONSTRAINT currencies_minor_units_check
                    CHECK (minor_units BETWEEN 0 AND 4)
);
COMMENT ON TABLE dispatch.currencies IS
    'Currencies and their ISO 4217 exponent: money is rounded to the minor unit, once per line.';
INSERT INTO dispatch.currencies (code, minor_units) VALUES
    ('DZD', 2), ('EUR', 2), ('USD', 2), ('MAD', 2), ('TND', 3), ('JPY', 0)
ON CONFLICT (code) DO NOTHING;

CREATE TABLE dispatch.cost_lines (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    assistance_id bigint NOT NULL REFERENCES dispatch.assistance_requests (id) ON DELETE CASCADE,
    added_by      bigint NOT NULL REFERENCES dispatch.users (id),
    label         text NOT NULL CONSTRAINT cost_lines_label_check CHECK (length(label) BETWEEN 1 AND 200),
    quantity      numeric(12, 3) NOT NULL CONSTRAINT cost_lines_quantity_check CHECK (quantity > 0),
    unit_price    numeric(14, 4) NOT NULL CONSTRAINT cost_lines_unit_price_check CHECK (unit_price >= 0),
    created_at    timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE dispatch.cost_lines IS
    'Costs added to a job while it is ongoing; the invoice issued at its completion lists them '
    'after the quote''s lines (dispatch.invoice_lines_of).';
CREATE INDEX cost_lines_assistance_idx ON dispatch.cost_lines (assistance_id, id);

CREATE TABLE dispatch.invoice_counter (
    only_row    boolean CONSTRAINT invoice_counter_pkey PRIMARY KEY DEFAULT true
                    CONSTRAINT invoice_counter_only_row_check CHECK (only_row),
    next_number bigint NOT NULL CONSTRAINT invoice_counter_next_check CHECK (next_number >= 1)
);
COMMENT ON TABLE dispatch.invoice_counter IS
    'The next invoice number. One row, not a sequence: issuing locks it until commit, so concurrent '
    'completions take consecutive numbers and a rolled-back completion gives its number back '
    '(no hole in the numbering).';
INSERT INTO dispatch.invoice_counter (only_row, next_number) VALUES (true, 1);

CREATE TABLE dispatch.invoices (
    number        bigint CONSTRAINT invoices_pkey PRIMARY KEY,
    assistance_id bigint NOT NULL REFERENCES dispatch.assistance_requests (id) ON DELETE RESTRICT
                      CONSTRAINT invoices_assistance_key UNIQUE,
    issued_at     timestamptz NOT NULL DEFAULT now(),
    currency      text NOT NULL REFERENCES dispatch.currencies (code),
    subtotal      numeric(14, 4) NOT NULL,
    total         numeric(14, 4) NOT NULL
);

CREATE TABLE dispatch.invoice_lines (
    invoice_number bigint NOT NULL REFERENCES dispatch.invoices (number) ON DELETE CASCADE,
    position       smallint NOT NULL,
    label          text NOT NULL,
    quantity       numeric(12, 3) NOT NULL,
    unit_price     numeric(14, 4) NOT NULL,
    amount         numeric(14, 4) NOT NULL,
    CONSTRAINT invoice_lines_pkey PRIMARY KEY (invoice_number, position)
);
