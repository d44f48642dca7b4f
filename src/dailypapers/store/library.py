"""Readers' imported libraries (`library_entries`): the papers their entries name (by arXiv id, DOI or
title), the entries themselves, and the vectors of the entries that name no stored paper.

Matching by title has no index of its own: the keyword index (SQLite FTS5, PostgreSQL's tsvector) finds
the papers whose titles hold the title's longest words, and only those candidates' titles are compared
(normalized as `sources.library_record.title_key`), so it stays one indexed lookup per title at a million
papers. On SQLite, papers not yet in the keyword index (behind `search_index`'s watermark) are compared
directly when there are few of them."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, text, update

from dailypapers.sources.latex import plain_text
from dailypapers.sources.library_record import title_key
from dailypapers.store import search_index
from dailypapers.store.convert import aware
from dailypapers.store.schema import Paper
from dailypapers.store.schema_personal import LibraryEntry

CHUNK = 500  # ids per IN (...) list
TITLE_WORDS = 5  # the longest words of a title that candidates must hold in their titles
CANDIDATES = 50  # candidates compared per title
UNINDEXED_SCAN = 20_000  # SQLite: compare the titles of up to this many papers not yet in the keyword index
# Words too common to narrow anything (and PostgreSQL's English configuration drops them anyway).
_STOP = frozenset(
    "a an and are as at be by for from has in is it its of on or that the this to via was were with without".split()  # noqa: SIM905
)


@dataclass(frozen=True, slots=True)
class NewEntry:
    title: str
    abstract: str
    authors_text: str
    arxiv_id: str
    doi: str
    year: int | None
    paper_pk: int | None


@dataclass(frozen=True, slots=True)
class StoredEntry:
    pk: int
    title: str
    authors_text: str
    arxiv_id: str
    doi: str
    year: int | None
    source: str
    paper_pk: int | None
    paper_id: str | None  # the matched paper's arXiv id (or local id)
    embedded: bool
    imported_at: dt.datetime


@dataclass(frozen=True, slots=True)
class EntryKeys:
    """What an entry is known by, to tell whether a new one is the same."""

    arxiv_id: str
    doi: str
    title: str
    paper_pk: int | None


@dataclass(frozen=True, slots=True)
class LibraryCounts:
    entries: int
    matched: int
    embedded: int  # unmatched entries with a vector

    @property
    def unmatched(self) -> int:
        return self.entries - self.matched


def _chunks(items: Sequence[str]) -> Iterable[Sequence[str]]:
    for i in range(0, len(items), CHUNK):
        yield items[i : i + CHUNK]


# -- matching -----------------------------------------------------------------------------------


def papers_by_arxiv_id(conn: Connection, ids: Iterable[str]) -> dict[str, int]:
    """Stored papers' pks by arXiv id (without version, as papers.id holds them)."""
    wanted = sorted({i for i in ids if i})
    found: dict[str, int] = {}
    for chunk in _chunks(wanted):
        found.update({pid: int(pk) for pid, pk in conn.execute(select(Paper.id, Paper.pk).where(Paper.id.in_(chunk)))})
    return found


def papers_by_doi(conn: Connection, dois: Iterable[str]) -> dict[str, int]:
    """Stored papers' pks by DOI (`dois` lowercase; papers are indexed by lower(doi))."""
    wanted = sorted({d for d in dois if d})
    found: dict[str, int] = {}
    for chunk in _chunks(wanted):
        rows = conn.execute(
            select(func.lower(Paper.doi), Paper.pk).where(func.lower(Paper.doi).in_(chunk)).order_by(Paper.pk)
        )
        for doi, pk in rows:
            found.setdefault(doi, int(pk))
    return found


def _stored_key(title: str) -> str:
    return title_key(plain_text(title or ""))


_JOINERS = frozenset("-/_+@#$\\{}^&*=<>|~`'")


def _plain_words(title: str) -> list[str]:
    """The words of `title` that stand alone: not part of "Swift/XRT", "sub-100", "v2.0" or "$\\alpha$", which
    the keyword indexes split (or keep whole) each in their own way."""
    text = title.casefold()
    words = []
    for m in re.finditer(r"[^\W_]+", text):
        before = text[m.start() - 1] if m.start() else " "
        after = text[m.end()] if m.end() < len(text) else " "
        dotted = after == "." and m.end() + 1 < len(text) and text[m.end() + 1].isalnum()
        if before not in _JOINERS and after not in _JOINERS and before != "." and not dotted:
            words.append(m.group(0))
    return words


def _search_words(title: str) -> list[str]:
    """The longest words of `title` to find candidates by: standing alone, and written in ASCII where there
    are such (a stored title may spell "Étude" as TeX, {\\'E}tude, which the index splits differently)."""
    words = {w for w in _plain_words(title) if w not in _STOP}
    pool = {w for w in words if w.isascii()} or words
    return sorted(pool, key=lambda w: (-len(w), w))[:TITLE_WORDS]


def _candidates(conn: Connection, words: list[str], key: str) -> list[tuple[int, str]]:
    params: dict[str, Any] = {"lo": len(key) // 2, "hi": len(key) * 2 + 40, "limit": CANDIDATES}
    if conn.dialect.name == "sqlite":
        params["m"] = " AND ".join('title : "' + w.replace('"', '""') + '"' for w in words)
        sql = (
            "SELECT p.pk, p.title FROM papers_fts f JOIN papers p ON p.pk = f.rowid "
            "WHERE papers_fts MATCH :m AND length(p.title) BETWEEN :lo AND :hi LIMIT :limit"
        )
    else:
        # Words are letters and digits only (title_words), so they are no tsquery syntax; A is the title.
        params["q"] = " & ".join(f"{w}:A" for w in words)
        sql = (
            "SELECT pk, title FROM papers WHERE search_vector @@ to_tsquery('english', dp_fold_accents(:q)) "
            "AND length(title) BETWEEN :lo AND :hi LIMIT :limit"
        )
    return [(int(pk), t) for pk, t in conn.execute(text(sql), params)]


def papers_by_title(conn: Connection, titles: Iterable[str]) -> dict[str, int]:
    """Stored papers' pks by normalized title (`title_key`), for the titles that one stored paper's title
    equals once both are normalized (the oldest such paper where several do)."""
    by_key: dict[str, str] = {}
    for title in titles:
        if (key := title_key(title)) and key not in by_key:
            by_key[key] = title
    found: dict[str, int] = {}
    unindexed = _unindexed_titles(conn) if by_key else {}
    for key, title in sorted(by_key.items()):
        if key in unindexed:
            found[key] = unindexed[key]
            continue
        words = _search_words(title)
        if not words:
            continue
        matches = [pk for pk, t in _candidates(conn, words, key) if _stored_key(t) == key]
        if matches:
            found[key] = min(matches)
    return found


def _unindexed_titles(conn: Connection) -> dict[str, int]:
    """SQLite: the titles of papers not yet in the keyword index, when there are few."""
    waiting = search_index.pending(conn)
    if not waiting or waiting > UNINDEXED_SCAN:
        return {}
    rows = conn.execute(
        text(
            "SELECT pk, title FROM papers WHERE pk > (SELECT value FROM site_state WHERE key = 'fts_indexed_pk') "
            "ORDER BY pk"
        )
    )
    out: dict[str, int] = {}
    for pk, title in rows:
        if key := _stored_key(title):
            out.setdefault(key, int(pk))
    return out


# -- entries ------------------------------------------------------------------------------------


def entry_keys(conn: Connection, user_pk: int) -> list[EntryKeys]:
    rows = conn.execute(
        select(LibraryEntry.arxiv_id, LibraryEntry.doi, LibraryEntry.title, LibraryEntry.paper_pk).where(
            LibraryEntry.user_pk == user_pk
        )
    )
    return [EntryKeys(a or "", d or "", t or "", p) for a, d, t, p in rows]


def add_entries(conn: Connection, user_pk: int, entries: Sequence[NewEntry], source: str, now: dt.datetime) -> int:
    """Insert a reader's new entries (one statement, many rows); returns how many."""
    if not entries:
        return 0
    rows = [
        {
            "user_pk": user_pk,
            "paper_pk": e.paper_pk,
            "title": e.title,
            "abstract": e.abstract,
            "authors_text": e.authors_text,
            "arxiv_id": e.arxiv_id,
            "doi": e.doi,
            "year": e.year,
            "source": source,
            "vector": None,
            "imported_at": now,
        }
        for e in entries
    ]
    conn.execute(insert(LibraryEntry), rows)
    return len(rows)


def counts(conn: Connection, user_pk: int) -> LibraryCounts:
    row = conn.execute(
        select(
            func.count(),
            func.count(LibraryEntry.paper_pk),
            func.count(LibraryEntry.vector),
        ).where(LibraryEntry.user_pk == user_pk)
    ).one()
    return LibraryCounts(int(row[0]), int(row[1]), int(row[2]))


def entries_page(conn: Connection, user_pk: int, offset: int, limit: int) -> list[StoredEntry]:
    """A reader's entries in the order they were imported."""
    rows = conn.execute(
        select(
            LibraryEntry.pk,
            LibraryEntry.title,
            LibraryEntry.authors_text,
            LibraryEntry.arxiv_id,
            LibraryEntry.doi,
            LibraryEntry.year,
            LibraryEntry.source,
            LibraryEntry.paper_pk,
            Paper.id,
            LibraryEntry.vector.is_not(None),
            LibraryEntry.imported_at,
        )
        .select_from(LibraryEntry)
        .outerjoin(Paper, Paper.pk == LibraryEntry.paper_pk)
        .where(LibraryEntry.user_pk == user_pk)
        .order_by(LibraryEntry.pk)
        .offset(offset)
        .limit(limit)
    )
    return [
        StoredEntry(
            int(r[0]),
            r[1] or "",
            r[2] or "",
            r[3] or "",
            r[4] or "",
            r[5],
            r[6] or "",
            r[7],
            r[8],
            bool(r[9]),
            aware(r[10]),
        )
        for r in rows
    ]


def delete_entries(conn: Connection, user_pk: int) -> int:
    return int(conn.execute(delete(LibraryEntry).where(LibraryEntry.user_pk == user_pk)).rowcount or 0)


def entries_to_embed(conn: Connection, limit: int) -> list[tuple[int, int, str, str]]:
    """Up to `limit` entries that name no stored paper and have no vector yet, but a title or abstract:
    (pk, user_pk, title, abstract), oldest first."""
    rows = conn.execute(
        select(LibraryEntry.pk, LibraryEntry.user_pk, LibraryEntry.title, LibraryEntry.abstract)
        .where(
            LibraryEntry.paper_pk.is_(None),
            LibraryEntry.vector.is_(None),
            (LibraryEntry.title != "") | (LibraryEntry.abstract != ""),
        )
        .order_by(LibraryEntry.pk)
        .limit(limit)
    )
    return [(int(pk), int(user), t or "", a or "") for pk, user, t, a in rows]


def set_vectors(conn: Connection, vectors: Sequence[tuple[int, bytes]]) -> int:
    """Store entries' vectors (float32 bytes) where they have none yet (an entry removed meanwhile is
    skipped); returns how many were stored."""
    done = 0
    for pk, blob in vectors:
        result = conn.execute(
            update(LibraryEntry).where(LibraryEntry.pk == pk, LibraryEntry.vector.is_(None)).values(vector=blob)
        )
        done += int(result.rowcount or 0)
    return done


def unmatched_with_ids(conn: Connection, after: int, limit: int) -> list[tuple[int, int, str, str]]:
    """(pk, user_pk, arxiv_id, doi) of entries past `after` that name no stored paper yet but carry an
    arXiv id or a DOI to look for, in pk order."""
    e = LibraryEntry
    rows = conn.execute(
        select(e.pk, e.user_pk, e.arxiv_id, e.doi)
        .where(e.pk > after, e.paper_pk.is_(None), (e.arxiv_id != "") | (e.doi != ""))
        .order_by(e.pk)
        .limit(limit)
    )
    return [(int(pk), int(user), arxiv_id, doi) for pk, user, arxiv_id, doi in rows]


def set_papers(conn: Connection, matches: Sequence[tuple[int, int]]) -> int:
    """Point entries (pk, paper_pk) at the papers they name, if they still name none."""
    done = 0
    for entry_pk, paper_pk in matches:
        stmt = update(LibraryEntry).where(LibraryEntry.pk == entry_pk, LibraryEntry.paper_pk.is_(None))
        done += conn.execute(stmt.values(paper_pk=paper_pk)).rowcount or 0
    return done
