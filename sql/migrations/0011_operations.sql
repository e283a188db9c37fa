-- Operations: an assistant's online/offline history for the analysts, and the watermark of the
-- dispatchers' live feed.

CREATE TABLE dispatch.assistant_activity (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    assistant_id bigint NOT NULL REFERENCES dispatch.users (id) ON DELETE CASCADE,
    is_active    boolean NOT NULL,
    at           timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE dispatch.assistant_activity IS
    'When each assistant went active or inactive (written by a trigger on dispatch.assistants).';
CREATE INDEX assistant_activity_assistant_idx ON dispatch.assistant_activity (assistant_id, at);

CREATE TABLE dispatch.fleet_feed (
    only_row     boolean PRIMARY KEY DEFAULT true CONSTRAINT fleet_feed_one_row CHECK (only_row),
    published_to timestamptz NOT NULL DEFAULT now(),
    ran_at       timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE dispatch.fleet_feed IS
    'One row: the positions'' updated_at up to which the dispatchers'' feed has published them.';
INSERT INTO dispatch.fleet_feed DEFAULT VALUES;
