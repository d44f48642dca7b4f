"""Importing a reader's library (BibTeX, CSL JSON): entries matched to stored papers by arXiv id, DOI or
title, the rest kept as text whose embedding still tells the ranker what the reader reads.

An import is one write transaction (nothing half-written) after a read-only matching pass; re-importing
a file adds nothing twice: an entry is a duplicate of one already in the library (or earlier in the
file) when they share an arXiv id, a DOI, the matched paper or the normalized title. `embed_pending`
embeds the unmatched entries' "title. abstract" with the search's model and text (`search.embedder`),
for the background job to call."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from dailypapers.config import Settings
from dailypapers.problems import Unprocessable
from dailypapers.search.embedder import Embedder, get_embedder, paper_text
from dailypapers.sources import bibtex, csl_json
from dailypapers.sources.library_record import (
    FORMATS,
    MAX_ERRORS,
    LibraryError,
    LibraryFormatError,
    LibraryRecord,
    ParsedLibrary,
    check_size,
    detect_format,
    title_key,
)
from dailypapers.store import library as store
from dailypapers.store.accounts import Account
from dailypapers.store.convert import utc_now
from dailypapers.store.db import read_tx, write_tx
from dailypapers.store.reader_profiles import mark_stale

if TYPE_CHECKING:
    from sqlalchemy import Engine

EMBED_BATCH = 256
MAX_PER_PAGE = 200
_PARSERS: dict[str, Callable[[bytes], ParsedLibrary]] = {"bibtex": bibtex.parse_bytes, "csl-json": csl_json.parse_bytes}


@dataclass(frozen=True)
class ImportSummary:
    """What an import did: entries read, how the new ones matched, what was skipped and refused."""

    format: str
    read: int
    matched_arxiv: int
    matched_doi: int
    matched_title: int
    unmatched: int
    duplicates: int  # the same paper twice in the file, or already in the library
    refused: int
    errors: list[LibraryError] = field(default_factory=list)  # the first MAX_ERRORS refusals, with why
    notes: list[str] = field(default_factory=list)
    library_entries: int = 0  # in the reader's library after the import

    @property
    def added(self) -> int:
        return self.matched_arxiv + self.matched_doi + self.matched_title + self.unmatched

    @property
    def matched(self) -> int:
        return self.matched_arxiv + self.matched_doi + self.matched_title

    def as_dict(self) -> dict[str, object]:
        return {
            "format": self.format,
            "read": self.read,
            "added": self.added,
            "matched": {"arxiv_id": self.matched_arxiv, "doi": self.matched_doi, "title": self.matched_title},
            "unmatched": self.unmatched,
            "duplicates": self.duplicates,
            "refused": self.refused,
            "errors": [{"key": e.key, e.where_kind: e.line, "problem": e.problem} for e in self.errors],
            "notes": list(self.notes),
            "library_entries": self.library_entries,
        }


@dataclass(frozen=True)
class LibraryPage:
    counts: store.LibraryCounts
    entries: list[store.StoredEntry]
    page: int
    per_page: int


def parse_library(data: bytes, fmt: str | None) -> ParsedLibrary:
    """The records of an uploaded file in `fmt` (detected from its first bytes when None); Unprocessable
    saying why when the file is no library."""
    if fmt is not None:
        fmt = fmt.strip().lower().replace("_", "-")
        if fmt in ("csl", "json", "csljson"):
            fmt = "csl-json"
        if fmt in ("bib", "biblatex"):
            fmt = "bibtex"
        if fmt not in FORMATS:
            raise Unprocessable(f"Unknown format {fmt[:40]!r}: use bibtex or csl-json.")
    try:
        check_size(data)
        fmt = fmt or detect_format(data)
        return _PARSERS[fmt](data)
    except LibraryFormatError as exc:
        raise Unprocessable(str(exc)) from None
    except RecursionError:
        raise Unprocessable("The file nests too deeply to be a library.") from None


def _identities(arxiv_id: str, doi: str, paper_pk: int | None, key: str) -> list[tuple[str, object]]:
    out: list[tuple[str, object]] = []
    if arxiv_id:
        out.append(("a", arxiv_id))
    if doi:
        out.append(("d", doi))
    if paper_pk is not None:
        out.append(("p", paper_pk))
    if key:
        out.append(("t", key))
    return out


def import_library(engine: Engine, account: Account, data: bytes, fmt: str | None = None) -> ImportSummary:
    """Import a library file into `account`'s library; Unprocessable when the file is no library."""
    parsed = parse_library(data, fmt)
    if not parsed.records and not parsed.errors:
        raise Unprocessable("The file holds no entries.")
    records = parsed.records
    keys = [title_key(r.title) for r in records]
    with read_tx(engine) as conn:
        by_arxiv = store.papers_by_arxiv_id(conn, (r.arxiv_id for r in records))
        by_doi = store.papers_by_doi(conn, (r.doi for r in records))
        pairs = zip(records, keys, strict=True)
        left = [r.title for r, k in pairs if k and r.arxiv_id not in by_arxiv and r.doi not in by_doi]
        by_title = store.papers_by_title(conn, left) if left else {}
    matches: list[tuple[int | None, str]] = []
    for r, k in zip(records, keys, strict=True):
        if r.arxiv_id in by_arxiv:
            matches.append((by_arxiv[r.arxiv_id], "arxiv"))
        elif r.doi in by_doi:
            matches.append((by_doi[r.doi], "doi"))
        elif k in by_title:
            matches.append((by_title[k], "title"))
        else:
            matches.append((None, ""))
    counted = {"arxiv": 0, "doi": 0, "title": 0, "": 0}
    duplicates = 0
    with write_tx(engine) as conn:
        seen: set[tuple[str, object]] = set()
        for old in store.entry_keys(conn, account.pk):
            seen.update(_identities(old.arxiv_id, old.doi, old.paper_pk, title_key(old.title)))
        new: list[store.NewEntry] = []
        for r, k, (paper_pk, how) in zip(records, keys, matches, strict=True):
            ids = _identities(r.arxiv_id, r.doi, paper_pk, k)
            if any(i in seen for i in ids):
                duplicates += 1
                continue
            seen.update(ids)
            counted[how] += 1
            new.append(_entry(r, paper_pk))
        store.add_entries(conn, account.pk, new, parsed.format, utc_now())
        if new:
            mark_stale(conn, account.pk)
        total = store.counts(conn, account.pk).entries
    return ImportSummary(
        format=parsed.format,
        read=parsed.read,
        matched_arxiv=counted["arxiv"],
        matched_doi=counted["doi"],
        matched_title=counted["title"],
        unmatched=counted[""],
        duplicates=duplicates,
        refused=len(parsed.errors),
        errors=parsed.errors[:MAX_ERRORS],
        notes=parsed.notes,
        library_entries=total,
    )


def _entry(r: LibraryRecord, paper_pk: int | None) -> store.NewEntry:
    return store.NewEntry(
        title=r.title,
        abstract=r.abstract,
        authors_text=", ".join(r.authors),
        arxiv_id=r.arxiv_id,
        doi=r.doi,
        year=r.year,
        paper_pk=paper_pk,
    )


def remove_library(engine: Engine, account: Account) -> int:
    """Remove every entry of `account`'s library; returns how many there were."""
    with write_tx(engine) as conn:
        removed = store.delete_entries(conn, account.pk)
        if removed:
            mark_stale(conn, account.pk)
    return removed


def library_counts(engine: Engine, account: Account) -> store.LibraryCounts:
    with read_tx(engine) as conn:
        return store.counts(conn, account.pk)


def library_of(engine: Engine, account: Account, page: int = 1, per_page: int = 50) -> LibraryPage:
    """One page of `account`'s library, in import order, with its counts."""
    page, per_page = max(1, page), max(1, min(per_page, MAX_PER_PAGE))
    with read_tx(engine) as conn:
        counts = store.counts(conn, account.pk)
        entries = store.entries_page(conn, account.pk, (page - 1) * per_page, per_page)
    return LibraryPage(counts, entries, page, per_page)


def embed_pending(engine: Engine, settings: Settings, limit: int = 2_000, *, embedder: Embedder | None = None) -> int:
    """Embed up to `limit` entries that name no stored paper and have no vector yet (their "title.
    abstract", as papers are embedded); returns how many were stored. Idempotent: a rerun after a
    crash embeds what is left. The readers whose entries got vectors have their profiles marked stale."""
    model = embedder or get_embedder(settings)
    stored = 0
    while stored < limit:
        with read_tx(engine) as conn:
            todo = store.entries_to_embed(conn, min(EMBED_BATCH, limit - stored))
        if not todo:
            break
        matrix = np.asarray(model.encode([paper_text(t, a) for _, _, t, a in todo]), dtype=np.float32)
        matrix /= np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-12)
        with write_tx(engine) as conn:
            batch = store.set_vectors(conn, [(pk, matrix[i].tobytes()) for i, (pk, *_rest) in enumerate(todo)])
            for user_pk in sorted({user for _, user, _, _ in todo}):
                mark_stale(conn, user_pk)
        if not batch:
            break  # every one of them was removed meanwhile
        stored += batch
    return stored


def rematch(engine: Engine, after: int = 0, limit: int = 20_000) -> tuple[int, int]:
    """Match entries that named no stored paper when imported to papers that have come since, by arXiv id
    or DOI: up to `limit` entries past pk `after`. Returns (entries matched, the last pk looked at, 0 when
    it reached the end: the next run starts again from the beginning)."""
    with read_tx(engine) as conn:
        todo = store.unmatched_with_ids(conn, after, limit)
        by_id = store.papers_by_arxiv_id(conn, [a for _, _, a, _ in todo])
        by_doi = store.papers_by_doi(conn, [d for _, _, _, d in todo])
    found = [(pk, user, by_id.get(a) or by_doi.get(d)) for pk, user, a, d in todo]
    matches = [(pk, user, paper) for pk, user, paper in found if paper is not None]
    if matches:
        with write_tx(engine) as conn:
            store.set_papers(conn, [(pk, paper) for pk, _, paper in matches])
            for user_pk in sorted({user for _, user, _ in matches}):
                mark_stale(conn, user_pk)
    return len(matches), (todo[-1][0] if len(todo) == limit else 0)
