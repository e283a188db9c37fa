"""Accounts: users and their logins, passwords, tokens and sessions, one-time codes, Google sign-in, the message outbox."""
