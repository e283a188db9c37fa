-- The assistant's position in the assistance object and the status frame: only while the job is
-- accepted or ongoing (a client must not follow an assistant after a job ends).
BEGIN;
SELECT plan(8);

INSERT INTO dispatch.users (id, role, name, phone_number) OVERRIDING SYSTEM VALUE
VALUES (101, 'client', 'Amel', '+1991'), (103, 'assistant', 'Karim', '+1993');
INSERT INTO dispatch.assistants (user_id, service_type, vehicle_type, driving_license_cat,
    driving_license_num, driving_license_expiry, vehicle_registration_num, is_active)
VALUES (103, 'towing', 'light', 'c', 'x', current_date + 10, 1, true);
INSERT INTO dispatch.positions (user_id, geog, h3_r7, h3_r8, h3_r9)
VALUES (103, ST_MakePoint(3.05, 36.75)::geography, 7, 0, 0);
SELECT dispatch.request_assistance(101, 36.75, 3.05, 7);
SELECT id AS job FROM dispatch.assistance_requests WHERE client_id = 101 \gset
SELECT dispatch.accept_assistance(:job, 103);

SELECT is((SELECT dispatch.assistance_json(r) -> 'assistant' ->> 'lat'
             FROM dispatch.assistance_requests r WHERE r.id = :job)::float8, 36.75::float8,
          'accepted: the view carries the assistant''s position');
SELECT is((SELECT dispatch.status_message(r) -> 'assistant' ->> 'lng'
             FROM dispatch.assistance_requests r WHERE r.id = :job)::float8, 3.05::float8,
          'accepted: the status frame carries it too');
SELECT dispatch.update_assistance_status(:job, 103, 'ongoing');
SELECT isnt((SELECT dispatch.assistance_json(r) -> 'assistant' -> 'lat'
               FROM dispatch.assistance_requests r WHERE r.id = :job), 'null'::jsonb,
            'ongoing: still visible');
SELECT dispatch.update_assistance_status(:job, 101, 'canceled');
SELECT is((SELECT dispatch.assistance_json(r) -> 'assistant' -> 'lat'
             FROM dispatch.assistance_requests r WHERE r.id = :job), 'null'::jsonb,
          'canceled: no latitude in the view');
SELECT is((SELECT dispatch.assistance_json(r) -> 'assistant' -> 'lng'
             FROM dispatch.assistance_requests r WHERE r.id = :job), 'null'::jsonb,
          'canceled: no longitude in the view');
SELECT is((SELECT dispatch.status_message(r) -> 'assistant' -> 'lat'
             FROM dispatch.assistance_requests r WHERE r.id = :job), 'null'::jsonb,
          'canceled: no latitude in the status frame');
SELECT is((SELECT dispatch.status_message(r) -> 'assistant' ->> 'id'
             FROM dispatch.assistance_requests r WHERE r.id = :job), '103',
          'the assistant is still named');
SELECT is((SELECT dispatch.assistance_json(r) -> 'assistant' ->> 'phone_number'
             FROM dispatch.assistance_requests r WHERE r.id = :job), '+1993',
          'and reachable by phone');

SELECT * FROM finish();
ROLLBACK;
