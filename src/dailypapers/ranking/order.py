"""The order of the feed, the same for every view of a period: pages, the API, Atom feeds and digests.

A single day in trending order is the store's SQL (pinned first, then most upvoted): every card of a
day has the same age, so the decay cannot change its order. Across days the score needs each card's
age, so a range's listings are loaded and ranked by `score.rank` (docs/ranking.md).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from dailypapers.periods import Period
from dailypapers.ranking.score import Scored, TrendingParams, hours_since_featured, rank, reference_time, score
from dailypapers.store import feed
from dailypapers.store.feed import EVERYTHING, Entry, Filter

if TYPE_CHECKING:
    from sqlalchemy import Connection


def ordered(
    conn: Connection,
    params: TrendingParams,
    period: Period | None,
    *,
    sort: str = "trending",
    limit: int | None,
    offset: int = 0,
    only: Filter = EVERYTHING,
    now: dt.datetime | None = None,
) -> list[Entry]:
    """One page of `period`'s listings (all days with None) that `only` lets through, in `sort` order:
    "trending" (by upvotes within a day, by the trending score as at the period's end, or `now`, across
    days), "new", "stars" or "star-growth" (feed.SORTS). `limit` None: all."""
    start, end = (period.start, period.end) if period else (None, None)
    if sort != "trending" or (period is not None and period.kind == "day"):
        return feed.featured_between(conn, start, end, sort=sort, limit=limit, offset=offset, only=only)
    at = reference_time(end, now)
    return [s.item for s in trending_between(conn, start, end, at, params, limit=limit, offset=offset, only=only)]


def trending_between(
    conn: Connection,
    start: dt.date | None,
    end: dt.date | None,
    now: dt.datetime,
    params: TrendingParams,
    *,
    limit: int | None,
    offset: int = 0,
    only: Filter = EVERYTHING,
) -> list[Scored[Entry]]:
    """One page of the listings from `start` to `end`, best score (as at `now`) first; `limit` None: all.

    With an open start the whole history is not loaded: the look-back grows until no older listing
    could reach the page, since a listing featured `h` hours ago scores at most
    `(most upvotes + 1) / (h + offset) ** gravity`. The page is the same as ranking everything.
    """
    stop = None if limit is None else offset + limit
    if start is not None or stop is None:
        return rank(feed.listings_between(conn, start, end, only=only), now, params)[offset:stop]
    first = feed.first_day(conn)
    if first is None:
        return []
    today = now.astimezone(dt.UTC).date()
    since = min(today, end or today) - dt.timedelta(days=7)
    ceiling: int | None = None
    while True:
        since = max(since, first)
        ranked = rank(feed.listings_between(conn, since, end, only=only), now, params)
        if since <= first:
            return ranked[offset:stop]
        if ceiling is None:
            ceiling = feed.most_upvotes_before(conn, since, only)
        # Anything not loaded was featured on `since - 1` or earlier.
        best_unseen = score(ceiling, hours_since_featured(since - dt.timedelta(days=1), now), params)
        if len(ranked) >= stop and ranked[stop - 1].score > best_unseen:
            return ranked[offset:stop]
        lookback = (today - since).days * 2
        if len(ranked) >= stop:
            # Far enough back that (ceiling + 1) / (h + offset) ** gravity drops below the page's last score.
            hours = ((ceiling + 1) / ranked[stop - 1].score) ** (1 / params.gravity) - params.offset_hours
            lookback = max(lookback, int(hours // 24) + 2)
        since = today - dt.timedelta(days=lookback)
