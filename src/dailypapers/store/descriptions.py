"""Papers' one-line descriptions for cards (TL;DR and keywords, docs/summaries.md): which papers need one,
writing them, and reading them back for pages.

A description is current while the paper's text hash is the one it was computed from and Hugging Face's
`ai_summary` / `ai_keywords` (in `papers.extra`) are present or absent as they were then (`hf_fields`):
a paper harvested from arXiv and described offline is described again once Hugging Face features it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlalchemy import Connection, and_, case, func, or_, select

from dailypapers.store.convert import from_json, str_list, upsert_insert, utc_now
from dailypapers.store.db import bump_data_version
from dailypapers.store.schema import Paper, PaperEmbedding
from dailypapers.store.schema_derived import PaperDescription
from dailypapers.store.vectors import from_db

descriptions = PaperDescription.__table__
papers = Paper.__table__
embeddings = PaperEmbedding.__table__

HF_SUMMARY, HF_KEYWORDS = 1, 2  # bits of `hf_fields`


@dataclass(frozen=True)
class Description:
    """What a card shows of a paper: a plain-text TL;DR ("" when none) and keywords (best first)."""

    tldr: str
    keywords: list[str] = field(default_factory=list)
    source: str = ""  # "hf", "offline", "hf+offline", or "" (nothing to describe)


@dataclass(frozen=True)
class PendingPaper:
    """A paper to describe, as read: its text, its `extra` (Hugging Face's fields), the hashes to store with
    the result, and its current stored embedding by the model asked for (None when it has none)."""

    pk: int
    title: str
    abstract: str
    extra: dict[str, Any]
    text_hash: str
    hf_fields: int
    vector: np.ndarray | None


@dataclass(frozen=True)
class NewDescription:
    """A description to store for paper `pk`, computed from the paper as `text_hash` and `hf_fields` say."""

    pk: int
    tldr: str
    keywords: list[str]
    source: str
    text_hash: str
    hf_fields: int


def hf_fields_of(extra: dict[str, Any] | None) -> int:
    """Which of Hugging Face's fields `extra` holds (not null), as the bits of `hf_fields`."""
    extra = extra or {}
    return (HF_SUMMARY if extra.get("ai_summary") is not None else 0) | (
        HF_KEYWORDS if extra.get("ai_keywords") is not None else 0
    )


def _hf_fields_sql() -> Any:
    """`hf_fields_of(papers.extra)` in SQL (JSON_EXTRACT on SQLite, ->> on PostgreSQL: NULL when absent)."""
    extra = papers.c.extra
    return case((extra["ai_summary"].as_string().is_not(None), HF_SUMMARY), else_=0) + case(
        (extra["ai_keywords"].as_string().is_not(None), HF_KEYWORDS), else_=0
    )


def _stale() -> Any:
    d = descriptions.c
    return or_(d.paper_pk.is_(None), d.text_hash != papers.c.text_hash, d.hf_fields != _hf_fields_sql())


def _outer() -> Any:
    return papers.outerjoin(descriptions, descriptions.c.paper_pk == papers.c.pk)


def pending(
    conn: Connection, model: str, dim: int, *, before: int | None = None, limit: int = 64, force: bool = False
) -> list[PendingPaper]:
    """Papers below pk `before` (all when None), newest pk first, at most `limit`, whose description is
    missing or stale (every one with `force`), each with its current embedding by `model` if stored."""
    e = embeddings.c
    current = and_(e.paper_pk == papers.c.pk, e.model == model, e.content_hash == papers.c.text_hash)
    query = (
        select(
            papers.c.pk,
            papers.c.title,
            papers.c.abstract,
            papers.c.extra,
            papers.c.text_hash,
            _hf_fields_sql().label("hf_fields"),
            e.vector,
        )
        .select_from(_outer().outerjoin(embeddings, current))
        .order_by(papers.c.pk.desc())
        .limit(limit)
    )
    if before is not None:
        query = query.where(papers.c.pk < before)
    if not force:
        query = query.where(_stale())
    rows = conn.execute(query).all()
    out = []
    for r in rows:
        vector = from_db([r.vector], dim)[0] if r.vector is not None else None
        extra = from_json(r.extra)
        extra = extra if isinstance(extra, dict) else {}
        out.append(PendingPaper(r.pk, r.title or "", r.abstract or "", extra, r.text_hash, int(r.hf_fields), vector))
    return out


def count_pending(conn: Connection) -> int:
    """How many papers have no current description."""
    return int(conn.execute(select(func.count()).select_from(_outer()).where(_stale())).scalar() or 0)


def save(conn: Connection, items: Sequence[NewDescription], now: dt.datetime | None = None) -> int:
    """Store the descriptions, replacing older ones; papers deleted meanwhile are skipped. Returns how many
    rows were written. One statement for the lot: callers pass a batch."""
    if not items:
        return 0
    alive = {r[0] for r in conn.execute(select(papers.c.pk).where(papers.c.pk.in_([d.pk for d in items])))}
    when = now or utc_now()
    rows = {
        d.pk: {
            "paper_pk": d.pk,
            "tldr": d.tldr,
            "keywords": list(d.keywords),
            "source": d.source,
            "text_hash": d.text_hash,
            "hf_fields": d.hf_fields,
            "described_at": when,
        }
        for d in items
        if d.pk in alive
    }
    if not rows:
        return 0
    stmt = upsert_insert(conn)(descriptions)
    stmt = stmt.on_conflict_do_update(
        index_elements=["paper_pk"],
        set_={c: stmt.excluded[c] for c in ("tldr", "keywords", "source", "text_hash", "hf_fields", "described_at")},
    )
    conn.execute(stmt, list(rows.values()))
    bump_data_version(conn)
    return len(rows)


def for_papers(conn: Connection, pks: Iterable[int]) -> dict[int, Description]:
    """The stored description of each of `pks` that has one (current or not: a stale one is still the
    best there is until the job describes the paper again). Papers without one are left out."""
    wanted = sorted(set(pks))
    out: dict[int, Description] = {}
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        d = descriptions.c
        query = select(d.paper_pk, d.tldr, d.keywords, d.source).where(d.paper_pk.in_(chunk))
        for r in conn.execute(query):
            out[r.paper_pk] = Description(r.tldr or "", str_list(r.keywords), r.source or "")
    return out


def export(conn: Connection) -> list[dict[str, Any]]:
    """Every current description with its paper's id, for a file that `import_matching` reads back (the
    demo ships one, so a fresh `make run` shows TL;DRs at once)."""
    d = descriptions.c
    query = (
        select(papers.c.id, papers.c.text_hash, d.hf_fields, d.tldr, d.keywords, d.source)
        .select_from(papers.join(descriptions, d.paper_pk == papers.c.pk))
        .where(d.text_hash == papers.c.text_hash, d.hf_fields == _hf_fields_sql())
        .order_by(papers.c.id)
    )
    return [
        {"id": r.id, "text_hash": r.text_hash, "hf_fields": int(r.hf_fields), "tldr": r.tldr,
         "keywords": str_list(r.keywords), "source": r.source}
        for r in conn.execute(query)
    ]  # fmt: skip


def import_matching(conn: Connection, rows: Sequence[dict[str, Any]]) -> int:
    """Store the exported descriptions of papers whose text and Hugging Face fields still match (the
    others are left to the `describe` job). Returns how many were stored."""
    wanted = {r["id"]: r for r in rows}
    take: list[NewDescription] = []
    ids = list(wanted)
    for start in range(0, len(ids), 500):
        found = conn.execute(
            select(papers.c.pk, papers.c.id, papers.c.text_hash, _hf_fields_sql().label("hf_fields")).where(
                papers.c.id.in_(ids[start : start + 500])
            )
        )
        for p in found:
            r = wanted[p.id]
            if r["text_hash"] == p.text_hash and int(r["hf_fields"]) == int(p.hf_fields):
                take.append(NewDescription(p.pk, r["tldr"], list(r["keywords"]), r["source"], p.text_hash, p.hf_fields))
    return save(conn, take)
