"""Accounts: passwords, sign-up and sign-in, sessions, API tokens, CSRF and rate limits."""
