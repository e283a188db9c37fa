"""Road graphs: OpenStreetMap car ways imported into PostGIS/pgRouting, one region per import."""
