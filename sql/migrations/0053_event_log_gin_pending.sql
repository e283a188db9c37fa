-- The publisher's numbering of a batch (issue 10, goal 4) inserted its topics into the GIN index
-- one by one (fastupdate off, 0049): ~26 entries a dense cycle, each rewriting a compressed posting
-- list in place and logging it, half the WAL bytes of a request + cancel (70 KB -> 35 KB a cycle
-- without them). With a pending list the entries are appended and merged in bulk, when the list
-- passes gin_pending_list_limit (256 kB: a few hundred batches) or by autovacuum. The merge is
-- paid by whichever publisher pass fills the list (a few milliseconds, never a request: requests
-- write no entries, the index is partial on seq); a replay scans the pending list besides the tree.
ALTER INDEX dispatch.event_log_topics_idx SET (fastupdate = on, gin_pending_list_limit = 256);
