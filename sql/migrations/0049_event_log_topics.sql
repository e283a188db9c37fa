-- Replay of one topic (`?since=`) finds its batches through the topics they hold: a GIN index of
-- the published batches' topics. Partial on seq, so its entries are written by the publisher when
-- it numbers a batch, not by the changing transaction; without fastupdate, so no request ever pays
-- for flushing a pending list.
CREATE INDEX event_log_topics_idx ON dispatch.event_log USING gin (topics)
    WITH (fastupdate = off) WHERE seq IS NOT NULL;
