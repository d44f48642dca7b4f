"""Reading papers and daily listings: the questions the feed, paper pages and API ask."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, text

from dailypapers.sources.record import Submitter

SORTS = ("trending", "new")


@dataclass(slots=True)
class Entry:
    """A paper as a card shows it: with the listing that featured it, when there is one."""

    pk: int
    id: str
    local: bool
    title: str
    abstract: str
    authors: list[dict[str, Any]]
    published: dt.datetime | None
    categories: list[str]
    primary_category: str
    code_urls: list[str]
    project_urls: list[str]
    extra: dict[str, Any]
    latest_version: int
    day: dt.date | None = None
    upvotes: int = 0
    pinned: bool = False
    listing_source: str = ""
    submitter: Submitter | None = None
    num_comments: int = 0


@dataclass(slots=True)
class Featured:
    day: dt.date
    upvotes: int
    source: str
    submitter: Submitter | None


@dataclass(slots=True)
class PaperDetail:
    entry: Entry
    versions: list[dict[str, Any]]
    doi: str
    journal_ref: str
    comments: str
    license: str
    updated: dt.datetime | None
    announced: dt.date | None
    withdrawn: bool
    featured: list[Featured] = field(default_factory=list)


_PAPER_COLS = (
    "p.pk, p.id, p.local, p.title, p.abstract, p.authors, p.published, p.categories, p.primary_category, "
    "p.code_urls, p.project_urls, p.extra, p.latest_version, p.votes, p.num_comments"
)
_LISTING_COLS = "l.day, l.upvotes, l.pinned, l.source AS listing_source, u.name, u.fullname, u.avatar_url"
_ORDER = {
    "trending": "l.pinned DESC, l.upvotes + p.votes DESC, l.pk ASC",
    "new": "p.published DESC, l.pk ASC",
}


def _json(value: Any) -> Any:
    if isinstance(value, str):
        import orjson

        return orjson.loads(value)
    return value


def _aware(value: Any) -> dt.datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _date(value: Any) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(value)


def _entry(m: Any) -> Entry:
    has_listing = "day" in m
    name = m["name"] if has_listing else None
    return Entry(
        pk=m["pk"],
        id=m["id"],
        local=bool(m["local"]),
        title=m["title"],
        abstract=m["abstract"],
        authors=_json(m["authors"]),
        published=_aware(m["published"]),
        categories=_json(m["categories"]),
        primary_category=m["primary_category"],
        code_urls=_json(m["code_urls"]),
        project_urls=_json(m["project_urls"]),
        extra=_json(m["extra"]),
        latest_version=m["latest_version"],
        day=_date(m["day"]) if has_listing else None,
        upvotes=((m["upvotes"] or 0) if has_listing else 0) + m["votes"],
        pinned=bool(m["pinned"]) if has_listing else False,
        listing_source=m["listing_source"] if has_listing else "",
        submitter=Submitter(name, m["fullname"] or "", m["avatar_url"] or "") if name else None,
        num_comments=m["num_comments"],
    )


def paper_pk_of(conn: Connection, paper_id: str) -> int | None:
    """The pk of the stored paper `paper_id`, or None."""
    return conn.execute(text("SELECT pk FROM papers WHERE id = :id"), {"id": paper_id}).scalar()


def latest_day(conn: Connection) -> dt.date | None:
    """The most recent day with a featured paper."""
    return _date(conn.execute(text("SELECT max(day) FROM daily_listings")).scalar())


def day_before(conn: Connection, day: dt.date) -> dt.date | None:
    """The latest day before `day` with a featured paper (empty days are skipped)."""
    return _date(conn.execute(text("SELECT max(day) FROM daily_listings WHERE day < :d"), {"d": day}).scalar())


def day_after(conn: Connection, day: dt.date) -> dt.date | None:
    """The earliest day after `day` with a featured paper."""
    return _date(conn.execute(text("SELECT min(day) FROM daily_listings WHERE day > :d"), {"d": day}).scalar())


def listing_filter(start: dt.date | None, end: dt.date | None, submitter: str | None) -> tuple[str, dict[str, Any]]:
    """The WHERE clause (over listings `l` and users `u`) for a day range and a submitter."""
    where, args = ["1=1"], {}
    if start:
        where.append("l.day >= :start")
        args["start"] = start
    if end:
        where.append("l.day <= :end")
        args["end"] = end
    if submitter:
        where.append("u.name = :submitter")
        args["submitter"] = submitter
    return " AND ".join(where), args


def featured_between(
    conn: Connection,
    start: dt.date | None,
    end: dt.date | None,
    *,
    sort: str = "trending",
    limit: int = 50,
    offset: int = 0,
    submitter: str | None = None,
) -> list[Entry]:
    """Papers featured from `start` to `end` (inclusive; None means open), best first.

    With no period, the most recent days come first.
    """
    where, args = listing_filter(start, end, submitter)
    args.update(limit=limit, offset=offset)
    order = _ORDER[sort] if sort in _ORDER else _ORDER["trending"]
    if not start and not end:
        order = "l.day DESC, " + order
    sql = (
        f"SELECT {_PAPER_COLS}, {_LISTING_COLS} FROM daily_listings l "
        "JOIN papers p ON p.pk = l.paper_pk LEFT JOIN users u ON u.pk = l.submitter_pk "
        f"WHERE {where} ORDER BY {order} LIMIT :limit OFFSET :offset"
    )
    return [_entry(r._mapping) for r in conn.execute(text(sql), args)]


def count_featured(conn: Connection, start: dt.date | None, end: dt.date | None) -> int:
    sql = "SELECT count(*) FROM daily_listings l WHERE (:start IS NULL OR l.day >= :start)"
    sql += " AND (:end IS NULL OR l.day <= :end)"
    return int(conn.execute(text(sql), {"start": start, "end": end}).scalar() or 0)


def paper_detail(conn: Connection, paper_id: str) -> PaperDetail | None:
    """Everything the paper page shows, or None for an unknown id."""
    row = conn.execute(
        text(
            f"SELECT {_PAPER_COLS}, p.versions, p.doi, p.journal_ref, p.comments, p.license, p.updated, "
            "p.announced, p.withdrawn FROM papers p WHERE p.id = :id"
        ),
        {"id": paper_id},
    ).first()
    if row is None:
        return None
    m = row._mapping
    featured = [
        Featured(
            _date(r.day) or dt.date.min,
            r.upvotes,
            r.listing_source,
            Submitter(r.name, r.fullname or "", r.avatar_url or "") if r.name else None,
        )
        for r in conn.execute(
            text(
                f"SELECT {_LISTING_COLS} FROM daily_listings l LEFT JOIN users u ON u.pk = l.submitter_pk "
                "WHERE l.paper_pk = :pk ORDER BY l.day"
            ),
            {"pk": m["pk"]},
        )
    ]
    entry = _entry(m)
    if featured:
        best = max(featured, key=lambda f: f.upvotes)
        entry.day, entry.upvotes, entry.submitter = featured[-1].day, best.upvotes + m["votes"], featured[-1].submitter
        entry.listing_source = featured[-1].source
    return PaperDetail(
        entry=entry,
        versions=_json(m["versions"]),
        doi=m["doi"],
        journal_ref=m["journal_ref"],
        comments=m["comments"],
        license=m["license"],
        updated=_aware(m["updated"]),
        announced=_date(m["announced"]),
        withdrawn=bool(m["withdrawn"]),
        featured=featured,
    )


def entries_by_pk(conn: Connection, pks: list[int]) -> list[Entry]:
    """Papers (with their latest listing, if any) in the order of `pks`."""
    if not pks:
        return []
    params = {f"k{i}": pk for i, pk in enumerate(pks)}
    marks = ", ".join(f":k{i}" for i in range(len(pks)))
    sql = (
        f"SELECT {_PAPER_COLS}, {_LISTING_COLS} FROM papers p "
        "LEFT JOIN daily_listings l ON l.pk = (SELECT max(l2.pk) FROM daily_listings l2 WHERE l2.paper_pk = p.pk) "
        f"LEFT JOIN users u ON u.pk = l.submitter_pk WHERE p.pk IN ({marks})"
    )
    found = {r.pk: _entry(r._mapping) for r in conn.execute(text(sql), params)}
    return [found[pk] for pk in pks if pk in found]
