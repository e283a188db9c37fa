"""Dispatchers: the operations API, the live feed, the console, exports."""
