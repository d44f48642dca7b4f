"""CSRF protection: a random cookie, and forms carrying an HMAC of it (signed double submit).

A cross-site page can make the browser send the cookie, but cannot read it, so it cannot
produce the matching token. Requests authenticated by an API token carry no cookies and need none.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

COOKIE = "dp_csrf"
FIELD = "csrf_token"
HEADER = "x-csrf-token"


def new_cookie_value() -> str:
    return secrets.token_urlsafe(32)


def token_for(secret_key: str, cookie_value: str) -> str:
    return hmac.new(secret_key.encode(), b"csrf:" + cookie_value.encode(), hashlib.sha256).hexdigest()


def valid(secret_key: str, cookie_value: str | None, token: str | None) -> bool:
    if not cookie_value or not token:
        return False
    return hmac.compare_digest(token_for(secret_key, cookie_value), token)
