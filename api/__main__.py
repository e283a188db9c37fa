"""`python -m api …`: the `dispatch` command (the supervisor starts its workers this way)."""

from api.main import main

main()
