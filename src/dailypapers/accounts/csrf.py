"""CSRF protection: a random per-browser cookie, and forms carrying an HMAC of it and of the session
(signed double submit, bound to the session).

A cross-site page can make the browser send the cookies, but cannot read them, so it cannot produce the
matching token. Binding the token to the session cookie too means a token (with its CSRF cookie) that
leaked or was planted from another session is worth nothing in this one; and a new CSRF cookie at sign-in
and sign-out (`new_cookie_value`) makes every token of the page before worthless. Anonymous forms have no
session: their token is bound to the per-browser cookie alone. Requests authenticated by an API token
carry no cookies and need none.
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


def token_for(secret_key: str, cookie_value: str, session: str = "") -> str:
    """The token for forms of the browser holding `cookie_value`, signed in with the session token `session`
    (empty when signed out)."""
    message = b"csrf:" + cookie_value.encode() + b"\x00" + session.encode()
    return hmac.new(secret_key.encode(), message, hashlib.sha256).hexdigest()


def valid(secret_key: str, cookie_value: str | None, token: str | None, session: str = "") -> bool:
    if not cookie_value or not token:
        return False
    return hmac.compare_digest(token_for(secret_key, cookie_value, session), token)
