"""Signed values the site hands out and takes back: activation and password-reset links, and the
known-device cookie. Pure: itsdangerous and the secret key, no database.

Each kind has its own salt, so a value of one kind is never accepted as another. Links expire; they are
single-use by what they change: an activation link only activates an inactive account, and a reset link
names a fingerprint of the password it replaces (`password_fingerprint`), so it stops working once the
password changed, whether by this link or otherwise.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

ACTIVATION_MAX_AGE = 2 * 24 * 3600  # seconds an activation link works
RESET_MAX_AGE = 3600  # seconds a password-reset link works
DEVICE_MAX_AGE = 365 * 24 * 3600  # seconds a browser stays known to the accounts it signed in to
DEVICE_ACCOUNTS = 10  # accounts one known-device cookie names, at most (the latest ones)


class BadLink(Exception):
    """A signed value that is forged, of another kind, malformed or (`expired`) too old."""

    def __init__(self, expired: bool = False) -> None:
        super().__init__("expired" if expired else "invalid")
        self.expired = expired


def _serializer(secret_key: str, kind: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt=kind)


def _load(secret_key: str, kind: str, value: str, max_age: int) -> object:
    try:
        return _serializer(secret_key, kind).loads(value, max_age=max_age)
    except SignatureExpired:
        raise BadLink(expired=True) from None
    except BadSignature:
        raise BadLink() from None


def activation_token(secret_key: str, account_pk: int) -> str:
    return _serializer(secret_key, "activate").dumps(account_pk)


def activation_account(secret_key: str, token: str) -> int:
    """The account an activation link names; BadLink when it is not one of ours or is too old."""
    pk = _load(secret_key, "activate", token, ACTIVATION_MAX_AGE)
    if not isinstance(pk, int) or isinstance(pk, bool):
        raise BadLink()
    return pk


def password_fingerprint(secret_key: str, password_hash: str | None) -> str:
    """A keyed digest of the stored password hash: it changes with the password, and tells nothing about it."""
    message = b"password:" + (password_hash or "").encode()
    return hmac.new(secret_key.encode(), message, hashlib.sha256).hexdigest()[:32]


def reset_token(secret_key: str, account_pk: int, password_hash: str | None) -> str:
    return _serializer(secret_key, "reset").dumps([account_pk, password_fingerprint(secret_key, password_hash)])


def reset_claim(secret_key: str, token: str) -> tuple[int, str]:
    """(account, fingerprint of the password the link may replace); BadLink when not valid or too old."""
    claim = _load(secret_key, "reset", token, RESET_MAX_AGE)
    if not (isinstance(claim, list) and len(claim) == 2 and type(claim[0]) is int and isinstance(claim[1], str)):
        raise BadLink()
    return claim[0], claim[1]


def device_cookie(secret_key: str, account_pks: Iterable[int]) -> str:
    """The known-device cookie's value for a browser that signed in to `account_pks` (latest last)."""
    pks = list(dict.fromkeys(reversed(list(account_pks))))[:DEVICE_ACCOUNTS]
    return _serializer(secret_key, "known-device").dumps(pks[::-1])


def known_accounts(secret_key: str, value: str | None) -> list[int]:
    """The accounts a known-device cookie says this browser signed in to (none when absent or not ours)."""
    if not value:
        return []
    try:
        pks = _load(secret_key, "known-device", value, DEVICE_MAX_AGE)
    except BadLink:
        return []
    if not isinstance(pks, list):
        return []
    return [pk for pk in pks if type(pk) is int][-DEVICE_ACCOUNTS:]
