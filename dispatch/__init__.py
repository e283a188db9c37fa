"""Geo dispatch engine for roadside assistance: the domain package (config, database, dispatch logic)."""
