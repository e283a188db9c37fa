"""Accounts: registration, logins, codes, tokens and sessions, profiles, revocation."""
