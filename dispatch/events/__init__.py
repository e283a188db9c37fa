"""Event delivery: the publisher numbering committed events, each process's listener, and replay for ?since=."""
