"""Assistance: requests, matching, offers and their rounds, job channels."""
