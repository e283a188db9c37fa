-- Position writes (issue 29): dispatch.positions keeps only the indexes that something reads
-- (docs/decisions/0009-positions-indexed-for-readers.md).

DROP INDEX dispatch.positions_h3_r7_idx;
DROP INDEX dispatch.positions_h3_r8_idx;
DROP INDEX dispatch.positions_h3_r9_idx;

COMMENT ON TABLE dispatch.positions IS
    'One row per user, updated in place: the latest known position with its H3 cells (computed by '
    'the application with the h3 package, stored as bigint). Writers date a position at most at the '
    'statement''s time: a telematics point ahead of the clock must not make later fixes look older. '
    'Every move rewrites every index (geog changes, so no update is HOT): only the primary key and '
    'the two GiST indexes that matching and nearby lists read are kept; the H3 columns are read by '
    'whole-table aggregates only, never by index.';
