"""Periods of the feed and of the digests: a day, an ISO week or a month.

Parsing (`PARSERS`, `parse`), keys (`2026-11-27`, `2026-W48`, `2026-11`), labels, page URLs, the
periods next to one, and the latest period already over (what a digest sends). Pure: no database.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass

KINDS = ("day", "week", "month")
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_WEEK = re.compile(r"(\d{4})-W(\d{2})")
_MONTH = re.compile(r"(\d{4})-(\d{2})")


class BadPeriod(ValueError):
    """A date, week or month that is malformed or does not exist."""


@dataclass(frozen=True)
class Period:
    kind: str
    start: dt.date
    end: dt.date

    @property
    def key(self) -> str:
        if self.kind == "day":
            return self.start.isoformat()
        if self.kind == "week":
            year, week, _ = self.start.isocalendar()
            return f"{year}-W{week:02d}"
        return self.start.strftime("%Y-%m")

    @property
    def path(self) -> str:
        prefix = {"day": "date", "week": "week", "month": "month"}[self.kind]
        return f"/{prefix}/{self.key}"

    @property
    def label(self) -> str:
        if self.kind == "day":
            return self.start.strftime("%A, %B %-d, %Y")
        if self.kind == "week":
            week = self.start.isocalendar()[1]
            return f"Week {week}, {self.start.strftime('%b %-d')} – {self.end.strftime('%b %-d, %Y')}"
        return self.start.strftime("%B %Y")

    def containing(self, kind: str) -> Period:
        return period_of(kind, self.start)


def period_of(kind: str, day: dt.date) -> Period:
    """The period of `kind` that contains `day`."""
    if kind == "day":
        return Period("day", day, day)
    if kind == "week":
        start = day - dt.timedelta(days=day.weekday())
        return Period("week", start, start + dt.timedelta(days=6))
    last = calendar.monthrange(day.year, day.month)[1]
    return Period("month", day.replace(day=1), day.replace(day=last))


def parse_day(text: str) -> Period:
    if not _DAY.fullmatch(text):
        raise BadPeriod(f"date must be YYYY-MM-DD, got {text!r}")
    try:
        return period_of("day", dt.date.fromisoformat(text))
    except ValueError as exc:
        raise BadPeriod(f"no such date: {text!r}") from exc


def parse_week(text: str) -> Period:
    m = _WEEK.fullmatch(text)
    if not m:
        raise BadPeriod(f"week must be YYYY-Www (ISO week, e.g. 2026-W24), got {text!r}")
    try:
        return period_of("week", dt.date.fromisocalendar(int(m[1]), int(m[2]), 1))
    except ValueError as exc:
        raise BadPeriod(f"no such ISO week: {text!r}") from exc


def parse_month(text: str) -> Period:
    m = _MONTH.fullmatch(text)
    if not m or not 1 <= int(m[2]) <= 12 or int(m[1]) < 1:
        raise BadPeriod(f"month must be YYYY-MM, got {text!r}")
    return period_of("month", dt.date(int(m[1]), int(m[2]), 1))


PARSERS: dict[str, Callable[[str], Period]] = {"day": parse_day, "week": parse_week, "month": parse_month}


def parse(kind: str, text: str) -> Period:
    """The period of `kind` written as `text`; BadPeriod names what is wrong."""
    if kind not in PARSERS:
        raise BadPeriod(f"a period is one of {', '.join(KINDS)}, not {kind!r}")
    return PARSERS[kind](text)


def latest_complete(kind: str, today: dt.date) -> Period:
    """The latest period of `kind` that ended before `today` (yesterday, last week, last month)."""
    return period_of(kind, period_of(kind, today).start - dt.timedelta(days=1))


def neighbours(
    period: Period, before: Callable[[dt.date], dt.date | None], after: Callable[[dt.date], dt.date | None]
) -> tuple[Period | None, Period | None]:
    """The previous and next periods that have papers, skipping empty ones."""
    prev_day = before(period.start)
    next_day = after(period.end)
    return (
        period_of(period.kind, prev_day) if prev_day else None,
        period_of(period.kind, next_day) if next_day else None,
    )
