-- The event log's rows write half the index entries (issue 10, goal 4).
--
-- A batch of events is inserted by the changing transaction and updated once by the publisher
-- (its seq); the update cannot be HOT (seq is indexed), so every index of the table took an entry
-- at insert and again at publish: the primary key twice, the unique seq index twice (a NULL entry
-- first), the unpublished index and the topics' GIN index once each: six a batch, five batches a
-- dense cycle.
--
-- 1. No primary key: nothing looks a batch up by id. The publisher finds the unpublished ones
--    through event_log_unpublished_idx (id order) and numbers them by ctid within its pass (it
--    holds the counter's lock, and nobody else updates or deletes an unpublished row); pruning
--    deletes published rows by ctid within one statement. `id` stays, unique by its identity.
-- 2. seq is unique among published batches only (a partial index): the unpublished rows' NULLs
--    were indexed for nothing. Every read by seq (listeners' catch-up, replay, pruning) has a
--    seq condition that implies seq IS NOT NULL, so the partial index serves them all.
--
-- Three index entries a batch instead of six.
ALTER TABLE dispatch.event_log DROP CONSTRAINT event_log_pkey;
ALTER TABLE dispatch.event_log DROP CONSTRAINT event_log_seq_key;
CREATE UNIQUE INDEX event_log_seq_key ON dispatch.event_log (seq) WHERE seq IS NOT NULL;
