-- Money after the quote: cost lines during a job, and the invoice issued by its completion
-- (after lifecycle.sql in name order: its SQL-language functions call dispatch.iso_utc).

CREATE OR REPLACE FUNCTION dispatch.currency_minor_units(currency text)
RETURNS integer
LANGUAGE plpgsql  -- a scalar SQL function with a subquery is not inlined: it was planned per call
STABLE
PARALLEL SAFE
AS $$
BEGIN
    RETURN coalesce((SELECT c.minor_units FROM dispatch.currencies c
                      WHERE c.code = currency_minor_units.currency), 2)::integer;
END;
$$;
COMMENT ON FUNCTION dispatch.currency_minor_units(text) IS
    'Decimal places of a currency''s minor unit (dispatch.currencies; 2 when unknown): money '
    'is rounded to it once per line.';

CREATE OR REPLACE FUNCTION dispatch.cost_line_json(line dispatch.cost_lines, currency text)
RETURNS jsonb
LANGUAGE sql
STABLE
AS $$
    SELECT jsonb_build_object(
        'id', line.id,
        'assistance_id', line.assistance_id,
        'label', line.label,
        'quantity', trim_scale(line.quantity),
        'unit_price', trim_scale(line.unit_price),
        'amount', round(line.quantity * line.unit_price, dispatch.currency_minor_units(currency)),
        'currency', currency,
        'created_at', dispatch.iso_utc(line.created_at)
    )
$$;
COMMENT ON FUNCTION dispatch.cost_line_json(dispatch.cost_lines, text) IS
    'A cost line as the API shows it, its amount rounded to the currency''s minor unit.';

CREATE OR REPLACE FUNCTION dispatch.add_cost_line(
    assistance_id bigint,
    assistant_id bigint,
    label text,
    quantity numeric,
    unit_price numeric
)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
AS $$
DECLARE
    req  dispatch.assistance_requests;
    line dispatch.cost_lines;
BEGIN
    -- The request's row lock orders this against a concurrent completion: a line is either in
    -- the invoice or refused, never lost.
    SELECT * INTO req FROM dispatch.assistance_requests r
    WHERE r.id = add_cost_line.assistance_id FOR UPDATE;
    IF NOT FOUND OR req.assistant_id IS DISTINCT FROM add_cost_line.assistant_id THEN
        RAISE EXCEPTION 'Assistance request not found.' USING ERRCODE = 'DP001';
    END IF;
    IF req.status <> 'ongoing' THEN
        RAISE EXCEPTION 'Cost lines can only be added while the job is ongoing (it is %).',
            req.status USING ERRCODE = 'DP024';
    END IF;
    INSERT INTO dispatch.cost_lines AS c (assistance_id, added_by, label, quantity, unit_price)
    VALUES (req.id, add_cost_line.assistant_id, add_cost_line.label, add_cost_line.quantity,
            add_cost_line.unit_price)
    RETURNING * INTO line;
    RETURN dispatch.cost_line_json(line, req.currency);
END;
$$;
COMMENT ON FUNCTION dispatch.add_cost_line(bigint, bigint, text, numeric, numeric) IS
    'The assigned assistant adds a cost line {label, quantity, unit_price} (in the request''s '
    'currency) to an ongoing job. DP001 not its assistant, DP024 not ongoing.';

CREATE OR REPLACE FUNCTION dispatch.list_cost_lines(assistance_id bigint, user_id bigint)
RETURNS jsonb
LANGUAGE sql
STABLE
AS $$
    SELECT (SELECT coalesce(jsonb_agg(dispatch.cost_line_json(c, r.currency) ORDER BY c.id), '[]')
              FROM dispatch.cost_lines c WHERE c.assistance_id = r.id)
    FROM dispatch.assistance_requests r
    WHERE r.id = list_cost_lines.assistance_id
      AND dispatch.can_read_assistance(r.id, list_cost_lines.user_id)
$$;
COMMENT ON FUNCTION dispatch.list_cost_lines(bigint, bigint) IS
    'The cost lines of a request so far, in the order added, for its client, its assistant or a '
    'dispatcher; NULL for anyone else.';

CREATE OR REPLACE FUNCTION dispatch.issue_invoice(req dispatch.assistance_requests)
RETURNS bigint
LANGUAGE plpgsql
VOLATILE
AS $$
DECLARE
    digits integer;
    num    bigint;
BEGIN
    -- Called on every transition (a cancel too): nothing is looked up before this test.
    IF req.status IS DISTINCT FROM 'completed' THEN
        RETURN NULL;
    END IF;
    SELECT i.number INTO num FROM dispatch.invoices i WHERE i.assistance_id = req.id;
    IF FOUND THEN
        RETURN num;
    END IF;
    digits := dispatch.currency_minor_units(req.currency);
    -- The counter row stays locked until this transaction ends: concurrent completions take
    -- consecutive numbers one after the other, and a rollback hands its number back.
    UPDATE dispatch.invoice_counter c SET next_number = c.next_number + 1
    RETURNING c.next_number - 1 INTO num;
    INSERT INTO dispatch.invoices (number, assistance_id, currency, subtotal, total)
    VALUES (num, req.id, req.currency, 0, 0);
    -- The quote's lines (with a repair's final price) first, then the cost lines in order.
    INSERT INTO dispatch.invoice_lines (invoice_number, position, label, quantity, unit_price, amount)
    SELECT num, row_number() OVER (ORDER BY src, ord), label, quantity, unit_price,
           round(quantity * unit_price, digits)
    FROM (
        SELECT 1 AS src, q.ord, q.line ->> 'label' AS label, 1::numeric AS quantity,
               (q.line ->> 'amount')::numeric AS unit_price
        FROM jsonb_array_elements(req.price -> 'lines') WITH ORDINALITY AS q(line, ord)
        UNION ALL
        SELECT 2, c.id, c.label, c.quantity, c.unit_price
        FROM dispatch.cost_lines c WHERE c.assistance_id = req.id
    ) lines;
    UPDATE dispatch.invoices i
       SET subtotal = s.amount, total = s.amount
      FROM (SELECT coalesce(sum(l.amount), 0) AS amount
              FROM dispatch.invoice_lines l WHERE l.invoice_number = num) s
     WHERE i.number = num;
    RETURN num;
END;
$$;
COMMENT ON FUNCTION dispatch.issue_invoice(dispatch.assistance_requests) IS
    'Issue the invoice of a completed request (nothing for another status; the existing number '
    'if already issued): the next number from dispatch.invoice_counter (no gaps: the row lock '
    'lasts until commit), lines = the quote''s lines + the cost lines, each rounded once to the '
    'currency''s minor unit; total = subtotal = their sum. Called by '
    'dispatch.update_assistance_status in the completing transaction.';

CREATE OR REPLACE FUNCTION dispatch.invoice_json(invoice_number bigint)
RETURNS jsonb
LANGUAGE sql
STABLE
AS $$
    SELECT jsonb_build_object(
        'number', i.number,
        'assistance_id', i.assistance_id,
        'issued_at', dispatch.iso_utc(i.issued_at),
        'currency', i.currency,
        'lines', (SELECT coalesce(jsonb_agg(jsonb_build_object(
                             'label', l.label, 'quantity', trim_scale(l.quantity),
                             'unit_price', trim_scale(l.unit_price), 'amount', trim_scale(l.amount))
                         ORDER BY l.position), '[]')
                    FROM dispatch.invoice_lines l WHERE l.invoice_number = i.number),
        'subtotal', trim_scale(i.subtotal),
        'total', trim_scale(i.total)
    )
    FROM dispatch.invoices i
    WHERE i.number = invoice_json.invoice_number
$$;
COMMENT ON FUNCTION dispatch.invoice_json(bigint) IS
    'An invoice as the API shows it: {number, assistance_id, issued_at, currency, lines: [{label, '
    'quantity, unit_price, amount}], subtotal, total}.';

CREATE OR REPLACE FUNCTION dispatch.get_invoice(assistance_id bigint, user_id bigint)
RETURNS jsonb
LANGUAGE sql
STABLE
AS $$
    SELECT dispatch.invoice_json(i.number)
    FROM dispatch.invoices i
    WHERE i.assistance_id = get_invoice.assistance_id
      AND dispatch.can_read_assistance(i.assistance_id, get_invoice.user_id)
$$;
COMMENT ON FUNCTION dispatch.get_invoice(bigint, bigint) IS
    'The invoice of a request for its client, its assistant or a dispatcher; NULL before '
    'completion or for anyone else.';
