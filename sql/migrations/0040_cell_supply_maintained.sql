-- Idle supply per H3 r7 cell, kept exact by triggers on dispatch.positions instead of a snapshot
-- re-counted every few seconds: pricing a request reads seven rows whatever the density, and never
-- falls back to counting the assistants around the pickup (the per-request cost grew with them).
-- A cell's row changes only when an assistant's matchable flag flips (going active, a job starting
-- or ending) or its position crosses into another r7 cell (~5 km²): rare next to position updates.
DROP TABLE dispatch.cell_supply_refreshed;
DELETE FROM dispatch.settings WHERE key = 'surge_supply_max_age_s';
DROP FUNCTION IF EXISTS dispatch.refresh_cell_supply(double precision);

COMMENT ON TABLE dispatch.cell_supply IS
    'Matchable assistants (active, not disabled, no open job, positioned) per H3 r7 cell, kept by '
    'triggers on dispatch.positions; dispatch.refresh_cell_supply() re-counts it from scratch.';

CREATE FUNCTION dispatch.cell_supply_from_positions() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    -- One signed delta per cell; cells are locked in h3 order so two concurrent writers that move
    -- assistants between the same cells cannot deadlock on these rows.
    IF TG_OP = 'INSERT' THEN
        INSERT INTO dispatch.cell_supply AS c (h3_r7, idle_assistants)
        SELECT n.h3_r7, count(*) FROM new_rows n WHERE n.matchable GROUP BY n.h3_r7 ORDER BY 1
        ON CONFLICT (h3_r7) DO UPDATE SET idle_assistants = c.idle_assistants + EXCLUDED.idle_assistants;
    ELSIF TG_OP = 'DELETE' THEN
        UPDATE dispatch.cell_supply c SET idle_assistants = c.idle_assistants - d.n
        FROM (SELECT o.h3_r7, count(*) AS n FROM old_rows o WHERE o.matchable GROUP BY o.h3_r7) d
        WHERE c.h3_r7 = d.h3_r7;
    ELSE
        INSERT INTO dispatch.cell_supply AS c (h3_r7, idle_assistants)
        SELECT d.h3_r7, sum(d.n)
        FROM (SELECT n.h3_r7, 1 AS n FROM new_rows n WHERE n.matchable
              UNION ALL
              SELECT o.h3_r7, -1 FROM old_rows o WHERE o.matchable) d
        GROUP BY d.h3_r7
        HAVING sum(d.n) <> 0
        ORDER BY 1
        ON CONFLICT (h3_r7) DO UPDATE SET idle_assistants = c.idle_assistants + EXCLUDED.idle_assistants;
    END IF;
    RETURN NULL;
END;
$$;
COMMENT ON FUNCTION dispatch.cell_supply_from_positions() IS
    'Trigger: apply the change of matchable positions per H3 r7 cell to dispatch.cell_supply.';

CREATE TRIGGER positions_cell_supply_insert AFTER INSERT ON dispatch.positions
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION dispatch.cell_supply_from_positions();
CREATE TRIGGER positions_cell_supply_update AFTER UPDATE ON dispatch.positions
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION dispatch.cell_supply_from_positions();
CREATE TRIGGER positions_cell_supply_delete AFTER DELETE ON dispatch.positions
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION dispatch.cell_supply_from_positions();

-- Start from an exact count.
DELETE FROM dispatch.cell_supply;
INSERT INTO dispatch.cell_supply (h3_r7, idle_assistants)
SELECT p.h3_r7, count(*) FROM dispatch.positions p WHERE p.matchable GROUP BY p.h3_r7;

COMMENT ON FUNCTION dispatch.offers_final_guard() IS
    'Trigger: an offer that is declined, expired, withdrawn or accepted never changes again (DP013).';
