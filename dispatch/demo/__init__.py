"""Demo data around Algiers: accounts, a fleet and zones, a few hours of history."""
