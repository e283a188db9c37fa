-- Issue 23: position history keyed by (user, recorded_at); positions never dated ahead of the clock.

-- D13: a retried telematics batch stored every point again, and two points of one instant both
-- went in. One row per user and instant: writers insert with ON CONFLICT DO NOTHING, so a retry
-- stores nothing new and a tie keeps one point whole. Existing duplicates keep their first row.
DELETE FROM dispatch.position_history a
 USING dispatch.position_history b
 WHERE a.user_id = b.user_id AND a.recorded_at = b.recorded_at AND a.id > b.id;
ALTER TABLE dispatch.position_history
    ADD CONSTRAINT position_history_user_recorded_key UNIQUE (user_id, recorded_at);
-- The unique index serves the (user_id, recorded_at DESC) reads too (scanned backwards).
DROP INDEX dispatch.position_history_user_idx;

-- D13: a telematics point up to the allowed skew ahead of the clock became the position with that
-- future updated_at, and every later fix was refused as older for up to two minutes. Writers now
-- date a position at most at the statement's time; rows already ahead are brought back to now.
UPDATE dispatch.positions SET updated_at = now() WHERE updated_at > now();

-- D10: the chat limit was a token bucket in each server process, so a user's sockets spread over
-- N processes got N allowances. One bucket per key in the database, shared by every process
-- (dispatch.take_token); a row missing or refilled is a full bucket.
CREATE TABLE dispatch.token_buckets (
    bucket      text PRIMARY KEY,
    tokens      double precision NOT NULL,
    refilled_at timestamptz NOT NULL
);
COMMENT ON TABLE dispatch.token_buckets IS
    'Token buckets shared by every server process (dispatch.take_token): the tokens left as of '
    'refilled_at. Rows of full buckets carry no information; dispatch/ratelimit.py purges old ones.';
-- post_chat gains the limit as a fourth argument (CREATE OR REPLACE cannot add one).
DROP FUNCTION IF EXISTS dispatch.post_chat(bigint, bigint, text);
