-- Fewer index entries on the hot path (issue 10, goal 4).
--
-- 1. Idempotency keys are unique per client among the requests that have one: a partial unique
--    index (same name, so a race still answers IDEMPOTENCY_KEY_REUSED) instead of a constraint
--    that also indexed every keyless request, at insert and again at each non-HOT update.
-- 2. Retention pruning walks the published events in seq order (dispatch.prune_events), so the
--    index on created_at goes: one entry less for the publisher to write per batch it numbers.
ALTER TABLE dispatch.assistance_requests DROP CONSTRAINT assistance_requests_idempotency_key;
CREATE UNIQUE INDEX assistance_requests_idempotency_key
    ON dispatch.assistance_requests (client_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
DROP INDEX IF EXISTS dispatch.event_log_created_idx;
-- 3. offers_assistant_sent_idx goes: only dispatch.assistant_utilisation read offers by assistant
--    and send time, and it now counts them in one pass bounded by the expiry index. Ten index
--    entries a request.
DROP INDEX IF EXISTS dispatch.offers_assistant_sent_idx;
