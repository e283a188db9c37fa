"""Event delivery: the log, the publisher, listeners, replay, faults."""
