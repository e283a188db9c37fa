"""Positions: where users are (H3 cells, single and batched writes, relays to a job's other party) and where they were (history, telematics, tracks)."""
