"""Readers' collections (`collections`, `collection_papers`): named lists of papers with a visibility.

Who may see or change one is the use case's rule (`personal.collections`); these functions read and write.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, delete, func, select, update

from dailypapers.store.convert import aware, from_json, upsert_insert, utc_now
from dailypapers.store.schema import Paper, User
from dailypapers.store.schema_personal import Collection, CollectionPaper

collections = Collection.__table__
members = CollectionPaper.__table__
papers = Paper.__table__
users = User.__table__


@dataclass(frozen=True, slots=True)
class StoredCollection:
    pk: int
    user_pk: int
    owner: str  # the owner's username
    slug: str
    name: str
    description: str
    visibility: str
    created_at: dt.datetime
    updated_at: dt.datetime
    papers: int  # how many papers it holds


@dataclass(frozen=True, slots=True)
class Item:
    """A paper in a collection: its pk, the owner's note and when it was added."""

    paper_pk: int
    note: str
    added_at: dt.datetime


@dataclass(frozen=True, slots=True)
class ExportPaper:
    """What an export of a collection writes of a paper."""

    id: str
    local: bool
    title: str
    authors: list[str]
    abstract: str
    published: dt.datetime | None
    categories: list[str]
    primary_category: str
    doi: str
    journal_ref: str
    note: str
    added_at: dt.datetime


def _count() -> Any:
    return (
        select(func.count())
        .select_from(members)
        .where(members.c.collection_pk == collections.c.pk)
        .scalar_subquery()
        .label("n")
    )


def _select() -> Any:
    return select(collections, users.c.name.label("owner"), _count()).join(users, users.c.pk == collections.c.user_pk)


def _collection(row: Any) -> StoredCollection:
    return StoredCollection(
        pk=int(row.pk),
        user_pk=int(row.user_pk),
        owner=row.owner,
        slug=row.slug,
        name=row.name,
        description=row.description or "",
        visibility=row.visibility,
        created_at=aware(row.created_at) or utc_now(),
        updated_at=aware(row.updated_at) or utc_now(),
        papers=int(row.n or 0),
    )


def create(conn: Connection, user_pk: int, slug: str, name: str, description: str, visibility: str) -> int | None:
    """A new collection; its pk, or None when `slug` is taken (the caller picks another)."""
    now = utc_now()
    row = {
        "user_pk": user_pk,
        "slug": slug,
        "name": name,
        "description": description,
        "visibility": visibility,
        "created_at": now,
        "updated_at": now,
    }
    stmt = upsert_insert(conn)(collections).values(row).on_conflict_do_nothing(index_elements=["slug"])
    pk = conn.execute(stmt.returning(collections.c.pk)).scalar()
    return int(pk) if pk is not None else None


def by_slug(conn: Connection, slug: str) -> StoredCollection | None:
    row = conn.execute(_select().where(collections.c.slug == slug)).first()
    return _collection(row) if row is not None else None


def of_user(conn: Connection, user_pk: int, visibilities: tuple[str, ...] | None = None) -> list[StoredCollection]:
    """The user's collections (only those of these visibilities, if given), the last changed first."""
    q = _select().where(collections.c.user_pk == user_pk)
    if visibilities is not None:
        q = q.where(collections.c.visibility.in_(visibilities))
    q = q.order_by(collections.c.updated_at.desc(), collections.c.pk.desc())
    return [_collection(r) for r in conn.execute(q)]


def count_of_user(conn: Connection, user_pk: int) -> int:
    q = select(func.count()).select_from(collections).where(collections.c.user_pk == user_pk)
    return int(conn.execute(q).scalar() or 0)


def change(conn: Connection, pk: int, **values: str) -> None:
    """Set some of name, description and visibility (and the time of the change)."""
    allowed = {k: v for k, v in values.items() if k in ("name", "description", "visibility")}
    conn.execute(update(collections).where(collections.c.pk == pk).values(**allowed, updated_at=utc_now()))


def touch(conn: Connection, pk: int) -> None:
    conn.execute(update(collections).where(collections.c.pk == pk).values(updated_at=utc_now()))


def remove(conn: Connection, pk: int) -> None:
    """Delete the collection and its papers' rows (not the papers)."""
    conn.execute(delete(members).where(members.c.collection_pk == pk))
    conn.execute(delete(collections).where(collections.c.pk == pk))


def paper_count(conn: Connection, pk: int) -> int:
    q = select(func.count()).select_from(members).where(members.c.collection_pk == pk)
    return int(conn.execute(q).scalar() or 0)


def add_paper(conn: Connection, pk: int, paper_pk: int, note: str | None) -> bool:
    """Put the paper in the collection; True if it was not in it. A `note` (not None) replaces its note."""
    row = {"collection_pk": pk, "paper_pk": paper_pk, "note": note or "", "added_at": utc_now()}
    stmt = upsert_insert(conn)(members).values(row).on_conflict_do_nothing(index_elements=["collection_pk", "paper_pk"])
    added = conn.execute(stmt.returning(members.c.paper_pk)).first() is not None
    if not added and note is not None:
        conn.execute(
            update(members).where(members.c.collection_pk == pk, members.c.paper_pk == paper_pk).values(note=note)
        )
    return added


def remove_paper(conn: Connection, pk: int, paper_pk: int) -> bool:
    """Take the paper out of the collection; True if it was in it."""
    result = conn.execute(delete(members).where(members.c.collection_pk == pk, members.c.paper_pk == paper_pk))
    return result.rowcount == 1


def has_paper(conn: Connection, pk: int, paper_pk: int) -> bool:
    q = select(members.c.paper_pk).where(members.c.collection_pk == pk, members.c.paper_pk == paper_pk)
    return conn.execute(q).first() is not None


def items(conn: Connection, pk: int, limit: int, offset: int = 0) -> list[Item]:
    """The collection's papers, the first added first."""
    q = (
        select(members.c.paper_pk, members.c.note, members.c.added_at)
        .where(members.c.collection_pk == pk)
        .order_by(members.c.added_at, members.c.paper_pk)
        .limit(limit)
        .offset(offset)
    )
    return [Item(int(r.paper_pk), r.note or "", aware(r.added_at) or utc_now()) for r in conn.execute(q)]


def containing(conn: Connection, user_pk: int, paper_pk: int) -> set[int]:
    """The pks of the user's collections that hold the paper."""
    q = (
        select(members.c.collection_pk)
        .join(collections, collections.c.pk == members.c.collection_pk)
        .where(collections.c.user_pk == user_pk, members.c.paper_pk == paper_pk)
    )
    return {int(r[0]) for r in conn.execute(q)}


def export_papers(conn: Connection, pk: int) -> list[ExportPaper]:
    """Every paper of the collection with what an export writes, the first added first."""
    q = (
        select(
            papers.c.id,
            papers.c.local,
            papers.c.title,
            papers.c.authors,
            papers.c.abstract,
            papers.c.published,
            papers.c.categories,
            papers.c.primary_category,
            papers.c.doi,
            papers.c.journal_ref,
            members.c.note,
            members.c.added_at,
        )
        .join(papers, papers.c.pk == members.c.paper_pk)
        .where(members.c.collection_pk == pk)
        .order_by(members.c.added_at, members.c.paper_pk)
    )
    out = []
    for r in conn.execute(q):
        authors = [a["name"] for a in from_json(r.authors) or [] if isinstance(a, dict) and a.get("name")]
        out.append(
            ExportPaper(
                id=r.id,
                local=bool(r.local),
                title=r.title or "",
                authors=authors,
                abstract=r.abstract or "",
                published=aware(r.published),
                categories=list(from_json(r.categories) or []),
                primary_category=r.primary_category or "",
                doi=r.doi or "",
                journal_ref=r.journal_ref or "",
                note=r.note or "",
                added_at=aware(r.added_at) or utc_now(),
            )
        )
    return out
