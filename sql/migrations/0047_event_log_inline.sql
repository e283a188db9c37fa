-- A batch's messages (a request's eleven frames are ~4.5 kB of JSON) passed the 2 kB TOAST
-- threshold and were compressed with pglz on insert, then decompressed by the publisher and by
-- every listener. Rows up to ~8 kB now stay inline and uncompressed; bigger ones (a feed of many
-- positions) are compressed with lz4 where the server has it, several times cheaper than pglz.
ALTER TABLE dispatch.event_log SET (toast_tuple_target = 8160);
DO $$
BEGIN
    ALTER TABLE dispatch.event_log ALTER COLUMN messages SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported OR invalid_parameter_value THEN
    NULL;  -- a server built without lz4 keeps pglz
END;
$$;
