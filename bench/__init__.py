"""The benchmark suite: dispatch latency under load, matching at scale, location ingest."""
