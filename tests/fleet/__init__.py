"""Fleet: vehicles, service zones and the priced catalogue."""
