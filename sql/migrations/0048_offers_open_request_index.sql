-- The open offers of one request are found through the primary key (assistance_id, assistant_id):
-- a request has at most tens of offers. The partial index on (assistance_id) WHERE open repeated
-- that prefix and cost an index entry on every offer sent.
DROP INDEX dispatch.offers_open_request_idx;
