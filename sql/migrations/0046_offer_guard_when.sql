-- The final-state guard of offers runs only for an offer that is already closed: a WHEN condition
-- is checked without calling the function, so closing ten open offers (a round's end, a cancel)
-- no longer runs ten plpgsql calls that pass.
DROP TRIGGER offers_final_guard ON dispatch.offers;
CREATE TRIGGER offers_final_guard BEFORE UPDATE ON dispatch.offers
    FOR EACH ROW WHEN (OLD.state <> 'open') EXECUTE FUNCTION dispatch.offers_final_guard();
