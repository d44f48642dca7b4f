"""Checking what people ask for: an address, a frequency, categories and keywords (no header injection)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from dailypapers.accounts.rules import email_problem, normal_email
from dailypapers.problems import BadRequest

CATEGORY = re.compile(r"[A-Za-z][A-Za-z0-9.\-]{0,31}")
CONTROL = re.compile(r"[\x00-\x1f\x7f\u0085\u2028\u2029]")
# Subscription frequencies and the kind of period (dailypapers.periods) each mails.
FREQUENCIES = {"daily": "day", "weekly": "week"}
MAX_ITEMS = 20


class InvalidRequest(BadRequest):
    """A subscription request that cannot be accepted; the message says why."""


@dataclass(frozen=True)
class Preferences:
    """A checked subscription request."""

    email: str
    frequency: str
    categories: list[str]
    keywords: list[str]


def _items(value: str | list[str] | None, what: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        if CONTROL.search(value):
            raise InvalidRequest(f"{what} must not contain control characters or line breaks.")
        value = value.split(",")
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidRequest(f"{what} must be a list of strings.")
    items = [v.strip() for v in value if v.strip()]
    if len(items) > MAX_ITEMS:
        raise InvalidRequest(f"At most {MAX_ITEMS} {what.lower()}.")
    for item in items:
        if CONTROL.search(item) or len(item) > 100:
            raise InvalidRequest(f"{what} must be short and hold no control characters or line breaks.")
    return list(dict.fromkeys(items))


def check(email: object, frequency: object, categories: object = None, keywords: object = None) -> Preferences:
    """The request as `Preferences`, or `InvalidRequest`."""
    if not isinstance(email, str) or CONTROL.search(email):
        raise InvalidRequest("The email address must not contain control characters or line breaks.")
    email = normal_email(email)
    if problem := email_problem(email):
        raise InvalidRequest(problem)
    if frequency not in FREQUENCIES:
        raise InvalidRequest("Frequency is 'daily' or 'weekly'.")
    cats = _items(categories, "Categories")  # type: ignore[arg-type]
    if not all(CATEGORY.fullmatch(c) for c in cats):
        raise InvalidRequest("Categories look like cs.CL or stat.ML.")
    return Preferences(email, str(frequency), cats, _items(keywords, "Keywords"))  # type: ignore[arg-type]
