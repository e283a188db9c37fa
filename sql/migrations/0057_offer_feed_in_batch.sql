-- The dispatchers' per-offer feed frames travel in the batch of the change that closes the offers
-- (issue 10, goal 4).
--
-- A statement trigger on dispatch.offers collected the before and after images of every offer
-- update into transition tables, joined them to find the closed ones and wrote a batch of its
-- own: a cancel wrote three batches (status, the dispatchers' offer frames, the assistants'
-- withdrawals). Offers are closed by four functions only (dispatch.close_open_offers,
-- close_round_offers, decline_offer and, through them, take_request and the round driver, as they
-- are written only by dispatch.send_offers: 0052), which now build those frames from their own
-- RETURNING rows (dispatch.feed_offer_frame) and emit them with the assistants' frames in one
-- batch. A cancel writes two batches.
DROP TRIGGER IF EXISTS offers_feed_update ON dispatch.offers;
DROP FUNCTION IF EXISTS dispatch.feed_offers_trigger();
