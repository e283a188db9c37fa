"""The engine's plumbing every feature shares: settings, the pool, errors, ids, logs, the background loop, rate limits."""
