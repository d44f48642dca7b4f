"""Listings for the trending order across days: the rows come from here, the score from `ranking`.

A single day's "trending" order stays in SQL (`feed.featured_between`): every card of a day has
the same age, so the decay cannot change its order. Across days the score needs the age, so these
functions load a range's listings and rank them in Python.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Connection, text

from dailypapers.config import Settings
from dailypapers.ranking.trending import Scored, TrendingParams, hours_since_featured, rank, reference_time, score
from dailypapers.store.feed import _LISTING_COLS, _PAPER_COLS, Entry, _date, _entry, listing_filter

_FROM = "FROM daily_listings l JOIN papers p ON p.pk = l.paper_pk LEFT JOIN users u ON u.pk = l.submitter_pk"


def listings_between(
    conn: Connection, start: dt.date | None, end: dt.date | None, *, submitter: str | None = None
) -> list[Entry]:
    """Every listing from `start` to `end` (inclusive; None means open) as cards, in no particular order."""
    where, args = listing_filter(start, end, submitter)
    sql = f"SELECT {_PAPER_COLS}, {_LISTING_COLS} {_FROM} WHERE {where}"
    return [_entry(r._mapping) for r in conn.execute(text(sql), args)]


def _most_upvotes_before(conn: Connection, day: dt.date, submitter: str | None) -> int:
    where, args = listing_filter(None, day - dt.timedelta(days=1), submitter)
    sql = f"SELECT max(coalesce(l.upvotes, 0) + p.votes) {_FROM} WHERE {where}"
    return int(conn.execute(text(sql), args).scalar() or 0)


def _first_day(conn: Connection) -> dt.date | None:
    return _date(conn.execute(text("SELECT min(day) FROM daily_listings")).scalar())


def trending_between(
    conn: Connection,
    start: dt.date | None,
    end: dt.date | None,
    now: dt.datetime,
    params: TrendingParams,
    *,
    limit: int,
    offset: int = 0,
    submitter: str | None = None,
) -> list[Scored[Entry]]:
    """One page of the listings from `start` to `end`, best score (as at `now`) first.

    With an open start the whole history is not loaded: the look-back grows until no older listing
    could reach the page, since a listing featured `h` hours ago scores at most
    `(most upvotes + 1) / (h + offset) ** gravity`. The page is the same as ranking everything.
    """
    if start is not None:
        return rank(listings_between(conn, start, end, submitter=submitter), now, params)[offset : offset + limit]
    first = _first_day(conn)
    if first is None:
        return []
    need = offset + limit
    today = now.astimezone(dt.UTC).date()
    since = min(today, end or today) - dt.timedelta(days=7)
    ceiling: int | None = None
    while True:
        since = max(since, first)
        ranked = rank(listings_between(conn, since, end, submitter=submitter), now, params)
        if since <= first:
            return ranked[offset : offset + limit]
        if ceiling is None:
            ceiling = _most_upvotes_before(conn, since, submitter)
        # Anything not loaded was featured on `since - 1` or earlier.
        best_unseen = score(ceiling, hours_since_featured(since - dt.timedelta(days=1), now), params)
        if len(ranked) >= need and ranked[need - 1].score > best_unseen:
            return ranked[offset : offset + limit]
        lookback = (today - since).days * 2
        if len(ranked) >= need:
            # Far enough back that (ceiling + 1) / (h + offset) ** gravity drops below the page's last score.
            hours = ((ceiling + 1) / ranked[need - 1].score) ** (1 / params.gravity) - params.offset_hours
            lookback = max(lookback, int(hours // 24) + 2)
        since = today - dt.timedelta(days=lookback)


def trending_entries(
    conn: Connection,
    settings: Settings,
    start: dt.date | None,
    end: dt.date | None,
    *,
    limit: int,
    offset: int = 0,
    submitter: str | None = None,
    now: dt.datetime | None = None,
) -> list[Entry]:
    """A page of a cross-day view in trending order, ranked as at the end of the period (or now)."""
    at = reference_time(end, now)
    params = TrendingParams.from_settings(settings)
    page = trending_between(conn, start, end, at, params, limit=limit, offset=offset, submitter=submitter)
    return [s.item for s in page]
