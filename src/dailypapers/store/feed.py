"""Reading papers and their listings: the questions the feed, paper pages, API and digests ask.

The order of a view is `ranking.order`'s business; these queries hand it the rows (a single day's
trending order is SQL: every card of a day has the same age, so the decay cannot change it).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, text

from dailypapers.periods import FIRST_YEAR, LAST_YEAR
from dailypapers.sources.record import Submitter
from dailypapers.store import shown
from dailypapers.store.convert import as_date, aware, from_json


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
    upvotes: int = 0  # the one total shown: hf_upvotes + votes
    hf_upvotes: int = 0  # Hugging Face's count, as its listing was last synced
    votes: int = 0  # this site's members' votes
    pinned: bool = False
    listing_source: str = ""
    reason: str = ""  # why the curation model picked it, when it did
    submitter: Submitter | None = None
    num_comments: int = 0
    withdrawn: bool = False
    stars: int | None = None  # its most starred GitHub repository's stars (None: no repository known)
    stars_growth: int | None = None  # stars that repository gained over the last 7 days
    code_pushed_at: dt.datetime | None = None  # its last push


@dataclass(slots=True)
class Featured:
    day: dt.date
    upvotes: int
    source: str
    submitter: Submitter | None
    reason: str = ""


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
    featured: list[Featured] = field(default_factory=list)  # oldest first

    @property
    def original(self) -> Featured | None:
        """The first listing with a submitter (else the first listing): who brought the paper here, and when."""
        return next((f for f in self.featured if f.submitter), self.featured[0] if self.featured else None)


_PAPER_COLS = (
    "p.pk, p.id, p.local, p.title, p.abstract, p.authors, p.published, p.categories, p.primary_category, "
    "p.code_urls, p.project_urls, p.extra, p.latest_version, p.votes, p.num_comments, p.withdrawn, "
    "p.stars, p.stars_growth, p.code_pushed_at"
)
_LISTING_COLS = "l.day, l.upvotes, l.pinned, l.source AS listing_source, l.reason, u.name, u.fullname, u.avatar_url"
# A paper shows one count on every listing (a paper featured again shows what it earned before): the
# largest Hugging Face count among all its listings, plus this site's votes (as votes.upvotes_of). A
# correlated subquery on the (paper_pk, day) key: one index probe per card, on SQLite and PostgreSQL.
_HF_UPVOTES = "coalesce((SELECT max(b.upvotes) FROM daily_listings b WHERE b.paper_pk = l.paper_pk), 0)"
_SHOWN = f"({_HF_UPVOTES} + p.votes)"
_CARD_COLS = _LISTING_COLS.replace("l.upvotes", f"{_HF_UPVOTES} AS upvotes")
_ORDER = {
    "trending": f"l.pinned DESC, {_SHOWN} DESC, l.pk ASC",
    "new": "p.published DESC, l.pk ASC",
    # Papers without a known GitHub repository last (coalesce: the same on SQLite and PostgreSQL).
    "stars": f"coalesce(p.stars, -1) DESC, {_SHOWN} DESC, l.pk ASC",
    "star-growth": "coalesce(p.stars_growth, -1) DESC, coalesce(p.stars, -1) DESC, l.pk ASC",
}
SORTS = tuple(_ORDER)


def _entry(m: Any) -> Entry:
    has_listing = "day" in m
    shown.paper(m["pk"], m["votes"], m["num_comments"])
    name = m["name"] if has_listing else None
    return Entry(
        pk=m["pk"],
        id=m["id"],
        local=bool(m["local"]),
        title=m["title"],
        abstract=m["abstract"],
        authors=from_json(m["authors"]),
        published=aware(m["published"]),
        categories=from_json(m["categories"]),
        primary_category=m["primary_category"],
        code_urls=from_json(m["code_urls"]),
        project_urls=from_json(m["project_urls"]),
        extra=from_json(m["extra"]),
        latest_version=m["latest_version"],
        day=as_date(m["day"]) if has_listing else None,
        upvotes=((m["upvotes"] or 0) if has_listing else 0) + m["votes"],
        hf_upvotes=(m["upvotes"] or 0) if has_listing else 0,
        votes=m["votes"],
        pinned=bool(m["pinned"]) if has_listing else False,
        listing_source=(m["listing_source"] or "") if has_listing else "",
        reason=(m["reason"] or "") if has_listing else "",
        submitter=Submitter(name, m["fullname"] or "", m["avatar_url"] or "") if name else None,
        num_comments=m["num_comments"],
        withdrawn=bool(m["withdrawn"]),
        stars=m["stars"],
        stars_growth=m["stars_growth"],
        code_pushed_at=aware(m["code_pushed_at"]),
    )


def paper_pk_of(conn: Connection, paper_id: str) -> int | None:
    """The pk of the stored paper `paper_id`, or None."""
    return conn.execute(text("SELECT pk FROM papers WHERE id = :id"), {"id": paper_id}).scalar()


def title_of(conn: Connection, paper_pk: int) -> str:
    """The title of the paper with this pk ("" when there is none)."""
    return conn.execute(text("SELECT title FROM papers WHERE pk = :pk"), {"pk": paper_pk}).scalar() or ""


# Days the site shows (periods.FIRST_YEAR to LAST_YEAR). Imports refuse others, but a database filled
# before they did may hold some: they are left out here rather than breaking the pages that start from them.
_IN_YEARS = "day BETWEEN :first AND :last"


def _years() -> dict[str, dt.date]:
    return {"first": dt.date(FIRST_YEAR, 1, 1), "last": dt.date(LAST_YEAR, 12, 31)}


def latest_day(conn: Connection) -> dt.date | None:
    """The most recent day with a featured paper."""
    return as_date(conn.execute(text(f"SELECT max(day) FROM daily_listings WHERE {_IN_YEARS}"), _years()).scalar())


def first_day(conn: Connection) -> dt.date | None:
    """The earliest day with a featured paper."""
    return as_date(conn.execute(text(f"SELECT min(day) FROM daily_listings WHERE {_IN_YEARS}"), _years()).scalar())


def day_before(conn: Connection, day: dt.date) -> dt.date | None:
    """The latest day before `day` with a featured paper (empty days are skipped)."""
    return as_date(conn.execute(text("SELECT max(day) FROM daily_listings WHERE day < :d"), {"d": day}).scalar())


def day_after(conn: Connection, day: dt.date) -> dt.date | None:
    """The earliest day after `day` with a featured paper."""
    return as_date(conn.execute(text("SELECT min(day) FROM daily_listings WHERE day > :d"), {"d": day}).scalar())


_FROM = "FROM daily_listings l JOIN papers p ON p.pk = l.paper_pk LEFT JOIN users u ON u.pk = l.submitter_pk"


@dataclass(frozen=True, slots=True)
class Filter:
    """Which listings a view shows: every one, or one submitter's, or only papers with a code link, or
    only papers in any of some arXiv categories (`cs.CL`; an archive, `cs`, stands for all its classes;
    any case), as `sources.categories.filter_categories` checked them."""

    submitter: str | None = None
    has_code: bool = False
    categories: tuple[str, ...] = ()


EVERYTHING = Filter()
_HAS_CODE = {"postgresql": "jsonb_array_length(p.code_urls) > 0"}


def _where(conn: Connection, start: dt.date | None, end: dt.date | None, only: Filter) -> tuple[str, dict[str, Any]]:
    """The WHERE clause (over listings `l`, papers `p` and users `u`) for a day range and a filter."""
    where, args = ["1=1"], {}
    if start:
        where.append("l.day >= :start")
        args["start"] = start
    if end:
        where.append("l.day <= :end")
        args["end"] = end
    if only.submitter:
        where.append("u.name = :submitter")
        args["submitter"] = only.submitter
    if only.has_code:
        where.append(_HAS_CODE.get(conn.dialect.name, "json_array_length(p.code_urls) > 0"))
    if only.categories:
        where.append(_in_categories(conn, only.categories, args))
    return " AND ".join(where), args


def _in_categories(conn: Connection, categories: tuple[str, ...], args: dict[str, Any]) -> str:
    """The condition that a paper `p` is in any of `categories` (bound into `args`)."""
    ors = []
    for i, cat in enumerate(categories):
        args[f"cat{i}"] = cat.lower()
        ors.append(f"lower(c.value) = :cat{i}")
        if "." not in cat:  # an archive: itself and its subject classes
            args[f"catp{i}"] = cat.lower() + ".%"
            ors.append(f"lower(c.value) LIKE :catp{i}")
    if conn.dialect.name == "postgresql":
        elements = "jsonb_array_elements_text(p.categories) c(value)"
    else:
        elements = "json_each(p.categories) c"
    return f"EXISTS (SELECT 1 FROM {elements} WHERE {' OR '.join(ors)})"


def featured_between(
    conn: Connection,
    start: dt.date | None,
    end: dt.date | None,
    *,
    sort: str = "trending",
    limit: int | None = 50,
    offset: int = 0,
    only: Filter = EVERYTHING,
) -> list[Entry]:
    """Listings from `start` to `end` (inclusive; None means open) that `only` lets through, as cards:
    pinned, then most upvoted first (`trending`), newest paper first (`new`), most GitHub stars first
    (`stars`) or most stars gained lately (`star-growth`); with no period, the most recent days first.
    `limit` None: all of them."""
    where, args = _where(conn, start, end, only)
    order = _ORDER[sort] if sort in _ORDER else _ORDER["trending"]
    if limit is not None and _SHOWN in order:
        # Ordered by votes and cut: a vote below the cut can change the page (store.shown).
        shown.query(conn, f"SELECT count(*), sum(p.votes), sum(p.votes * (p.pk % 65521)) {_FROM} WHERE {where}", args)
    if not start and not end:
        order = "l.day DESC, " + order
    sql = f"SELECT {_PAPER_COLS}, {_CARD_COLS} {_FROM} WHERE {where} ORDER BY {order}"
    if limit is not None:
        sql += " LIMIT :limit OFFSET :offset"
        args.update(limit=limit, offset=offset)
    return [_entry(r._mapping) for r in conn.execute(text(sql), args)]


def listings_between(
    conn: Connection, start: dt.date | None, end: dt.date | None, *, only: Filter = EVERYTHING
) -> list[Entry]:
    """Every listing from `start` to `end` (inclusive; None means open) as cards, in no particular order."""
    where, args = _where(conn, start, end, only)
    return [
        _entry(r._mapping)
        for r in conn.execute(text(f"SELECT {_PAPER_COLS}, {_CARD_COLS} {_FROM} WHERE {where}"), args)
    ]


def most_upvotes_before(conn: Connection, day: dt.date, only: Filter = EVERYTHING) -> int:
    """The most upvotes a card featured before `day` shows (0 when there is none)."""
    where, args = _where(conn, None, day - dt.timedelta(days=1), only)
    sql = f"SELECT max{_SHOWN} {_FROM} WHERE {where}"
    recorded = shown.query(conn, sql, args)  # the page depends on it (store.shown)
    return int((recorded[0] if recorded else conn.execute(text(sql), args).scalar()) or 0)


def count_featured(conn: Connection, start: dt.date | None, end: dt.date | None, only: Filter = EVERYTHING) -> int:
    """How many listings from `start` to `end` (inclusive; None means open) the filter lets through."""
    where, args = _where(conn, start, end, only)
    return int(conn.execute(text(f"SELECT count(*) {_FROM} WHERE {where}"), args).scalar() or 0)


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
            as_date(r.day) or dt.date.min,
            r.upvotes,
            r.listing_source,
            Submitter(r.name, r.fullname or "", r.avatar_url or "") if r.name else None,
            r.reason or "",
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
    detail = PaperDetail(
        entry=entry,
        versions=from_json(m["versions"]),
        doi=m["doi"],
        journal_ref=m["journal_ref"],
        comments=m["comments"],
        license=m["license"],
        updated=aware(m["updated"]),
        announced=as_date(m["announced"]),
        withdrawn=bool(m["withdrawn"]),
        featured=featured,
    )
    if detail.original:
        # The count every card of it shows (_HF_UPVOTES), and who first submitted it, not who featured it again.
        best = max(featured, key=lambda f: f.upvotes)
        entry.day, entry.submitter = featured[-1].day, detail.original.submitter
        entry.upvotes, entry.hf_upvotes = best.upvotes + m["votes"], best.upvotes
        entry.listing_source, entry.reason = featured[-1].source, featured[-1].reason
    return detail


def entries_by_pk(conn: Connection, pks: list[int]) -> list[Entry]:
    """Papers (with their latest listing, if any) in the order of `pks`."""
    if not pks:
        return []
    params = {f"k{i}": pk for i, pk in enumerate(pks)}
    marks = ", ".join(f":k{i}" for i in range(len(pks)))
    sql = (
        f"SELECT {_PAPER_COLS}, {_CARD_COLS} FROM papers p "
        "LEFT JOIN daily_listings l ON l.pk = (SELECT max(l2.pk) FROM daily_listings l2 WHERE l2.paper_pk = p.pk) "
        f"LEFT JOIN users u ON u.pk = l.submitter_pk WHERE p.pk IN ({marks})"
    )
    found = {r.pk: _entry(r._mapping) for r in conn.execute(text(sql), params)}
    return [found[pk] for pk in pks if pk in found]
