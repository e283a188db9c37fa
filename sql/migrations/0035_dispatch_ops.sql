-- Dispatchers and analysts (issue 11): why a transition happened, the pickup's H3 r8 cell, an
-- assistant's online/offline history, the live feed's watermark, and the feed's triggers.

-- The reason a dispatcher gave for an assign, reassign or cancel (NULL for the parties' own steps).
ALTER TABLE dispatch.assistance_events ADD COLUMN reason text;
CREATE INDEX assistance_events_created_idx ON dispatch.assistance_events (created_at);

-- The pickup's H3 resolution-8 cell (computed by the application like pickup_h3_r7), for the
-- analysts' per-cell figures at resolution 8. NULL for requests made before this column existed.
ALTER TABLE dispatch.assistance_requests ADD COLUMN pickup_h3_r8 bigint;
-- request_assistance gains pickup_cell_r8 (sql/functions/lifecycle.sql): drop the old signature,
-- which would otherwise stay as an ambiguous overload.
DROP FUNCTION IF EXISTS dispatch.request_assistance(bigint, double precision, double precision,
    bigint, double precision, double precision, text, text, text, bigint[], text, text);
CREATE INDEX assistance_requests_created_idx ON dispatch.assistance_requests (created_at DESC, id DESC);

CREATE INDEX position_history_recorded_idx ON dispatch.position_history (recorded_at);

-- Every change of an assistant's is_active (and the profile's creation): online time per day.
CREATE TABLE dispatch.assistant_activity (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    assistant_id bigint NOT NULL REFERENCES dispatch.users (id) ON DELETE CASCADE,
    is_active    boolean NOT NULL,
    at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX assistant_activity_assistant_idx ON dispatch.assistant_activity (assistant_id, at);
COMMENT ON TABLE dispatch.assistant_activity IS
    'When each assistant went active or inactive (written by a trigger on dispatch.assistants).';

INSERT INTO dispatch.assistant_activity (assistant_id, is_active, at)
SELECT a.user_id, a.is_active, a.updated_at FROM dispatch.assistants a;

CREATE FUNCTION dispatch.track_assistant_activity() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    IF TG_OP = 'INSERT' OR NEW.is_active IS DISTINCT FROM OLD.is_active THEN
        INSERT INTO dispatch.assistant_activity (assistant_id, is_active) VALUES (NEW.user_id, NEW.is_active);
    END IF;
    RETURN NULL;
END;
$$;
COMMENT ON FUNCTION dispatch.track_assistant_activity() IS
    'Trigger: append to dispatch.assistant_activity when an assistant profile is created or its '
    'is_active changes.';
-- 0009's trigger function had no comment (tests/sql/lifecycle.sql wants one on every function).
COMMENT ON FUNCTION dispatch.offers_final_guard() IS
    'Trigger: refuse any change to an offer that is no longer open (DP013).';
CREATE TRIGGER assistants_track_activity AFTER INSERT OR UPDATE OF is_active ON dispatch.assistants
    FOR EACH ROW EXECUTE FUNCTION dispatch.track_assistant_activity();

-- One row: the updated_at up to which positions were published to the dispatchers' feed.
CREATE TABLE dispatch.fleet_feed (
    only_row     boolean PRIMARY KEY DEFAULT true CONSTRAINT fleet_feed_one_row CHECK (only_row),
    published_to timestamptz NOT NULL DEFAULT now(),
    ran_at       timestamptz NOT NULL DEFAULT now()
);
INSERT INTO dispatch.fleet_feed DEFAULT VALUES;

-- The dispatchers' feed learns how each offer ended (declined, expired, withdrawn, accepted),
-- whoever closes it (the offer rounds, an accept, a dispatcher). Offers sent and exhausted searches
-- are announced by the offer rounds themselves (sql/functions/offers.sql). The body is replaced
-- by sql/functions/ops_feed.sql on every migrate; this first version only lets the trigger exist.
CREATE FUNCTION dispatch.feed_offers_trigger() RETURNS trigger
LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END; $$;
CREATE TRIGGER offers_feed_update AFTER UPDATE ON dispatch.offers
    REFERENCING OLD TABLE AS before NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION dispatch.feed_offers_trigger();
