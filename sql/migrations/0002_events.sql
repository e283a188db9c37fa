-- Real-time events: published with NOTIFY in the transaction that causes them (see dispatch.emit).
-- NOTIFY payloads are limited to 8000 bytes; larger messages are parked here and sent by reference.
CREATE TABLE dispatch.event_overflow (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    topic      text NOT NULL,
    message    jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX event_overflow_created_idx ON dispatch.event_overflow (created_at);
