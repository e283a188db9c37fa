-- "The open offers of this request" (withdrawal, expiry, accept) reads the primary key, whose
-- leading column is the request: at most offer_max_rounds * matching_max_results rows a request.
-- The partial index added nothing but an index entry to write for every offer sent.
DROP INDEX IF EXISTS dispatch.offers_open_request_idx;
