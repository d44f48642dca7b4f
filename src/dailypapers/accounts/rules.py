"""What makes a username, an email address, a role and a secret token acceptable. Pure: no database.

Used by sign-up on the site, `dailypapers user create`, and digest subscriptions (addresses).
"""

from __future__ import annotations

import re
import secrets

ROLES = ("user", "curator", "admin")
USERNAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{1,38}")
EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]{1,255}\.[^@\s.]{2,63}")
MAX_EMAIL = 320
API_TOKEN_PREFIX = "dp_"


def username_problem(name: str) -> str | None:
    """Why `name` cannot be a username, or None."""
    if USERNAME.fullmatch(name):
        return None
    return (
        f"{name!r} is not a valid username: 2 to 39 letters, digits, '.', '_' or '-', starting with a letter or digit."
    )


def normal_email(email: str) -> str:
    """An address as it is stored and compared: trimmed, lower case."""
    return email.strip().lower()


def email_problem(email: str) -> str | None:
    """Why `email` (already normalized) cannot be an account's or a subscriber's address, or None."""
    if len(email) <= MAX_EMAIL and EMAIL.fullmatch(email):
        return None
    return f"{email!r} does not look like an email address."


def role_problem(role: str) -> str | None:
    """Why `role` is not a role, or None."""
    return None if role in ROLES else f"{role!r} is not a role; choose from {', '.join(ROLES)}."


def new_api_token() -> str:
    """A fresh personal API token (shown once; the store keeps only its hash)."""
    return API_TOKEN_PREFIX + secrets.token_urlsafe(32)


def new_session_token() -> str:
    """A fresh session cookie value (the store keeps only its hash)."""
    return secrets.token_urlsafe(32)
