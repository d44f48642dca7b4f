"""Signed links of a subscription: confirm (expires after 7 days), manage and unsubscribe (no expiry).

Every token names the subscriber's pk and email, so it stops working if the row is reused for another
address, and each kind has its own salt, so one kind cannot stand in for another.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from itsdangerous import BadSignature, URLSafeSerializer, URLSafeTimedSerializer

from dailypapers.config import Settings

CONFIRM_MAX_AGE = 7 * 24 * 3600


class BadToken(Exception):
    """A forged, altered, expired or stale link."""


@dataclass(frozen=True)
class Confirmation:
    """What a confirmation link carries: who, and the preferences asked for."""

    pk: int
    email: str
    frequency: str
    categories: list[str] = field(default_factory=list)
    keywords: list[str] = field(default_factory=list)


def confirm_token(secret: str, c: Confirmation) -> str:
    payload = [c.pk, c.email, c.frequency, c.categories, c.keywords]
    return URLSafeTimedSerializer(secret, salt="digest-confirm").dumps(payload)


def read_confirm_token(secret: str, token: str, max_age: int = CONFIRM_MAX_AGE) -> Confirmation:
    try:
        data: Any = URLSafeTimedSerializer(secret, salt="digest-confirm").loads(token, max_age=max_age)
        pk, email, frequency, categories, keywords = data
        return Confirmation(int(pk), str(email), str(frequency), list(categories), list(keywords))
    except (BadSignature, ValueError, TypeError) as exc:  # SignatureExpired is a BadSignature
        raise BadToken(str(exc)) from exc


def _plain(secret: str, kind: str) -> URLSafeSerializer:
    return URLSafeSerializer(secret, salt=f"digest-{kind}")


def subscriber_token(secret: str, kind: str, pk: int, email: str) -> str:
    """A `manage` or `unsubscribe` token for subscriber `pk` at `email`."""
    return _plain(secret, kind).dumps([pk, email])


def read_subscriber_token(secret: str, kind: str, token: str) -> tuple[int, str]:
    try:
        pk, email = _plain(secret, kind).loads(token)
        return int(pk), str(email)
    except (BadSignature, ValueError, TypeError) as exc:
        raise BadToken(str(exc)) from exc


def confirm_url(settings: Settings, c: Confirmation) -> str:
    return f"{settings.base_url}/subscribe/confirm?token={confirm_token(settings.secret, c)}"


def manage_url(settings: Settings, pk: int, email: str) -> str:
    token = subscriber_token(settings.secret, "manage", pk, email)
    return f"{settings.base_url}/subscribe/manage?token={token}"


def unsubscribe_url(settings: Settings, pk: int, email: str) -> str:
    token = subscriber_token(settings.secret, "unsubscribe", pk, email)
    return f"{settings.base_url}/unsubscribe?token={token}"
