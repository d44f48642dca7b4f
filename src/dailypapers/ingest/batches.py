"""Writing a batch of records: merged with what is stored, inserted or updated, their listings recorded,
all in one transaction that can also record how far a file got (its checkpoint)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dailypapers.ingest.merge import merge
from dailypapers.sources.record import Listing, PaperRecord, SourceError
from dailypapers.store import bookkeeping, papers
from dailypapers.store.db import write_tx

if TYPE_CHECKING:
    from sqlalchemy import Engine

MAX_ERRORS_KEPT = 200
AUTO_FEATURE_TYPES = ("new", "cross")


@dataclass
class ImportReport:
    """What an import did, counted per paper."""

    new: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    featured: int = 0
    errors: list[str] = field(default_factory=list)
    resumed_from_line: int = 0

    def reject(self, error: SourceError | str) -> None:
        self.rejected += 1
        if len(self.errors) < MAX_ERRORS_KEPT:
            self.errors.append(str(error))

    def add(self, other: ImportReport) -> None:
        self.new += other.new
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.featured += other.featured
        self.rejected += other.rejected
        self.errors.extend(other.errors[: MAX_ERRORS_KEPT - len(self.errors)])


def auto_feature(record: PaperRecord, categories: Sequence[str]) -> PaperRecord:
    """Feature a newly announced paper of the given categories on its announcement day."""
    if record.listing or not record.announced or not categories:
        return record
    if record.extra.get("announce_type", "new") not in AUTO_FEATURE_TYPES:
        return record
    if not set(record.categories or [record.primary_category]) & set(categories):
        return record
    return record.replace(listing=Listing(day=record.announced, source=f"auto:{record.source}"))


@dataclass(slots=True)
class Prepared:
    """A record on its way to the store: its insert parameters, when computed ahead (in a worker
    process), and a way to get the full record back for the rarer merge with a stored paper."""

    id: str
    params: tuple[Any, ...] | None
    listing: Listing | None
    record: PaperRecord | None = None
    loader: Callable[[int], PaperRecord] | None = None
    index: int = 0

    def load(self) -> PaperRecord:
        if self.record is not None:
            return self.record
        assert self.loader is not None
        return self.loader(self.index)


def prepared(rec: PaperRecord) -> Prepared:
    return Prepared(rec.id, None, rec.listing, record=rec)


def write_batch(
    engine: Engine,
    batch: Sequence[Prepared],
    report: ImportReport,
    *,
    checkpoint: tuple[str, str, int, int] | None = None,
) -> None:
    """Merge a batch into the store in one transaction (with the file checkpoint, if given)."""
    by_id: dict[str, list[Prepared]] = {}
    for item in batch:
        by_id.setdefault(item.id, []).append(item)
    with write_tx(engine) as conn:
        dialect = conn.dialect.name
        incoming: dict[str, PaperRecord] = {}
        rows: dict[str, tuple[Any, ...]] = {}
        for pid, items in by_id.items():
            if len(items) == 1 and items[0].params is not None:
                rows[pid] = items[0].params
                continue
            rec = items[0].load()
            for other in items[1:]:
                rec = merge(rec, other.load())
            incoming[pid] = rec
            rows[pid] = papers.record_params(rec, dialect)
        found = papers.find_hashes(conn, list(by_id))
        stale = [pid for pid, (_, h) in found.items() if h != rows[pid][-1]]
        stored = papers.load_records(conn, stale)
        inserts, updates = [], []
        unchanged: list[str] = []
        for pid, row in rows.items():
            if pid not in found:
                inserts.append(row)
            elif pid not in stored:
                unchanged.append(pid)
            else:
                rec = incoming.get(pid) or by_id[pid][0].load()
                merged = papers.record_params(merge(stored[pid], rec), dialect)
                if merged[-1] == found[pid][1]:
                    unchanged.append(pid)
                else:
                    updates.append(merged)
        papers.insert_papers(conn, inserts)
        papers.update_papers(conn, updates)
        listings = [(item.id, item.listing) for item in batch if item.listing]
        changed_listings: set[int] = set()
        if listings:
            pks = papers.find_hashes(conn, list({pid for pid, _ in listings}))
            changed_listings = papers.upsert_listings(conn, [(pks[pid][0], li) for pid, li in listings])
        if checkpoint:
            bookkeeping.save_checkpoint(conn, *checkpoint)
    # A paper whose only change is a new listing or upvote count counts as updated.
    relisted = sum(1 for pid in unchanged if found[pid][0] in changed_listings) if changed_listings else 0
    report.new += len(inserts)
    report.updated += len(updates) + relisted
    report.unchanged += len(unchanged) - relisted
    report.featured += len(changed_listings)


def file_key(path: Path) -> str:
    """Identifies one version of one file: its path, size and modification time."""
    st = path.stat()
    ident = f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}"
    return hashlib.sha256(ident.encode()).hexdigest()[:32]
