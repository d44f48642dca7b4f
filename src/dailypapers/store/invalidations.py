"""Tags of cached pages to drop (`cache_invalidations`), so that a write drops only the pages that show
what it changed. A page cache tags what it renders ("paper:12" for a paper's page, "day:2026-07-31" for
the feeds of a day) and reads the tags appended since it last looked (web/cache.py).

The log is insert-only: writers never wait for one another on it, as they did on `data_version`. It is
kept for a few minutes (`purge`); a page cache older than that re-renders everything anyway (its entries'
`max_age`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import Connection, text

from dailypapers.store.convert import utc_now
from dailypapers.store.schema import CacheInvalidation

_TABLE = CacheInvalidation.__table__


def paper_tag(paper_pk: int) -> str:
    return f"paper:{paper_pk}"


def day_tag(day: dt.date) -> str:
    return f"day:{day.isoformat()}"


def tags_of_paper(conn: Connection, paper_pk: int) -> list[str]:
    """What a change to a paper's card (its upvotes) touches: its page and the days it is listed on."""
    days = conn.execute(text("SELECT DISTINCT day FROM daily_listings WHERE paper_pk = :p"), {"p": paper_pk})
    return [paper_tag(paper_pk), *(f"day:{str(d)[:10]}" for (d,) in days)]


def invalidate(conn: Connection, tags: Iterable[str]) -> None:
    rows = [{"tag": tag[:64], "created_at": utc_now()} for tag in dict.fromkeys(tags)]
    if rows:
        conn.execute(_TABLE.insert(), rows)


def latest(conn: Connection) -> int:
    return int(conn.execute(text("SELECT coalesce(max(seq), 0) FROM cache_invalidations")).scalar() or 0)


def since(conn: Connection, seq: int, limit: int = 50_000) -> list[tuple[int, str]]:
    """(seq, tag) appended after `seq`, oldest first."""
    rows = conn.execute(
        text("SELECT seq, tag FROM cache_invalidations WHERE seq > :s ORDER BY seq LIMIT :n"), {"s": seq, "n": limit}
    )
    return [(int(s), str(t)) for s, t in rows]


def purge(conn: Connection, older_than: dt.timedelta = dt.timedelta(minutes=10)) -> int:
    cutoff = utc_now() - older_than
    stmt = _TABLE.delete().where(_TABLE.c.created_at < cutoff)
    return int(conn.execute(stmt).rowcount or 0)
