-- Idle supply per H3 r7 cell, refreshed every few seconds by the server (dispatch.refresh_cell_supply)
-- so that pricing a request reads seven rows instead of counting every assistant in seven cells.
CREATE TABLE dispatch.cell_supply (
    h3_r7           bigint PRIMARY KEY,
    idle_assistants integer NOT NULL
);
-- One row: when the snapshot was taken (absent until the first refresh).
CREATE TABLE dispatch.cell_supply_refreshed (
    only_row     boolean PRIMARY KEY DEFAULT true CONSTRAINT cell_supply_refreshed_one_row CHECK (only_row),
    refreshed_at timestamptz NOT NULL
);
INSERT INTO dispatch.settings (key, value, description) VALUES
    ('surge_supply_max_age_s', '10',
     'Pricing reads idle supply from dispatch.cell_supply when refreshed within this many seconds; '
     'otherwise it counts dispatch.available_assistants live.')
ON CONFLICT (key) DO NOTHING;
