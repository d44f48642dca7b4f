"""The trending score: upvotes that decay with the time since a paper was featured.

    score = (upvotes + 1) / (hours_since_featured + offset_hours) ** gravity

`upvotes` is what a card shows (the imported listing count plus this site's votes); a paper is
featured at 00:00 UTC of its listing's day. Everything here is pure arithmetic on values the caller
passes in, so the same inputs always give the same order. docs/ranking.md explains the choices.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from dailypapers.config import Settings


class Rankable(Protocol):
    """What the score needs from a card: its shown upvotes, its listing's day, a stable tie-breaker."""

    @property
    def pk(self) -> int: ...

    @property
    def day(self) -> dt.date | None: ...

    @property
    def upvotes(self) -> int: ...


T = TypeVar("T", bound=Rankable)


@dataclass(frozen=True, slots=True)
class TrendingParams:
    """The score's constants (`DAILYPAPERS_TRENDING_*`)."""

    gravity: float = 1.5
    offset_hours: float = 2.0

    @classmethod
    def from_settings(cls, settings: Settings) -> TrendingParams:
        """The constants configured in `settings`."""
        return cls(settings.trending_gravity, settings.trending_offset_hours)


@dataclass(frozen=True, slots=True)
class Scored(Generic[T]):
    """An item with its score and the age that went into it, for showing the arithmetic."""

    item: T
    score: float
    hours: float


def featured_at(day: dt.date) -> dt.datetime:
    """When a listing's day counts as featured: that day at 00:00 UTC."""
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)


def hours_since_featured(day: dt.date, now: dt.datetime) -> float:
    """Hours from `day` 00:00 UTC to `now`; never negative (a listing dated later counts as brand new)."""
    return max(0.0, (now - featured_at(day)).total_seconds() / 3600)


def score(upvotes: int, hours: float, params: TrendingParams) -> float:
    """`(upvotes + 1) / (hours + offset) ** gravity`."""
    return (max(upvotes, 0) + 1) / (max(hours, 0.0) + params.offset_hours) ** params.gravity


def reference_time(period_end: dt.date | None, now: dt.datetime | None = None) -> dt.datetime:
    """The "now" a view ranks at: the current time, or the end of a period that is already over.

    A past week or month is ranked as at midnight after its last day, so its order never changes;
    the current one is ranked at the current time, like /trending.
    """
    now = now or dt.datetime.now(dt.UTC)
    if period_end is None:
        return now
    return min(now, featured_at(period_end + dt.timedelta(days=1)))


def window_start(now: dt.datetime, days: int) -> dt.date:
    """The first day of the `days` days ending with `now`'s day (UTC), both included."""
    return now.astimezone(dt.UTC).date() - dt.timedelta(days=max(days, 1) - 1)


def rank(items: Iterable[T], now: dt.datetime, params: TrendingParams) -> list[Scored[T]]:
    """Items best first by score; ties go to more upvotes, then the newer day, then the lower pk.

    An item without a day (never featured) is as old as it can be: it scores as featured long ago.
    """
    scored = []
    for item in items:
        hours = hours_since_featured(item.day, now) if item.day else float("inf")
        value = score(item.upvotes, hours, params) if item.day else 0.0
        scored.append(Scored(item, value, hours))
    scored.sort(key=lambda s: (-s.score, -s.item.upvotes, -(s.item.day or dt.date.min).toordinal(), s.item.pk))
    return scored
