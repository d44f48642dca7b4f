"""Date formats the sources use, parsed to timezone-aware UTC datetimes."""

from __future__ import annotations

import datetime as dt
from email.utils import parsedate_to_datetime

UTC = dt.UTC


_MONTHS = {
    m: i for i, m in enumerate(["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"], 1)
}


def parse_rfc2822(text: str) -> dt.datetime:
    """`Mon, 2 Apr 2007 19:18:42 GMT` -> aware datetime; raises ValueError."""
    parts = text.split()
    # Fast path for arXiv's fixed shape; anything else goes to the general parser.
    if len(parts) == 6 and parts[5] in ("GMT", "UTC", "+0000") and parts[2] in _MONTHS:
        try:
            hh, mm, ss = parts[4].split(":")
            return dt.datetime(int(parts[3]), _MONTHS[parts[2]], int(parts[1]), int(hh), int(mm), int(ss), tzinfo=UTC)
        except ValueError:
            pass
    try:
        return in_utc(parsedate_to_datetime(text.strip()))
    except (TypeError, IndexError, OverflowError) as exc:
        raise ValueError(f"bad date {text!r}") from exc


def parse_iso(text: str) -> dt.datetime:
    """`2026-06-12T00:00:00.000Z`, `2007-05-23`, ... -> aware datetime; raises ValueError."""
    text = text.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    return in_utc(dt.datetime.fromisoformat(text))


def in_utc(value: dt.datetime) -> dt.datetime:
    """`value` in UTC (a naive one taken as UTC); ValueError when UTC would be past the years Python holds
    (`9999-12-31T23:00-05:00`)."""
    try:
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except OverflowError as exc:
        raise ValueError(f"date out of range: {value.isoformat()}") from exc
