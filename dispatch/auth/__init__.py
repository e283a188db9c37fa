"""Authentication: password hashing, tokens, one-time codes and Google sign-in."""
