"""The bulk path of imports: new papers through COPY on PostgreSQL (store.copy_in) with awkward text, batches
written side by side and committed in file order (ingest.batches.OrderedWriter), and the keyword index's
pending entries merged once an import ends. On both databases where the behaviour is shared."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from bench.gen_kaggle import records as synthetic_records
from sqlalchemy import Engine, text

from dailypapers.ingest import batches
from dailypapers.ingest.batches import ImportReport, prepared, write_batch
from dailypapers.ingest.importer import import_file
from dailypapers.sources.record import Author, Listing, PaperRecord, Submitter, Version
from dailypapers.store import copy_in, paper_names, papers, search_index
from dailypapers.store.db import make_engine
from tests.ingest.test_import import contents, count
from tests.support.databases import new_database

UTC = dt.UTC

# Text that COPY's text format must escape (tab, newline, backslash, its NULL marker \N, its end marker \.),
# LaTeX, and Unicode off the ASCII path (combining marks, right-to-left, astral plane, line separators).
TRICKY = [
    "Tabs\tinside\tand a\nnew line\r\nor two",
    "Backslashes: C:\\path\\to\\N and \\. and \\\\ and a trailing \\",
    r"$\mathcal{O}(n^2)$ bounds via \cite{knuth} and \textbf{bold} \\ \alpha\beta; 50% off {}",
    "\\N",
    "\\.",
    "Schrödinger – 量子计算 – 🙂🚀 – עברית – e\u0301 – \u2028sep\u2029 – ﬁ ligature",
    "quotes \"double\" and 'single' and `back`, commas, semicolons; pipes |",
]


def tricky_record(n: int) -> PaperRecord:
    text_ = TRICKY[n % len(TRICKY)]
    return PaperRecord(
        id=f"2612.{n:05d}",
        source="t",
        title=f"Latent diffusion {n}: {text_}",
        abstract=f"We study transformers. {text_} Results hold.",
        authors=[Author(f"Zoë Ðoe-{n % 3}", (text_,)), Author("J. R. \\R. Tolkien"), Author("Łukasz Kaiser")],
        versions=[Version(1, dt.datetime(2026, 12, 1, 8, 30, tzinfo=UTC), "12kb"), Version(2, None, text_)],
        categories=["cs.LG", text_],
        primary_category="cs.LG",
        doi=f"10.1000/{n}\\x",
        journal_ref=text_,
        comments=text_,
        license="",
        published=dt.datetime(2026, 12, 1, 8, 30, tzinfo=UTC),
        updated=dt.datetime(2026, 12, 2, 23, 59, 59, 999999, tzinfo=UTC),
        announced=dt.date(2026, 12, 3),
        code_urls=[f"https://github.com/x/y{n}?q=a\tb"],
        project_urls=[],
        extra={"organization": {"name": text_, "fullname": "Ünïcode Lab"}, "note": text_, "n": n, "ok": True},
        withdrawn=n % 2 == 0,
    )


def test_awkward_text_round_trips_through_the_bulk_path(engine: Engine) -> None:
    """Over BULK_ROWS new papers in one batch (COPY, with the bulk settings, on PostgreSQL), one of them
    awkward in every text field: stored exactly, named in the name index, found by keyword as soon as the
    batch is in, unchanged again."""
    recs = [tricky_record(n) for n in range(copy_in.BULK_ROWS + 50)]
    report = ImportReport()
    write_batch(engine, [prepared(r) for r in recs], report)
    assert (report.new, report.updated, report.unchanged) == (len(recs), 0, 0)

    dialect = engine.dialect.name
    with engine.connect() as conn:
        stored = papers.load_records(conn, [r.id for r in recs])
        pks = dict(conn.execute(text("SELECT id, pk FROM papers")).all())
        names = {(r[0], r[1], r[2]) for r in conn.execute(text("SELECT kind, key, paper_pk FROM paper_names"))}
    for rec in recs:
        assert papers.record_params(stored[rec.id], dialect) == papers.record_params(rec, dialect), rec.id
        for kind, key in paper_names.name_keys(papers.record_params(rec, dialect)[4], rec.extra):
            assert (kind, key, pks[rec.id]) in names
    assert sorted(pks.values()) == list(range(1, len(recs) + 1))  # numbered in batch order
    assert [pks[r.id] for r in recs] == sorted(pks.values())

    # Searchable as the batch commits: SQLite indexes its new papers in the batch's transaction.
    with engine.connect() as conn:
        assert search_index.pending(conn) == 0
    assert _keyword_hits(engine, "mathcal") == {r.id for r in recs if "mathcal" in r.title}
    again = ImportReport()
    write_batch(engine, [prepared(r) for r in recs], again)
    assert (again.new, again.updated, again.unchanged) == (0, 0, len(recs))


def _keyword_hits(engine: Engine, word: str) -> set[str]:
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            sql = "SELECT p.id FROM papers_fts f JOIN papers p ON p.pk = f.rowid WHERE papers_fts MATCH :q"
            return {r[0] for r in conn.execute(text(sql), {"q": f"title:{word}"})}
        conn.execute(text("SET LOCAL enable_seqscan = off"))  # through the GIN index
        sql = "SELECT id FROM papers WHERE search_vector @@ to_tsquery('english', :q)"
        return {r[0] for r in conn.execute(text(sql), {"q": word})}


def write_lines(path: Path, objects: list[dict[str, Any]]) -> Path:
    path.write_bytes(b"".join(orjson.dumps(o) + b"\n" for o in objects))
    return path


@pytest.fixture
def serial_engine(engine: Engine, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A second fresh database on the same backend, for a serial reference import."""
    other = make_engine(new_database(engine.dialect.name, request, tmp_path / "serial"))
    yield other
    other.dispose()


def test_batches_in_flight_together_end_as_one_serial_run(
    engine: Engine, serial_engine: Engine, tmp_path: Path
) -> None:
    """Parsed in parallel and (PostgreSQL) written on two connections at once: a paper repeated in the very
    next batch (in flight beside the first) with a newer version merges as in a serial import, and every
    paper gets the pk it gets there."""
    objects = list(synthetic_records(2000, seed=3))
    newer = dict(objects[10], title="A newer version in the next batch")
    newer["versions"] = [*objects[10]["versions"], {"version": "v9", "created": "Mon, 1 Jun 2026 10:00:00 GMT"}]
    objects.insert(405, newer)
    objects.insert(1200, dict(objects[820]))  # the same record again, a batch later (batches: about 380 lines)
    path = write_lines(tmp_path / "papers.jsonl", objects)

    parallel = import_file(engine, path, batch_size=400, jobs=2)
    serial = import_file(serial_engine, path, batch_size=400, jobs=0)
    assert (parallel.new, parallel.updated, parallel.unchanged) == (serial.new, serial.updated, serial.unchanged)
    assert parallel.new == 2000 and parallel.updated + parallel.unchanged == 2
    assert contents(engine) == contents(serial_engine)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT title FROM papers WHERE id = :id"), {"id": objects[10]["id"]}).scalar() == (
            "A newer version in the next batch"
        )


def test_a_failed_batch_rolls_back_the_ones_after_it_and_the_import_resumes(
    engine: Engine, serial_engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch that fails while the next is in flight: the batches before it stay committed with the
    checkpoint at their end, the one after rolls back; the next run resumes to the state of a clean one."""
    path = write_lines(tmp_path / "papers.jsonl", list(synthetic_records(2400, seed=5)))
    real_apply = batches.apply_plan
    calls = 0

    def failing_apply(conn: Any, plan: batches.Plan, **kw: Any) -> set[int]:
        nonlocal calls
        calls += 1
        if calls == 4:
            raise RuntimeError("disk full")
        return real_apply(conn, plan, **kw)

    monkeypatch.setattr(batches, "apply_plan", failing_apply)
    with pytest.raises(RuntimeError, match="disk full"):
        import_file(engine, path, batch_size=400, jobs=2)
    with engine.connect() as conn:
        line = conn.execute(text("SELECT line FROM import_checkpoints")).scalar()
    # Three batches committed (chunks are cut by size, about 400 lines each), the one in flight rolled back.
    assert 900 < line < 1500 and count(engine) == line and count(engine, "paper_names") > 0
    with engine.connect() as conn:
        assert conn.execute(text("SELECT max(pk) FROM papers")).scalar() == line

    monkeypatch.setattr(batches, "apply_plan", real_apply)
    resumed = import_file(engine, path, batch_size=400, jobs=2)
    assert (resumed.resumed_from_line, resumed.new) == (line, 2400 - line)
    import_file(serial_engine, path, batch_size=400, jobs=0)
    assert contents(engine) == contents(serial_engine)
    assert count(engine, "paper_names") == count(serial_engine, "paper_names")


@pytest.fixture
def pg_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    eng = make_engine(new_database("postgresql", request, tmp_path))
    yield eng
    eng.dispose()


def _pending_pages(engine: Engine) -> int:
    """Pages the keyword index's pending list had (merging them now)."""
    with engine.begin() as conn:
        return int(conn.execute(text("SELECT gin_clean_pending_list('ix_papers_search'::regclass)")).scalar() or 0)


def test_postgresql_keyword_index_stays_whole_and_its_pending_list_is_merged(pg_engine: Engine, tmp_path: Path) -> None:
    """A bulk batch leaves its entries in the GIN pending list (merged in bulk later); an import merges the
    list at its end: the index is in place and valid, nothing is left pending, and search finds the papers."""
    recs = [tricky_record(n) for n in range(copy_in.BULK_ROWS)]
    write_batch(pg_engine, [prepared(r) for r in recs], ImportReport())
    assert _pending_pages(pg_engine) > 0  # what the import's end merges

    path = write_lines(tmp_path / "papers.jsonl", list(synthetic_records(3000, seed=9)))
    report = import_file(pg_engine, path, batch_size=1000)
    assert report.new == 3000
    assert _pending_pages(pg_engine) == 0
    with pg_engine.connect() as conn:
        valid = conn.execute(
            text(
                "SELECT i.indisvalid AND i.indisready FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                "WHERE c.relname = 'ix_papers_search'"
            )
        ).scalar()
        total = conn.execute(text("SELECT count(*) FROM papers")).scalar()
    assert valid is True and total == 3000 + len(recs)
    hits = _keyword_hits(pg_engine, "mathcal")  # the imported file's abstracts have some too
    assert {h for h in hits if h.startswith("2612.")} == {r.id for r in recs if "mathcal" in r.title}
    assert hits - {r.id for r in recs}
    assert len(_keyword_hits(pg_engine, "transformers")) >= len(recs)


def test_listings_and_submitters_shared_across_batches_in_flight(
    engine: Engine, serial_engine: Engine, tmp_path: Path
) -> None:
    """Featured papers whose submitters recur across adjacent batches (created once, by whichever batch comes
    first in the file): the same users, listings and pks as a serial import."""
    objects = list(synthetic_records(1600, seed=11))
    recs = []
    for n, obj in enumerate(objects):
        rec = PaperRecord(
            id=obj["id"],
            source="t",
            title=obj["title"],
            abstract=obj["abstract"],
            authors=[Author(a) for a in obj["authors"].split(", ")],
            listing=Listing(dt.date(2026, 12, 1 + n % 5), "hf", Submitter(f"user{n % 7}", f"User {n % 7}"), n % 13),
        )
        recs.append(rec)
    report, serial = ImportReport(), ImportReport()
    with batches.OrderedWriter(engine, report, depth=2 if engine.dialect.name == "postgresql" else 1) as writer:
        for start in range(0, len(recs), 300):
            writer.write([prepared(r) for r in recs[start : start + 300]], ("k", "f", start, start))
    for start in range(0, len(recs), 300):
        write_batch(serial_engine, [prepared(r) for r in recs[start : start + 300]], serial)
    assert (report.new, report.featured) == (serial.new, serial.featured) == (1600, 1600)
    assert contents(engine)["papers"] == contents(serial_engine)["papers"]
    assert _featured(engine) == _featured(serial_engine)


def _featured(engine: Engine) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """Listings and users, but when they were created."""
    with engine.connect() as conn:
        listed = conn.execute(
            text("SELECT pk, paper_pk, day, source, submitter_pk, upvotes FROM daily_listings ORDER BY pk")
        ).all()
        users = conn.execute(text("SELECT pk, name, fullname, external FROM users ORDER BY pk")).all()
    return [tuple(r) for r in listed], [tuple(r) for r in users]
