-- dispatch.record_transition is one function again: its frames-to-append parameters (a request's
-- offers travel in its transition's batch) take defaults, so the three-argument overload that
-- only passed NULLs goes (lifecycle.sql defines the one left).
DROP FUNCTION IF EXISTS dispatch.record_transition(dispatch.assistance_requests, bigint, text);
