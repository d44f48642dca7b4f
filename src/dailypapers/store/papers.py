"""Writing papers and daily listings: the queries the ingest pipeline needs."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Sequence
from typing import Any

import orjson
from sqlalchemy import Connection, bindparam, func, select, update

from dailypapers.sources.record import Author, Listing, PaperRecord, Submitter, Version
from dailypapers.store import copy_in, paper_names
from dailypapers.store.convert import as_date, aware, utc_now
from dailypapers.store.db import bump_data_version
from dailypapers.store.schema import DailyListing, Paper, User

papers = Paper.__table__
listings = DailyListing.__table__
users = User.__table__

# Stored columns in insert order, then text_hash (of what is embedded: title and abstract) and content_hash
# (last), which covers all the others.
COLUMNS = [
    "id",
    "local",
    "title",
    "abstract",
    "authors",
    "authors_text",
    "versions",
    "latest_version",
    "categories",
    "primary_category",
    "doi",
    "journal_ref",
    "comments",
    "license",
    "published",
    "updated",
    "announced",
    "code_urls",
    "project_urls",
    "extra",
    "withdrawn",
]
_JSON = frozenset({"authors", "versions", "categories", "code_urls", "project_urls", "extra"})
_AUTHORS, _EXTRA = COLUMNS.index("authors"), COLUMNS.index("extra")  # what the name index reads
_TIMES = frozenset({"published", "updated"})


def _iso(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is not None and value.tzinfo is not dt.UTC:
        value = value.astimezone(dt.UTC)
    # SQLAlchemy's SQLite DATETIME storage format: naive UTC, space-separated.
    return value.replace(tzinfo=None).isoformat(" ")


def record_params(rec: PaperRecord, dialect: str) -> tuple[Any, ...]:
    """The `papers` row of a record as insert parameters (COLUMNS order, then text_hash and content_hash).

    JSON columns are serialized once, here; the content hash covers exactly what is stored, so
    a record whose row would not change hashes the same as the stored paper. The text hash covers the
    title and abstract only: an embedding stays current while other metadata (upvotes, links) changes.
    """
    values: list[Any] = [
        rec.id,
        rec.local,
        rec.title,
        rec.abstract,
        orjson.dumps([{"name": a.name, "affiliations": list(a.affiliations)} for a in rec.authors]).decode(),
        ", ".join(a.name for a in rec.authors),
        orjson.dumps([{"version": v.version, "date": _iso(v.date), "size": v.size} for v in rec.versions]).decode(),
        rec.latest_version,
        orjson.dumps(rec.categories).decode(),
        rec.primary_category,
        rec.doi,
        rec.journal_ref,
        rec.comments,
        rec.license,
        _iso(rec.published),
        _iso(rec.updated),
        rec.announced.isoformat() if rec.announced else None,
        orjson.dumps(rec.code_urls).decode(),
        orjson.dumps(rec.project_urls).decode(),
        orjson.dumps(rec.extra, option=orjson.OPT_SORT_KEYS).decode(),
        rec.withdrawn,
    ]
    content = hashlib.blake2b(orjson.dumps(values), digest_size=16).hexdigest()
    values += [text_hash(rec.title, rec.abstract), content]
    if dialect == "postgresql":
        values[14] = rec.published
        values[15] = rec.updated
        values[16] = rec.announced
    return tuple(values)


def text_hash(title: str, abstract: str) -> str:
    """The hash of what a paper's embedding is computed from (migration 0007 computes the same)."""
    return hashlib.blake2b(orjson.dumps([title, abstract]), digest_size=16).hexdigest()


_HASHES = ["text_hash", "content_hash"]


def _placeholders(dialect: str) -> list[str]:
    if dialect == "sqlite":
        return ["?"] * (len(COLUMNS) + len(_HASHES))
    return [("%s::jsonb" if c in _JSON else "%s") for c in COLUMNS] + ["%s"] * len(_HASHES)


def row_to_record(row: Any) -> PaperRecord:
    """A stored paper back as a record (for merging with an incoming one)."""
    m = row._mapping if hasattr(row, "_mapping") else row
    return PaperRecord(
        id=m["id"],
        source="store",
        local=bool(m["local"]),
        title=m["title"],
        abstract=m["abstract"],
        authors=[Author(a["name"], tuple(a.get("affiliations") or ())) for a in m["authors"]],
        versions=[Version(v["version"], aware(v.get("date")), v.get("size")) for v in m["versions"]],
        categories=list(m["categories"]),
        primary_category=m["primary_category"],
        doi=m["doi"],
        journal_ref=m["journal_ref"],
        comments=m["comments"],
        license=m["license"],
        published=aware(m["published"]),
        updated=aware(m["updated"]),
        announced=as_date(m["announced"]),
        code_urls=list(m["code_urls"]),
        project_urls=list(m["project_urls"]),
        extra=dict(m["extra"]),
        withdrawn=bool(m["withdrawn"]),
    )


def count_papers(conn: Connection) -> int:
    """How many papers are stored."""
    return int(conn.execute(select(func.count()).select_from(papers)).scalar() or 0)


def max_paper_pk(conn: Connection) -> int:
    """The highest paper pk (0 with none): papers past it arrived later."""
    return int(conn.execute(select(func.max(papers.c.pk))).scalar() or 0)


def find_hashes(conn: Connection, ids: Sequence[str]) -> dict[str, tuple[int, str]]:
    """`id -> (pk, content_hash)` for the ids already stored."""
    if not ids:
        return {}
    # One array parameter instead of thousands of bound ones: this runs once per import batch.
    if conn.dialect.name == "sqlite":
        sql = "SELECT id, pk, content_hash FROM papers WHERE id IN (SELECT value FROM json_each(?))"
        arg: Any = orjson.dumps(list(ids)).decode()
    else:
        sql = "SELECT id, pk, content_hash FROM papers WHERE id = ANY(%s)"
        arg = list(ids)
    return {r[0]: (r[1], r[2]) for r in conn.exec_driver_sql(sql, (arg,))}


def load_records(conn: Connection, ids: Sequence[str]) -> dict[str, PaperRecord]:
    if not ids:
        return {}
    return {r.id: row_to_record(r) for r in conn.execute(select(papers).where(papers.c.id.in_(ids)))}


def reserve_pks(conn: Connection, count: int) -> list[int] | None:
    """PostgreSQL: `count` pks for new papers, drawn now, ascending (for `insert_papers`). SQLite numbers a
    row as it is inserted: None."""
    if conn.dialect.name != "postgresql" or not count:
        return None
    return copy_in.draw_pks(conn, count)


def insert_papers(
    conn: Connection, params: list[tuple[Any, ...]], *, pks: Sequence[int] | None = None, bump: bool = True
) -> None:
    """Insert new papers (rows from `record_params`) and their `paper_names` entries; on PostgreSQL with the
    pks `reserve_pks` drew for them, if given. `bump=False`: the caller bumps the data version itself (the
    one row every writer locks: later, see ingest.batches.OrderedWriter).

    On SQLite they become searchable once `search_index.index_batch` or `index_pending` has run (an import
    batch indexes its new papers in its own transaction; harvests and the server's background job catch
    up). PostgreSQL indexes them in the same statement, a COPY (`copy_in`).
    """
    if not params:
        return
    dialect = conn.dialect.name
    if dialect == "postgresql":
        pks = pks if pks is not None else copy_in.draw_pks(conn, len(params))
        copy_in.insert_papers(conn, [*COLUMNS, *_HASHES], params, pks, authors=_AUTHORS, extra=_EXTRA)
    else:
        cols = ", ".join([*COLUMNS, *_HASHES])
        conn.exec_driver_sql(f"INSERT INTO papers ({cols}) VALUES ({', '.join(_placeholders(dialect))})", params)
        paper_names.index_papers(conn, [(p[0], p[_AUTHORS], p[_EXTRA]) for p in params], replace=False)
    if bump:
        bump_data_version(conn)


def update_papers(conn: Connection, params: list[tuple[Any, ...]]) -> None:
    """Rewrite stored papers (rows from `record_params`, matched by id)."""
    if not params:
        return
    dialect = conn.dialect.name
    marks = _placeholders(dialect)
    sets = ", ".join(f"{c} = {m}" for c, m in zip([*COLUMNS, *_HASHES][1:], marks[1:], strict=True))
    sql = f"UPDATE papers SET {sets} WHERE id = {marks[0]}"
    conn.exec_driver_sql(sql, [(*p[1:], p[0]) for p in params])
    paper_names.index_papers(conn, [(p[0], p[_AUTHORS], p[_EXTRA]) for p in params], replace=True)
    bump_data_version(conn)


def reclaim_paper_pks(conn: Connection) -> None:
    """PostgreSQL: make the next new paper's pk follow the highest stored one.

    A sequence hands out numbers outside transactions, so an import batch killed mid-transaction
    leaves a gap, and a resumed import would number its papers differently from one clean run.
    The EXCLUSIVE lock (readers still read) waits for in-flight writers and keeps new ones out until
    this transaction ends, so no number held by a transaction that may still commit is handed out
    again. SQLite needs none of this: it numbers a new row after the highest stored one.
    """
    if conn.dialect.name != "postgresql":
        return
    conn.exec_driver_sql("LOCK TABLE papers IN EXCLUSIVE MODE")
    conn.exec_driver_sql(
        "SELECT setval(pg_get_serial_sequence('papers', 'pk'), coalesce(max(pk), 0) + 1, false) FROM papers"
    )


def ensure_users(conn: Connection, submitters: Iterable[Submitter], *, external: bool) -> dict[str, int]:
    """`name -> pk` for the submitters, creating the unknown ones."""
    wanted = {s.name: s for s in submitters}
    if not wanted:
        return {}
    found = {r.name: r.pk for r in conn.execute(select(users.c.name, users.c.pk).where(users.c.name.in_(wanted)))}
    now = utc_now()
    missing = [
        {
            "name": s.name,
            "fullname": s.fullname,
            "avatar_url": s.avatar_url,
            "external": external,
            "created_at": now,
        }
        for name, s in wanted.items()
        if name not in found
    ]
    if missing:
        conn.execute(users.insert(), missing)
        found.update(
            {r.name: r.pk for r in conn.execute(select(users.c.name, users.c.pk).where(users.c.name.in_(wanted)))}
        )
    return found


def upsert_listings(conn: Connection, items: Sequence[tuple[int, Listing]]) -> set[int]:
    """Record that papers were featured on days; returns the paper pks whose listings changed.

    A listing already there keeps its day and submitter; its upvote count follows the newer snapshot.
    """
    if not items:
        return set()
    user_pks = ensure_users(conn, [li.submitter for _, li in items if li.submitter], external=True)
    keys = {(pk, li.day) for pk, li in items}
    pks = {pk for pk, _ in keys}
    existing = {
        (r.paper_pk, as_date(r.day)): (r.pk, r.upvotes)
        for r in conn.execute(
            select(listings.c.pk, listings.c.paper_pk, listings.c.day, listings.c.upvotes).where(
                listings.c.paper_pk.in_(pks)
            )
        )
    }
    now = utc_now()
    new_rows, bumps, changed = [], [], set()
    seen: set[tuple[int, dt.date]] = set()
    for paper_pk, li in items:
        key = (paper_pk, li.day)
        if key in seen:
            continue
        seen.add(key)
        if key in existing:
            pk, upvotes = existing[key]
            if upvotes != li.upvotes:
                bumps.append({"b_pk": pk, "upvotes": li.upvotes})
                changed.add(paper_pk)
            continue
        new_rows.append(
            {
                "paper_pk": paper_pk,
                "day": li.day,
                "source": li.source,
                "submitter_pk": user_pks.get(li.submitter.name) if li.submitter else None,
                "upvotes": li.upvotes,
                "pinned": False,
                "created_at": now,
            }
        )
        changed.add(paper_pk)
    if new_rows:
        conn.execute(listings.insert(), new_rows)
    if bumps:
        conn.execute(update(listings).where(listings.c.pk == bindparam("b_pk")), bumps)
    if changed:
        bump_data_version(conn)
    return changed
