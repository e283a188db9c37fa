"""Running the engine: the `dispatch` command, the embedded cluster, migrations, the worker supervisor, test databases."""
