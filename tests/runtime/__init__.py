"""Running the engine: the embedded cluster, migrations, serving, layering, settings."""
