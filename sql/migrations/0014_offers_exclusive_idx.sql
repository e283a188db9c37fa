-- Matching leaves out assistants holding an open exclusive offer of an assignment batch
-- (dispatch.preselect_candidates). Through offers_assistant_expiry_idx that test walked every
-- unexpired offer of each candidate, round offers included, and fetched each one's heap row to
-- read batch_id and state: in the dense centre the same few dozen assistants hold hundreds of
-- unexpired round offers each, so a request read ~10,000 offer rows to find none exclusive.
CREATE INDEX offers_exclusive_idx ON dispatch.offers (assistant_id, expires_at)
    WHERE batch_id IS NOT NULL;
COMMENT ON INDEX dispatch.offers_exclusive_idx IS
    'The exclusive offers of assignment batches by assistant (matching''s "holds an open exclusive '
    'offer" test): empty under the rounds policy, one entry per batch offer otherwise. Partial on '
    'batch_id, which is set at insert and never changes, so closing an offer stays a HOT update.';
