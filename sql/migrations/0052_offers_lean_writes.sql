-- Sending an offer writes less (issue 10, goal 4). Ten offers a request were ten heap rows, fifty
-- index entries and twenty foreign-key checks: each check an SPI query that locks the referenced
-- row FOR KEY SHARE (the assistant's users row: a WAL record and a dirtied page per offer, and a
-- MultiXact when two requests offer the same assistant at once, which the dense city centre does
-- all the time).
--
-- 1. The two foreign keys of dispatch.offers go. Their ON DELETE CASCADE stays, as triggers on
--    the referenced tables: deleting an assistant or a request deletes its offers, truncating
--    either empties them, as before. What goes is the check at insert, which guarded nothing:
--    offers are written by dispatch.send_offers alone, for the request it holds locked and for
--    assistants it has just read from dispatch.available_assistants (pgTAP checks both ends).
--    Single connection, request + cancel: 98 fewer buffers a cycle, 10 fewer WAL records.
-- 2. offers_sent_idx (sent_at) goes: no query reads it (the funnel view aggregates every offer;
--    an assistant's offers by time use offers_assistant_sent_idx). Ten index entries a request.
ALTER TABLE dispatch.offers
    DROP CONSTRAINT IF EXISTS offers_assistance_id_fkey,
    DROP CONSTRAINT IF EXISTS offers_assistant_id_fkey;
DROP INDEX IF EXISTS dispatch.offers_sent_idx;

CREATE FUNCTION dispatch.offers_of_deleted_requests() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM dispatch.offers o USING old_rows r WHERE o.assistance_id = r.id;
    RETURN NULL;
END;
$$;
COMMENT ON FUNCTION dispatch.offers_of_deleted_requests() IS
    'Trigger: deleting assistance requests deletes their offers (the cascade of a foreign key).';

CREATE FUNCTION dispatch.offers_of_deleted_users() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM dispatch.offers o USING old_rows u WHERE o.assistant_id = u.id;
    RETURN NULL;
END;
$$;
COMMENT ON FUNCTION dispatch.offers_of_deleted_users() IS
    'Trigger: deleting users deletes the offers made to them (the cascade of a foreign key).';

CREATE FUNCTION dispatch.offers_truncated() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    -- DELETE, not TRUNCATE: a TRUNCATE that lists dispatch.offers too holds it open here (and has
    -- emptied it already: AFTER TRUNCATE triggers run once every listed table is truncated).
    DELETE FROM dispatch.offers;
    RETURN NULL;
END;
$$;
COMMENT ON FUNCTION dispatch.offers_truncated() IS
    'Trigger: truncating users or assistance requests empties the offers too (TRUNCATE ... '
    'CASCADE reached them through foreign keys).';

CREATE TRIGGER assistance_delete_offers AFTER DELETE ON dispatch.assistance_requests
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION dispatch.offers_of_deleted_requests();
CREATE TRIGGER users_delete_offers AFTER DELETE ON dispatch.users
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION dispatch.offers_of_deleted_users();
CREATE TRIGGER assistance_truncate_offers AFTER TRUNCATE ON dispatch.assistance_requests
    FOR EACH STATEMENT EXECUTE FUNCTION dispatch.offers_truncated();
CREATE TRIGGER users_truncate_offers AFTER TRUNCATE ON dispatch.users
    FOR EACH STATEMENT EXECUTE FUNCTION dispatch.offers_truncated();
