"""Writing a batch of records: merged with what is stored, inserted or updated, their listings recorded,
all in one transaction that can also record how far a file got (its checkpoint)."""

from __future__ import annotations

import collections
import contextlib
import hashlib
from collections.abc import Callable, Sequence
from concurrent import futures
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dailypapers.ingest.merge import merge
from dailypapers.sources.record import Listing, PaperRecord, SourceError
from dailypapers.store import bookkeeping, papers, search_index
from dailypapers.store.db import bump_data_version, write_tx

if TYPE_CHECKING:
    from sqlalchemy import Connection, Engine

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


@dataclass
class Plan:
    """What a batch writes, decided in its transaction: rows to insert (with their pks, drawn ahead on
    PostgreSQL) and to update, the ids left unchanged, the listings to record."""

    inserts: list[tuple[Any, ...]]
    pks: list[int] | None
    updates: list[tuple[Any, ...]]
    unchanged: list[str]
    found: dict[str, tuple[int, str]]
    listings: list[tuple[str, Listing]]


def plan_batch(conn: Connection, batch: Sequence[Prepared]) -> Plan:
    """Merge a batch with itself and with the stored papers: what to write (nothing written yet but the
    new papers' pks drawn, in batch order)."""
    by_id: dict[str, list[Prepared]] = {}
    for item in batch:
        by_id.setdefault(item.id, []).append(item)
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
    listings = [(item.id, item.listing) for item in batch if item.listing]
    return Plan(inserts, papers.reserve_pks(conn, len(inserts)), updates, unchanged, found, listings)


def apply_plan(conn: Connection, plan: Plan, *, after_insert: Callable[[], None] | None = None) -> set[int]:
    """Write what `plan_batch` decided; returns the pks of the papers whose listings changed.

    `after_insert`, if given, runs once the new papers are in, before anything else is written: up to
    there nothing locks a row that another batch (of other papers) writes too, such as the data version.
    """
    papers.insert_papers(conn, plan.inserts, pks=plan.pks, bump=after_insert is None)
    if after_insert is not None:
        after_insert()
        if plan.inserts:
            bump_data_version(conn)
    papers.update_papers(conn, plan.updates)
    if not plan.listings:
        return set()
    pks = papers.find_hashes(conn, list({pid for pid, _ in plan.listings}))
    return papers.upsert_listings(conn, [(pks[pid][0], li) for pid, li in plan.listings])


def count(report: ImportReport, plan: Plan, changed_listings: set[int]) -> None:
    """Add a written batch to the report. A paper whose only change is a new listing or upvote count counts
    as updated."""
    relisted = sum(1 for pid in plan.unchanged if plan.found[pid][0] in changed_listings) if changed_listings else 0
    report.new += len(plan.inserts)
    report.updated += len(plan.updates) + relisted
    report.unchanged += len(plan.unchanged) - relisted
    report.featured += len(changed_listings)


def write_batch(
    engine: Engine,
    batch: Sequence[Prepared],
    report: ImportReport,
    *,
    checkpoint: tuple[str, str, int, int] | None = None,
) -> None:
    """Merge a batch into the store in one transaction (with the file checkpoint, if given); on SQLite its
    new papers enter the keyword index in it too (PostgreSQL's index is computed with the rows)."""
    with write_tx(engine) as conn:
        plan = plan_batch(conn, batch)
        changed = apply_plan(conn, plan)
        if plan.inserts:  # as many as it adds, the oldest pending first (a backlog waits for index_pending)
            search_index.index_batch(conn, len(plan.inserts))
        if checkpoint:
            bookkeeping.save_checkpoint(conn, *checkpoint)
    count(report, plan, changed)


# At most this many batches of a line import in flight at once on PostgreSQL, each on a connection of its own.
MAX_WRITERS = 4


class OrderedWriter:
    """Writes batches on up to `depth` connections at once (PostgreSQL), committed in file order.

    PostgreSQL computes each new paper's text-search vector in the backend that inserts it, one core per
    connection: the batches' COPYs run side by side on `depth` of them. Each batch is planned here, in
    its own transaction (merged with what is stored, its new papers' pks drawn, so papers number as in a
    serial run), then written on a thread that commits it with its checkpoint only once the batch before
    has committed: the checkpoint always ends a stored prefix of the file, and a batch after one that
    failed rolls back. A batch that shares a paper or a submitter with one in flight waits for that one
    first (its merge must see the result). Depth 1 (SQLite): `write_batch`, on this thread.
    """

    def __init__(self, engine: Engine, report: ImportReport, depth: int) -> None:
        self.engine, self.report, self.depth = engine, report, depth
        self._pool = ThreadPoolExecutor(depth, thread_name_prefix="import-writer") if depth > 1 else None
        self._inflight: collections.deque[tuple[frozenset[tuple[str, str]], Plan, Future[set[int]]]] = (
            collections.deque()
        )

    def write(self, batch: Sequence[Prepared], checkpoint: tuple[str, str, int, int]) -> None:
        if self._pool is None:
            write_batch(self.engine, batch, self.report, checkpoint=checkpoint)
            return
        keys = frozenset(("p", item.id) for item in batch) | {
            ("u", item.listing.submitter.name) for item in batch if item.listing and item.listing.submitter
        }
        while self._inflight and (len(self._inflight) >= self.depth or any(keys & k for k, _, _ in self._inflight)):
            self._settle_first()
        with contextlib.ExitStack() as guard:
            conn = guard.enter_context(write_tx(self.engine))
            plan = plan_batch(conn, batch)
            tx = guard.pop_all()  # from here on the writer thread ends the transaction
        before = self._inflight[-1][2] if self._inflight else None
        self._inflight.append((keys, plan, self._pool.submit(_finish, tx, conn, plan, checkpoint, before)))

    def _settle_first(self) -> None:
        _, plan, future = self._inflight.popleft()
        count(self.report, plan, future.result())

    def __enter__(self) -> OrderedWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            while self._inflight and exc[0] is None:
                self._settle_first()
        finally:  # after an error, the batches in flight end (commit or roll back) before it propagates
            futures.wait([f for _, _, f in self._inflight])
            self._inflight.clear()
            if self._pool is not None:
                self._pool.shutdown()


def _finish(
    tx: contextlib.ExitStack,
    conn: Connection,
    plan: Plan,
    checkpoint: tuple[str, str, int, int],
    before: Future[set[int]] | None,
) -> set[int]:
    with tx:  # commits at the end of the block, rolls back on an error
        # Once its papers are in, the batch waits for the one before to commit (an error there rolls this
        # one back) before it locks the rows every batch writes: the data version, the checkpoint.
        changed = apply_plan(conn, plan, after_insert=before.result if before is not None else _nothing)
        bookkeeping.save_checkpoint(conn, *checkpoint)
    return changed


def _nothing() -> None:
    pass


def file_key(path: Path) -> str:
    """Identifies one version of one file: its path, size and modification time."""
    st = path.stat()
    ident = f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}"
    return hashlib.sha256(ident.encode()).hexdigest()[:32]
