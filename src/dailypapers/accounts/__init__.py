"""Accounts: the rules for usernames, addresses, roles and tokens (`rules`), passwords, CSRF tokens,
rate limits, and the use cases of membership (`membership`: sign-up and activation, sign-in and
sessions, API tokens, roles and suspension)."""
