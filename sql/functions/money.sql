-- Money after the quote: cost lines during a job, and the invoice issued by its completion
-- (after lifecycle.sql in load_order.txt: its SQL-language functions call dispatch.iso_utc).

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

CREATE OR REPLACE FUNCTION dispatch.numeric_max(tab regclass, col name)
RETURNS numeric
LANGUAGE sql
STABLE
PARALLEL SAFE
AS $$
    -- A numeric(p, s) column keeps ((p << 16) | s) + 4 in atttypmod; unconstrained (-1): NULL.
    SELECT 10::numeric ^ ((((a.atttypmod - 4) >> 16) & 65535) - ((a.atttypmod - 4) & 65535))
           - 10::numeric ^ (-((a.atttypmod - 4) & 65535))
    FROM pg_attribute a
    WHERE a.attrelid = numeric_max.tab AND a.attname = numeric_max.col AND NOT a.attisdropped
      AND a.atttypid = 'numeric'::regtype AND a.atttypmod >= 4
$$;
COMMENT ON FUNCTION dispatch.numeric_max(regclass, name) IS
    'The largest value a numeric(p, s) column holds (numeric(14, 4): 9999999999.9999), read from '
    'the column''s type so that a bound and its storage cannot disagree; NULL for a column that '
    'is not numeric(p, s).';

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
    max_lines CONSTANT integer := 100;
    req       dispatch.assistance_requests;
    line      dispatch.cost_lines;
    digits    integer;
    amount    numeric;
    lines     bigint;
    so_far    numeric;
    line_max  numeric := dispatch.numeric_max('dispatch.invoice_lines', 'amount');
    total_max numeric := dispatch.numeric_max('dispatch.invoices', 'total');
BEGIN
    -- The request's row lock orders this against a concurrent completion: a line is either in
    -- the invoice or refused, never lost. It also serialises the count and sum below.
    SELECT * INTO req FROM dispatch.assistance_requests r
    WHERE r.id = add_cost_line.assistance_id FOR UPDATE;
    IF NOT FOUND OR req.assistant_id IS DISTINCT FROM add_cost_line.assistant_id THEN
        RAISE EXCEPTION 'Assistance request not found.' USING ERRCODE = 'DP001';
    END IF;
    IF req.status <> 'ongoing' THEN
        RAISE EXCEPTION 'Cost lines can only be added while the job is ongoing (it is %).',
            req.status USING ERRCODE = 'DP024';
    END IF;
    -- The invoice this job will get must fit its columns, or every completion would fail.
    digits := dispatch.currency_minor_units(req.currency);
    amount := round(add_cost_line.quantity * add_cost_line.unit_price, digits);
    SELECT count(*), coalesce(sum(round(c.quantity * c.unit_price, digits)), 0)
      INTO lines, so_far
      FROM dispatch.cost_lines c WHERE c.assistance_id = req.id;
    IF lines >= max_lines THEN
        RAISE EXCEPTION 'A job has at most % cost lines.', max_lines
            USING ERRCODE = 'DP026', DETAIL = jsonb_build_object('max_cost_lines', max_lines)::text;
    END IF;
    IF amount > line_max OR req.total_price + so_far + amount > total_max THEN
        RAISE EXCEPTION 'This line would take the invoice to % %; an invoice holds at most % %.',
            trim_scale(req.total_price + so_far + amount), req.currency, trim_scale(total_max),
            req.currency
            USING ERRCODE = 'DP027',
                  DETAIL = jsonb_build_object('invoice_total_limit', trim_scale(total_max))::text;
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
    'currency) to an ongoing job. DP001 not its assistant, DP024 not ongoing, DP026 the job has '
    '100 lines already, DP027 the invoice (the quote plus every line, each rounded) would no '
    'longer fit dispatch.invoices.total (dispatch.numeric_max).';

CREATE OR REPLACE FUNCTION dispatch.remove_cost_line(
    assistance_id bigint,
    assistant_id bigint,
    line_id bigint
)
RETURNS void
LANGUAGE plpgsql
VOLATILE
AS $$
DECLARE
    req dispatch.assistance_requests;
BEGIN
    SELECT * INTO req FROM dispatch.assistance_requests r
    WHERE r.id = remove_cost_line.assistance_id FOR UPDATE;
    IF NOT FOUND OR req.assistant_id IS DISTINCT FROM remove_cost_line.assistant_id THEN
        RAISE EXCEPTION 'Assistance request not found.' USING ERRCODE = 'DP001';
    END IF;
    IF req.status <> 'ongoing' THEN
        RAISE EXCEPTION 'Cost lines can only be removed while the job is ongoing (it is %).',
            req.status USING ERRCODE = 'DP024';
    END IF;
    DELETE FROM dispatch.cost_lines c
     WHERE c.id = remove_cost_line.line_id AND c.assistance_id = req.id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'Cost line not found.' USING ERRCODE = 'DP028';
    END IF;
END;
$$;
COMMENT ON FUNCTION dispatch.remove_cost_line(bigint, bigint, bigint) IS
    'The assigned assistant removes one of an ongoing job''s cost lines (a mistake, or a line '
    'that keeps the invoice from fitting). DP001 not its assistant, DP024 not ongoing, DP028 no '
    'such line on this job.';

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

CREATE OR REPLACE FUNCTION dispatch.invoice_lines_of(req dispatch.assistance_requests)
RETURNS TABLE (line_number bigint, label text, quantity numeric, unit_price numeric, amount numeric)
LANGUAGE sql
STABLE
AS $$
    -- The quote's lines (with a repair's final price) first, then the cost lines in order.
    SELECT row_number() OVER (ORDER BY x.src, x.ord), x.label, x.quantity, x.unit_price,
           round(x.quantity * x.unit_price, dispatch.currency_minor_units(req.currency))
    FROM (
        SELECT 1 AS src, q.ord, q.line ->> 'label' AS label, 1::numeric AS quantity,
               (q.line ->> 'amount')::numeric AS unit_price
        FROM jsonb_array_elements(req.price -> 'lines') WITH ORDINALITY AS q(line, ord)
        UNION ALL
        SELECT 2, c.id, c.label, c.quantity, c.unit_price
        FROM dispatch.cost_lines c WHERE c.assistance_id = req.id
    ) x
$$;
COMMENT ON FUNCTION dispatch.invoice_lines_of(dispatch.assistance_requests) IS
    'The lines a request''s invoice gets: the quote''s (quantity 1) then the cost lines in the '
    'order added, each amount rounded once to the currency''s minor unit.';

CREATE OR REPLACE FUNCTION dispatch.issue_invoice(req dispatch.assistance_requests)
RETURNS bigint
LANGUAGE plpgsql
VOLATILE
AS $$
DECLARE
    num           bigint;
    line_count    bigint;
    biggest       numeric;
    invoice_total numeric;
    line_max      numeric;
    total_max     numeric;
BEGIN
    -- Called on every transition (a cancel too): nothing is looked up before this test.
    IF req.status IS DISTINCT FROM 'completed' THEN
        RETURN NULL;
    END IF;
    SELECT i.number INTO num FROM dispatch.invoices i WHERE i.assistance_id = req.id;
    IF FOUND THEN
        RETURN num;
    END IF;
    -- Stored lines that the invoice cannot hold (added before the bounds of add_cost_line, by
    -- hand, or pushed over by a repair's final price) refuse the completion with a code, never
    -- a numeric overflow: the job stays ongoing and its assistant can remove lines.
    SELECT count(*), max(l.amount), coalesce(sum(l.amount), 0)
      INTO line_count, biggest, invoice_total
      FROM dispatch.invoice_lines_of(req) l;
    line_max := dispatch.numeric_max('dispatch.invoice_lines', 'amount');
    total_max := dispatch.numeric_max('dispatch.invoices', 'total');
    IF line_count > 32767 THEN  -- invoice_lines.position is a smallint
        RAISE EXCEPTION 'This job has too many cost lines to be invoiced; remove some first.'
            USING ERRCODE = 'DP026';
    END IF;
    IF biggest > line_max OR invoice_total > total_max THEN
        RAISE EXCEPTION 'The invoice would total % %, over the % % an invoice holds; remove cost '
            'lines before completing.', trim_scale(invoice_total), req.currency,
            trim_scale(total_max), req.currency
            USING ERRCODE = 'DP027',
                  DETAIL = jsonb_build_object('invoice_total_limit', trim_scale(total_max))::text;
    END IF;
    -- The counter row stays locked until this transaction ends: concurrent completions take
    -- consecutive numbers one after the other, and a rollback hands its number back.
    UPDATE dispatch.invoice_counter c SET next_number = c.next_number + 1
    RETURNING c.next_number - 1 INTO num;
    INSERT INTO dispatch.invoices (number, assistance_id, currency, subtotal, total)
    VALUES (num, req.id, req.currency, 0, 0);
    INSERT INTO dispatch.invoice_lines (invoice_number, position, label, quantity, unit_price, amount)
    SELECT num, l.line_number, l.label, l.quantity, l.unit_price, l.amount
    FROM dispatch.invoice_lines_of(req) l;
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
    'lasts until commit), lines = dispatch.invoice_lines_of (the quote''s lines + the cost '
    'lines, each rounded once to the currency''s minor unit); total = subtotal = their sum. '
    'DP027 when a line or the total would not fit the invoice columns (DP026 too many lines): '
    'the completion fails with a code instead of a numeric overflow. Called by '
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
