"""Fleet: clients' vehicles and the service zones with their tariffs and the priced catalogue."""
