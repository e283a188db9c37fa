-- Pricing: live supply and demand per H3 resolution-7 cell, the surge multiplier, and quotes.

CREATE OR REPLACE FUNCTION dispatch.surge_multiplier(
    supply bigint,
    demand bigint,
    k numeric DEFAULT NULL,
    cap numeric DEFAULT NULL
)
RETURNS numeric
LANGUAGE sql
STABLE
PARALLEL SAFE
AS $$
    SELECT round(greatest(1.0, least(
        coalesce(surge_multiplier.cap, dispatch.setting_numeric('surge_cap'), 1.0),
        CASE
            WHEN coalesce(surge_multiplier.demand, 0) <= 0 THEN 1.0
            -- Demand with no idle assistant at all: as scarce as it gets.
            WHEN coalesce(surge_multiplier.supply, 0) <= 0 THEN 'Infinity'::numeric
            ELSE 1.0 + coalesce(surge_multiplier.k, dispatch.setting_numeric('surge_k'), 0)
                     * greatest(0, surge_multiplier.demand::numeric / surge_multiplier.supply - 1)
        END
    )), 2)
$$;
COMMENT ON FUNCTION dispatch.surge_multiplier(bigint, bigint, numeric, numeric) IS
    'Surge = 1 + k * max(0, demand / supply - 1), capped at cap (demand without supply: the cap), '
    'rounded to 2 decimals. NULL k / cap take the settings surge_k / surge_cap.';

CREATE OR REPLACE VIEW dispatch.supply_demand AS
WITH supply AS (
    SELECT v.h3_r7, count(*) AS n FROM dispatch.available_assistants v GROUP BY v.h3_r7
), demand AS (
    SELECT r.pickup_h3_r7 AS h3_r7, count(*) AS n
    FROM dispatch.assistance_requests r
    WHERE r.status = 'requested'
    GROUP BY r.pickup_h3_r7
)
SELECT h3_r7,
       to_hex(h3_r7) AS h3_r7_hex,
       coalesce(supply.n, 0) AS idle_assistants,
       coalesce(demand.n, 0) AS open_requests,
       dispatch.surge_multiplier(coalesce(supply.n, 0), coalesce(demand.n, 0)) AS surge_multiplier
FROM supply
FULL JOIN demand USING (h3_r7);
COMMENT ON VIEW dispatch.supply_demand IS
    'Per H3 resolution-7 cell (bigint and hex string): idle assistants of any service type '
    '(dispatch.available_assistants), open requests still waiting for an assistant, and the surge '
    'multiplier of that cell alone. Cells with neither do not appear.';

CREATE OR REPLACE FUNCTION dispatch.refresh_cell_supply()
RETURNS void
LANGUAGE plpgsql
VOLATILE
AS $$
BEGIN
    -- A repair, not a routine: triggers keep dispatch.cell_supply exact. Needed only after writes
    -- that bypass them (TRUNCATE, triggers disabled for a bulk load). The table lock holds off the
    -- triggers' increments while the count is rebuilt.
    LOCK TABLE dispatch.cell_supply IN EXCLUSIVE MODE;
    DELETE FROM dispatch.cell_supply;
    INSERT INTO dispatch.cell_supply (h3_r7, idle_assistants)
    SELECT p.h3_r7, count(*) FROM dispatch.positions p WHERE p.matchable GROUP BY p.h3_r7;
END;
$$;
COMMENT ON FUNCTION dispatch.refresh_cell_supply() IS
    'Re-count matchable assistants per H3 r7 cell into dispatch.cell_supply from scratch (after '
    'bulk writes that bypassed its triggers, e.g. TRUNCATE).';

CREATE OR REPLACE FUNCTION dispatch.surge_for_cells(cells_r7 bigint[])
RETURNS numeric
LANGUAGE plpgsql
STABLE
PARALLEL SAFE
-- The demand count walks the partial index of waiting requests, whatever the statistics say. On a
-- young or freshly truncated table (a new deployment's first minutes, every bench run) the plan
-- cached from its first calls was a sequential scan, or a bitmap scan that never marks the
-- entries of requests no longer waiting as dead: under the dense load it read the whole table
-- (~130 pages, ~1 ms a request) where the index scan reads a few pages and prunes as it goes.
SET enable_seqscan = off
SET enable_bitmapscan = off
AS $$
DECLARE
    supply bigint;
    demand bigint;
BEGIN
    -- plpgsql, not sql: a scalar SQL function with subqueries is never inlined and was re-planned
    -- on every call. Supply: seven rows of the trigger-kept dispatch.cell_supply, whatever the
    -- number of assistants around. Demand: an index count of the requests still waiting there.
    SELECT coalesce(sum(c.idle_assistants), 0) INTO supply FROM dispatch.cell_supply c
     WHERE c.h3_r7 = ANY (surge_for_cells.cells_r7);
    SELECT count(*) INTO demand FROM dispatch.assistance_requests r
     WHERE r.status = 'requested' AND r.pickup_h3_r7 = ANY (surge_for_cells.cells_r7);
    -- Plain variables as arguments: dispatch.surge_multiplier is inlined (with the subqueries as
    -- its arguments it was not, and was planned again on every call).
    RETURN dispatch.surge_multiplier(supply, demand);
END;
$$;
COMMENT ON FUNCTION dispatch.surge_for_cells(bigint[]) IS
    'The surge multiplier over a set of H3 resolution-7 cells taken together (supply and demand '
    'summed), e.g. a pickup cell and its neighbours; 1.0 for an empty or NULL set. Supply is read '
    'from dispatch.cell_supply (kept by triggers), demand (requests still waiting) is counted.';

-- The pickup point joined the arguments (zones, issue 12): the old signature would shadow it.
DROP FUNCTION IF EXISTS dispatch.quote_price(text, text, double precision, bigint, bigint[]);

CREATE OR REPLACE FUNCTION dispatch.quote_price(
    service_type text,
    vehicle_type text,
    distance_km double precision,
    pickup_cell_r7 bigint DEFAULT NULL,
    neighbour_cells_r7 bigint[] DEFAULT NULL,
    pickup geography DEFAULT NULL
)
RETURNS jsonb
LANGUAGE plpgsql
STABLE
AS $$
DECLARE
    t         record;
    km        numeric := round(quote_price.distance_km::numeric, 3);
    surge     numeric := 1.0;
    base      numeric;
    by_km     numeric;
    subtotal  numeric;
    total     numeric;
    largest   numeric;
    lines     jsonb;
    zone      jsonb;
BEGIN
    IF quote_price.distance_km IS NULL OR quote_price.distance_km < 0
       OR quote_price.distance_km = 'Infinity'::double precision
       OR quote_price.distance_km = 'NaN'::double precision THEN
        RAISE EXCEPTION 'The distance must be a non-negative number of km.' USING ERRCODE = 'DP009';
    END IF;
    -- The tariff as it applies at the pickup (its zone's own, or the default): the same rows
    -- dispatch.service_catalogue shows (sql/functions/zones.sql).
    SELECT * INTO t FROM dispatch.tariffs_at(quote_price.pickup) x
    WHERE x.service_type = quote_price.service_type AND x.vehicle_type = quote_price.vehicle_type;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'There is no tariff for this service type and vehicle type.'
            USING ERRCODE = 'DP009';
    END IF;
    IF t.zone_id IS NOT NULL THEN
        zone := jsonb_build_object('id', t.zone_id, 'name', t.zone_name);
    END IF;
    -- Refused before anyone is matched or notified.
    IF NOT t.serviceable THEN
        RAISE EXCEPTION 'This place is in %, an area without service.', t.zone_name
            USING ERRCODE = 'DP020', DETAIL = jsonb_build_object('zone', zone)::text;
    END IF;
    IF quote_price.pickup_cell_r7 IS NOT NULL THEN
        surge := dispatch.surge_for_cells(
            array_append(coalesce(quote_price.neighbour_cells_r7, '{}'), quote_price.pickup_cell_r7));
    END IF;
    -- Each line rounded once, to the currency's minor unit.
    base := round(t.base_fare, t.minor_units);
    by_km := round(t.per_km * km, t.minor_units);
    subtotal := base + by_km;
    total := round(subtotal * surge, t.minor_units);
    -- A zone's per-km price times a long trip can pass what the request's total_price holds:
    -- refused with a code here rather than a numeric overflow when the request is stored.
    largest := dispatch.numeric_max('dispatch.assistance_requests', 'total_price');
    IF total > largest THEN
        RAISE EXCEPTION 'This trip would cost % %, more than the % % a quote can be.',
            trim_scale(total), t.currency, trim_scale(largest), t.currency
            USING ERRCODE = 'DP029',
                  DETAIL = jsonb_build_object('quote_limit', trim_scale(largest))::text;
    END IF;
    lines := jsonb_build_array(jsonb_build_object(
        'label', CASE WHEN zone IS NULL THEN t.base_label
                      ELSE format('%s (%s)', t.base_label, t.zone_name) END,
        'amount', base));
    IF t.per_km > 0 THEN
        lines := lines || jsonb_build_object(
            'label', format('Distance (%s km × %s %s/km)', km, trim_scale(t.per_km), t.currency),
            'amount', by_km);
    END IF;
    IF total <> subtotal THEN
        lines := lines || jsonb_build_object(
            'label', format('Surge × %s', trim_scale(surge)), 'amount', total - subtotal);
    END IF;
    RETURN jsonb_build_object(
        'total', total,
        'currency', t.currency,
        'surge_multiplier', surge,
        'lines', lines,
        'zone', zone,
        'final_price_on_completion', t.final_price_on_completion
    );
END;
$$;
COMMENT ON FUNCTION dispatch.quote_price(text, text, double precision, bigint, bigint[], geography) IS
    'Price of a job: {total, currency, surge_multiplier, lines: [{label, amount}], zone: {id, '
    'name} | null, final_price_on_completion}. The tariff is the one dispatch.tariffs_at gives at '
    'the pickup (the smallest covering zone''s own, else dispatch.tariffs; the base line names '
    'the zone): base fare (or callout fee) + per-km × distance_km, times the surge over '
    'pickup_cell_r7 and neighbour_cells_r7 (1.0 when pickup_cell_r7 is NULL), each line rounded '
    'to the currency''s minor unit; the lines add up to the total. DP020 pickup in a zone that '
    'is not serviceable; unknown tariff or bad distance: DP009; DP029 a total that '
    'assistance_requests.total_price cannot hold (dispatch.numeric_max).';
