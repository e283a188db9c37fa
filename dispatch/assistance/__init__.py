"""Assistance: a request's lifecycle, its offer rounds, and its job channel (membership, status, chat)."""
