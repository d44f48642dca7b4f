"""What curation learns from and keeps: each announcement day's new papers, the community's picks with how
they were received, curators' skips, and the trained models. The rules (what counts as a pick, which days
a model may learn from) are `curation.auto`'s.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, delete, select, text
from sqlalchemy.dialects import postgresql, sqlite

from dailypapers.store.convert import as_date, aware, from_json, utc_now
from dailypapers.store.schema import DailyListing
from dailypapers.store.schema_derived import CurationModelRow, CurationSkip

models = CurationModelRow.__table__
skips = CurationSkip.__table__
listings_table = DailyListing.__table__
KEEP_MODELS = 3


@dataclass(frozen=True, slots=True)
class Announced:
    """A paper as it was announced: what the model may know of it on its announcement day."""

    pk: int
    id: str
    title: str
    abstract: str
    authors: tuple[str, ...]
    categories: tuple[str, ...]
    day: dt.date
    announce_type: str


@dataclass(frozen=True, slots=True)
class Featuring:
    """A paper featured on a day, with how it was received."""

    paper_pk: int
    id: str
    title: str
    abstract: str
    authors: tuple[str, ...]
    day: dt.date
    source: str
    upvotes: int  # the listing's (Hugging Face's) and this site's
    comments: int


@dataclass(frozen=True, slots=True)
class StoredModel:
    pk: int
    trained_at: dt.datetime
    model: bytes
    first_day: dt.date
    last_day: dt.date
    days: int
    papers: int
    positives: int
    picks: int
    seconds: float


def _names(authors: Any) -> tuple[str, ...]:
    return tuple(a["name"] for a in from_json(authors) or [])


def announced_between(conn: Connection, start: dt.date, end: dt.date) -> list[Announced]:
    """Papers announced from `start` to `end` (both included), by day then pk."""
    rows = conn.execute(
        text(
            "SELECT pk, id, title, abstract, authors, categories, primary_category, announced, extra FROM papers "
            "WHERE announced >= :start AND announced <= :end ORDER BY announced, pk"
        ),
        {"start": start, "end": end},
    )
    out = []
    for r in rows:
        extra = from_json(r.extra) or {}
        cats = tuple(from_json(r.categories) or ()) or ((r.primary_category,) if r.primary_category else ())
        out.append(
            Announced(
                r.pk,
                r.id,
                r.title or "",
                r.abstract or "",
                _names(r.authors),
                cats,
                as_date(r.announced) or start,
                str(extra.get("announce_type", "new")),
            )
        )
    return out


def announcement_days(conn: Connection, minimum: int = 1) -> list[tuple[dt.date, int]]:
    """Days with at least `minimum` announced papers, oldest first, with how many."""
    rows = conn.execute(
        text(
            "SELECT announced, count(*) AS n FROM papers WHERE announced IS NOT NULL "
            "GROUP BY announced HAVING count(*) >= :m ORDER BY announced"
        ),
        {"m": minimum},
    )
    return [(as_date(r.announced) or dt.date.min, int(r.n)) for r in rows]


def featurings(conn: Connection, before: dt.date | None = None) -> list[Featuring]:
    """Every listing (of a day before `before`, when given) with its paper and how it was received."""
    sql = (
        "SELECT p.pk, p.id, p.title, p.abstract, p.authors, l.day, l.source, "
        "coalesce(l.upvotes, 0) + p.votes AS upvotes, p.num_comments "
        "FROM daily_listings l JOIN papers p ON p.pk = l.paper_pk"
    )
    args: dict[str, Any] = {}
    if before is not None:
        sql += " WHERE l.day < :before"
        args["before"] = before
    return [
        Featuring(
            r.pk,
            r.id,
            r.title or "",
            r.abstract or "",
            _names(r.authors),
            as_date(r.day) or dt.date.min,
            r.source,
            int(r.upvotes or 0),
            int(r.num_comments or 0),
        )
        for r in conn.execute(text(sql + " ORDER BY l.day, l.pk"), args)
    ]


def skipped(conn: Connection, start: dt.date, end: dt.date) -> set[tuple[int, dt.date]]:
    """(paper pk, day) of the curators' skips from `start` to `end`."""
    rows = conn.execute(select(skips.c.paper_pk, skips.c.day).where(skips.c.day >= start, skips.c.day <= end))
    return {(r.paper_pk, as_date(r.day) or start) for r in rows}


def skip(conn: Connection, paper_pk: int, day: dt.date, user_pk: int | None) -> bool:
    """Record a skip; False when it was there already."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(skips).values(paper_pk=paper_pk, day=day, user_pk=user_pk, created_at=utc_now())
    stmt = stmt.on_conflict_do_nothing(index_elements=["paper_pk", "day"])
    return conn.execute(stmt.returning(skips.c.paper_pk)).first() is not None


def unskip(conn: Connection, paper_pk: int, day: dt.date) -> bool:
    """Take a skip back; False when there was none."""
    return bool(conn.execute(delete(skips).where(skips.c.paper_pk == paper_pk, skips.c.day == day)).rowcount)


def save_model(conn: Connection, model: bytes, **facts: Any) -> int:
    """Store a trained model (the newest is the one in use) and forget all but the last few."""
    pk = conn.execute(models.insert().values(model=model, trained_at=utc_now(), **facts).returning(models.c.pk))
    new_pk = int(pk.scalar_one())
    old = [r.pk for r in conn.execute(select(models.c.pk).order_by(models.c.pk.desc()).offset(KEEP_MODELS))]
    if old:
        conn.execute(delete(models).where(models.c.pk.in_(old)))
    return new_pk


def latest_model(conn: Connection, *, with_bytes: bool = True) -> StoredModel | None:
    """The model in use (the newest), or None; without its bytes when they are not needed."""
    cols = [c for c in models.c if with_bytes or c.name != "model"]
    row = conn.execute(select(*cols).order_by(models.c.pk.desc()).limit(1)).first()
    if row is None:
        return None
    m = row._mapping
    return StoredModel(
        m["pk"],
        aware(m["trained_at"]) or utc_now(),
        bytes(m["model"]) if with_bytes else b"",
        as_date(m["first_day"]) or dt.date.min,
        as_date(m["last_day"]) or dt.date.min,
        m["days"],
        m["papers"],
        m["positives"],
        m["picks"],
        float(m["seconds"]),
    )


def latest_announcement_day(conn: Connection) -> dt.date | None:
    """The most recent announcement day in the store."""
    return as_date(conn.execute(text("SELECT max(announced) FROM papers")).scalar())


def listed_on(conn: Connection, day: dt.date, paper_pks: list[int]) -> dict[int, str]:
    """Paper pk -> the source of its listing on `day`, for those of `paper_pks` featured that day."""
    if not paper_pks:
        return {}
    rows = conn.execute(
        select(listings_table.c.paper_pk, listings_table.c.source).where(
            listings_table.c.day == day, listings_table.c.paper_pk.in_(paper_pks)
        )
    )
    return {r.paper_pk: r.source for r in rows}
