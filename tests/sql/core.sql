-- Core schema: PostGIS present, users/assistants/positions with their constraints and indexes.
BEGIN;
SELECT plan(12);

SELECT has_extension('postgis');
SELECT has_schema('dispatch');
SELECT has_table('dispatch', 'users', 'users table');
SELECT has_table('dispatch', 'assistants', 'assistants table');
SELECT has_table('dispatch', 'positions', 'positions table');
SELECT has_table('dispatch', 'position_history', 'position history table');
SELECT has_index('dispatch', 'positions', 'positions_geog_idx', 'GiST index on positions');
SELECT col_type_is('dispatch', 'positions', 'geog', 'geography(Point,4326)', 'positions are geography points');
SELECT col_type_is('dispatch', 'positions', 'h3_r7', 'bigint', 'H3 cells are bigint');

SELECT throws_ok(
    $$INSERT INTO dispatch.users (role, phone_number) VALUES ('admin', '+1')$$,
    '23514', NULL, 'unknown roles are refused');
SELECT throws_ok(
    $$INSERT INTO dispatch.users (role, email) VALUES ('client', 'Upper@Example.com')$$,
    '23514', NULL, 'emails are stored lower-cased');
INSERT INTO dispatch.users (role, phone_number) VALUES ('client', '+213555000999');
SELECT throws_ok(
    $$INSERT INTO dispatch.users (role, phone_number) VALUES ('client', '+213555000999')$$,
    '23505', NULL, 'phone numbers are unique');

SELECT * FROM finish();
ROLLBACK;
