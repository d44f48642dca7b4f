"""Periods of the feed and of the digests: a day, an ISO week or a month.

Parsing (`PARSERS`, `parse`), keys (`2026-11-27`, `2026-W48`, `2026-11`), labels, page URLs, the
periods next to one, and the latest period already over (what a digest sends). Pure: no database.

Periods lie in the years FIRST_YEAR to LAST_YEAR (1900 to 2999), and so do the dates of the records the
sources read (sources/limits.py): no paper is older, and every date computation of the site (the day after
a period, a week around a day, look-backs of a year) stays far inside the dates Python can hold (years 1 to
9999), which the day after `/month/9999-12` once overflowed, into a server error.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass

KINDS = ("day", "week", "month")
FIRST_YEAR = 1900
LAST_YEAR = 2999
# ASCII digits only: `\d` would also take other scripts' digits (`２０２６-０１`).
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
_WEEK = re.compile(r"(\d{4})-W(\d{2})", re.ASCII)
_MONTH = re.compile(r"(\d{4})-(\d{2})", re.ASCII)


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


def in_range(day: dt.date) -> bool:
    """Whether `day` lies in the years periods cover (FIRST_YEAR to LAST_YEAR)."""
    return FIRST_YEAR <= day.year <= LAST_YEAR


def _out_of_range(text: str) -> BadPeriod:
    return BadPeriod(f"dates must lie in the years {FIRST_YEAR} to {LAST_YEAR}, got {text!r}")


def period_of(kind: str, day: dt.date) -> Period:
    """The period of `kind` that contains `day`; BadPeriod when `day` is outside the years periods cover."""
    if not in_range(day):
        raise _out_of_range(day.isoformat())
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
        day = dt.date.fromisoformat(text)
    except ValueError as exc:
        raise BadPeriod(f"no such date: {text!r}") from exc
    return period_of("day", day)


def parse_week(text: str) -> Period:
    m = _WEEK.fullmatch(text)
    if not m:
        raise BadPeriod(f"week must be YYYY-Www (ISO week, e.g. 2026-W24), got {text!r}")
    if not FIRST_YEAR <= int(m[1]) <= LAST_YEAR:
        raise _out_of_range(text)
    try:
        monday = dt.date.fromisocalendar(int(m[1]), int(m[2]), 1)
    except ValueError as exc:
        raise BadPeriod(f"no such ISO week: {text!r}") from exc
    return period_of("week", monday)


def parse_month(text: str) -> Period:
    m = _MONTH.fullmatch(text)
    if not m or not 1 <= int(m[2]) <= 12 or int(m[1]) < 1:
        raise BadPeriod(f"month must be YYYY-MM, got {text!r}")
    if not FIRST_YEAR <= int(m[1]) <= LAST_YEAR:
        raise _out_of_range(text)
    return period_of("month", dt.date(int(m[1]), int(m[2]), 1))


PARSERS: dict[str, Callable[[str], Period]] = {"day": parse_day, "week": parse_week, "month": parse_month}


def parse(kind: str, text: str) -> Period:
    """The period of `kind` written as `text`; BadPeriod names what is wrong."""
    if kind not in PARSERS:
        raise BadPeriod(f"a period is one of {', '.join(KINDS)}, not {kind!r}")
    if not isinstance(text, str):
        raise BadPeriod(f"a {kind} is written as text, not {type(text).__name__}")
    return PARSERS[kind](text)


def latest_complete(kind: str, today: dt.date) -> Period:
    """The latest period of `kind` that ended before `today` (yesterday, last week, last month)."""
    return period_of(kind, period_of(kind, today).start - dt.timedelta(days=1))


def neighbours(
    period: Period, before: Callable[[dt.date], dt.date | None], after: Callable[[dt.date], dt.date | None]
) -> tuple[Period | None, Period | None]:
    """The previous and next periods that have papers, skipping empty ones (and days outside the years
    periods cover, which have no page)."""
    prev_day = before(period.start)
    next_day = after(period.end)
    return (
        period_of(period.kind, prev_day) if prev_day and in_range(prev_day) else None,
        period_of(period.kind, next_day) if next_day and in_range(next_day) else None,
    )
