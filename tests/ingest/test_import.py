"""Importing files into the store, on SQLite and PostgreSQL: Kaggle snapshot, arXiv API, Hugging Face
daily papers and the seed papers; merging across sources, bad input, the parallel path and crash safety.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import datetime as dt
import gzip
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from bench.gen_kaggle import records as synthetic_records
from sqlalchemy import Engine, text

from dailypapers.ingest import bulk
from dailypapers.ingest.importer import ImportReport, import_file
from dailypapers.sources.record import Author, PaperRecord, SourceError, Version
from dailypapers.sources.seed import local_id
from dailypapers.store import papers
from dailypapers.store.db import make_engine
from tests.support.databases import new_database
from tests.support.fixtures import DEMO, recording

KAGGLE_A = recording("kaggle_arxiv_snapshot", "head200_wanng-ide_arxivSpider_mnbvc.jsonl")
KAGGLE_B = recording("kaggle_arxiv_snapshot", "head200_Sharath-1736_Embedding-VecSearch.jsonl")
PNF_XML = recording("arxiv_api", "personal-news-feed_cs.AI_OR_cs.LG_OR_cs.CL_25_2026-08-02.xml")
PNF_HF = recording("hf_daily_papers", "personal-news-feed_daily_papers_2026-08.json")
AWR_XML = recording("arxiv_api", "ai-weekly-radar_cs.AI_OR_cs.LG_50_2026-07-13.xml")
AWR_HF = recording("hf_daily_papers", "ai-weekly-radar_daily_papers_2026-07-09.json")
SEED = DEMO / "seed_papers.jsonl"
UTC = dt.UTC

# Every column of every table an import writes, in a fixed order: two databases with equal
# `contents` hold the same data, surrogate keys and timestamps included.
TABLES = {"papers": "id", "daily_listings": "pk", "users": "pk"}


def contents(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    with engine.connect() as conn:
        return {
            table: [tuple(row) for row in conn.execute(text(f"SELECT * FROM {table} ORDER BY {order}"))]
            for table, order in TABLES.items()
        }


def count(engine: Engine, table: str = "papers") -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar() or 0)


def stored(engine: Engine, *ids: str) -> dict[str, PaperRecord]:
    with engine.connect() as conn:
        return papers.load_records(conn, list(ids))


def one(engine: Engine, arxiv_id: str) -> PaperRecord:
    return stored(engine, arxiv_id)[arxiv_id]


def listings(engine: Engine) -> dict[tuple[str, dt.date], tuple[int, str, str | None]]:
    """`(paper id, day) -> (upvotes, source, submitter name)` for every listing."""
    sql = (
        "SELECT p.id, l.day, l.upvotes, l.source, u.name FROM daily_listings l "
        "JOIN papers p ON p.pk = l.paper_pk LEFT JOIN users u ON u.pk = l.submitter_pk"
    )
    with engine.connect() as conn:
        out = {}
        for pid, day, upvotes, source, name in conn.execute(text(sql)):
            day = day if isinstance(day, dt.date) else dt.date.fromisoformat(day)
            out[(pid, day)] = (upvotes, source, name)
        return out


def users(engine: Engine) -> dict[str, tuple[str, str, bool]]:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT name, fullname, avatar_url, external FROM users"))
        return {name: (fullname, avatar, bool(external)) for name, fullname, avatar, external in rows}


def counts(report: ImportReport) -> tuple[int, int, int, int]:
    return report.new, report.updated, report.unchanged, report.rejected


def table_counts(output: str) -> list[int]:
    """The new/updated/unchanged/rejected/featured row of the CLI's report table."""
    m = re.search(r"(\d+)\s*[│|]\s*(\d+)\s*[│|]\s*(\d+)\s*[│|]\s*(\d+)\s*[│|]\s*(\d+)\s*[│|]", output)
    assert m, output
    return [int(n) for n in m.groups()]


def error_place(error: str) -> tuple[str, int]:
    """The file and line number a rejected record's message starts with."""
    m = re.match(r"(.+?):(\d+)[ :]", error)
    assert m, error
    return m[1], int(m[2])


def kaggle_lines() -> list[bytes]:
    return KAGGLE_A.read_bytes().splitlines()


def kaggle_objects() -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in kaggle_lines()]


def write_jsonl(path: Path, objects: list[Any]) -> Path:
    path.write_bytes(b"".join(orjson.dumps(o) + b"\n" for o in objects))
    return path


@pytest.fixture
def other_engine(engine: Engine, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A second fresh database on the same backend as `engine`."""
    eng = make_engine(new_database(engine.dialect.name, request, tmp_path))
    yield eng
    eng.dispose()


# ---------------------------------------------------------------------------------------------
# Kaggle snapshot


def test_kaggle_import_is_idempotent_across_both_escapings(engine: Engine) -> None:
    first = import_file(engine, KAGGLE_A)
    assert counts(first) == (200, 0, 0, 0) and first.errors == []
    assert count(engine) == 200
    before = contents(engine)
    again = import_file(engine, KAGGLE_A)
    assert counts(again) == (0, 0, 200, 0)
    assert contents(engine) == before
    # The other copy differs in 3 lines, only by escaping (raw UTF-8 instead of \uXXXX).
    assert KAGGLE_A.read_bytes() != KAGGLE_B.read_bytes()
    other = import_file(engine, KAGGLE_B)
    assert counts(other) == (0, 0, 200, 0)
    assert contents(engine) == before
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM import_checkpoints")).scalar() == 0


def test_kaggle_papers_keep_versions_authors_categories_and_references(engine: Engine) -> None:
    import_file(engine, KAGGLE_A)
    got = stored(engine, "0704.0001", "0704.0002", "0704.0044", "0704.0064", "0704.0156", "0704.0163")

    p = got["0704.0001"]
    assert p.title == "Calculation of prompt diphoton production cross sections at Tevatron and LHC energies"
    assert p.versions == [
        Version(1, dt.datetime(2007, 4, 2, 19, 18, 42, tzinfo=UTC)),
        Version(2, dt.datetime(2007, 7, 24, 20, 10, 27, tzinfo=UTC)),
    ]
    assert p.published == dt.datetime(2007, 4, 2, 19, 18, 42, tzinfo=UTC)
    assert p.updated == dt.datetime(2008, 11, 26, tzinfo=UTC)
    assert [a.name for a in p.authors] == ["C. Balázs", "E. L. Berger", "P. M. Nadolsky", "C. -P. Yuan"]
    assert p.categories == ["hep-ph"] and p.primary_category == "hep-ph"
    assert p.doi == "10.1103/PhysRevD.76.013009"
    assert p.journal_ref == "Phys.Rev.D76:013009,2007"
    assert p.comments == "37 pages, 15 figures; published version"
    assert p.license == "" and not p.withdrawn and not p.local

    p = got["0704.0002"]
    assert p.categories == ["math.CO", "cs.CG"] and p.primary_category == "math.CO"
    assert p.license == "http://arxiv.org/licenses/nonexclusive-distrib/1.0/"
    assert p.doi == "" and p.journal_ref == ""

    p = got["0704.0044"]  # affiliations as the 4th element of each authors_parsed entry, in order
    assert [(a.name, a.affiliations) for a in p.authors] == [
        ("A. A. Schekochihin", ("Oxford",)),
        ("S. C. Cowley", ("Culham",)),
        ("W. Dorland", ("Maryland",)),
        ("G. W. Hammett", ("Princeton",)),
        ("G. G. Howes", ("Iowa",)),
        ("E. Quataert", ("Berkeley",)),
        ("T. Tatsuno", ("Maryland",)),
    ]
    assert p.categories == ["astro-ph", "nlin.CD", "physics.plasm-ph", "physics.space-ph"]
    assert [v.version for v in p.versions] == [1, 2, 3, 4]

    stuttgart = ("Institut für Theoretische und Angewandte Physik, Universität Stuttgart",)
    assert got["0704.0163"].authors == [Author("Peter Brommer", stuttgart), Author("Franz Gähler", stuttgart)]

    p = got["0704.0064"]
    assert p.latest_version == 5
    assert p.versions[-1] == Version(5, dt.datetime(2008, 10, 24, 12, 23, 58, tzinfo=UTC))

    assert got["0704.0156"].withdrawn
    with engine.connect() as conn:
        withdrawn = conn.execute(text("SELECT id FROM papers WHERE withdrawn")).scalars().all()
        row = conn.execute(text("SELECT latest_version, authors_text, local FROM papers WHERE id = '0704.0064'")).one()
        by_version = dict(
            conn.execute(text("SELECT latest_version, count(*) FROM papers GROUP BY latest_version")).all()
        )
    assert withdrawn == ["0704.0156"]
    assert tuple(row) == (5, "R. P. Malik", False)
    expected = {}
    for obj in kaggle_objects():
        expected[len(obj["versions"])] = expected.get(len(obj["versions"]), 0) + 1
    assert by_version == expected and sum(n for v, n in expected.items() if v > 1) == 87


def test_kaggle_newer_version_updates_and_an_older_snapshot_changes_nothing(engine: Engine, tmp_path: Path) -> None:
    import_file(engine, KAGGLE_A)
    objects = kaggle_objects()
    index = next(i for i, o in enumerate(objects) if o["id"] == "0704.0002")
    newer = dict(objects[index])
    newer["versions"] = [*newer["versions"], {"version": "v3", "created": "Tue, 2 Jan 2024 10:00:00 GMT"}]
    newer["title"] = "Sparsity-certifying Graph Decompositions, revised"
    newer["update_date"] = "2024-01-02"
    newer["journal-ref"] = "Graphs and Combinatorics 24 (2008)"
    objects[index] = newer
    report = import_file(engine, write_jsonl(tmp_path / "newer.jsonl", objects))
    assert counts(report) == (0, 1, 199, 0)
    p = one(engine, "0704.0002")
    assert p.latest_version == 3
    assert p.versions == [
        Version(1, dt.datetime(2007, 3, 31, 2, 26, 18, tzinfo=UTC)),
        Version(2, dt.datetime(2008, 12, 13, 17, 26, tzinfo=UTC)),
        Version(3, dt.datetime(2024, 1, 2, 10, 0, tzinfo=UTC)),
    ]
    assert p.title == "Sparsity-certifying Graph Decompositions, revised"
    assert p.journal_ref == "Graphs and Combinatorics 24 (2008)"
    assert p.published == dt.datetime(2007, 3, 31, 2, 26, 18, tzinfo=UTC)
    assert p.updated == dt.datetime(2024, 1, 2, tzinfo=UTC)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT latest_version FROM papers WHERE id = '0704.0002'")).scalar() == 3
    after = contents(engine)

    # The original snapshot again (v2 only): older, so nothing goes back.
    assert counts(import_file(engine, KAGGLE_A)) == (0, 0, 200, 0)
    assert contents(engine) == after


# ---------------------------------------------------------------------------------------------
# Merging sources: the arXiv API, then Hugging Face daily papers for the same papers


def test_hf_listing_merges_into_arxiv_metadata(engine: Engine) -> None:
    api = import_file(engine, PNF_XML)
    assert counts(api) == (25, 0, 0, 0)
    before = stored(engine, "2607.28568", "2607.28582", "2607.28618")

    hf = import_file(engine, PNF_HF)
    # 3 of HF's 30 papers are in the arXiv feed: they gain links and a listing; 27 are new.
    assert counts(hf) == (27, 3, 0, 0)
    assert hf.featured == 30
    after = stored(engine, "2607.28568", "2607.28582", "2607.28618")
    for pid, old in before.items():
        new = after[pid]
        # arXiv's metadata stays
        assert (new.title, new.abstract, new.authors, new.versions) == (
            old.title,
            old.abstract,
            old.authors,
            old.versions,
        )
        assert (new.categories, new.primary_category, new.published) == (
            old.categories,
            old.primary_category,
            old.published,
        )
    assert after["2607.28582"].title.startswith("$β$-OPSD")  # HF writes "β-OPSD"
    assert len(after["2607.28568"].authors) == 24
    # HF's githubRepo and projectPage are added to the links, once each
    assert after["2607.28568"].code_urls == ["https://github.com/FrontisAI/OpenRSI"]
    assert after["2607.28568"].project_urls == ["https://frontisai.github.io/OpenRSI/"]
    assert after["2607.28582"].project_urls == ["https://umd-huang-lab.github.io/beta-opsd/"]
    assert after["2607.28618"].code_urls == ["https://github.com/bingyan4science/askchem"]
    assert after["2607.28618"].project_urls == ["https://askchem.org", "https://www.askchem.org"]
    assert after["2607.28568"].extra["githubStars"] == 111
    assert after["2607.28568"].extra["discussionId"] == "6a6c05ab7bd25d8874c07144"

    day = dt.date(2026, 7, 31)
    got = listings(engine)
    assert got[("2607.28568", day)] == (168, "huggingface", "iseesaw")
    assert got[("2607.28582", day)] == (19, "huggingface", "minghuiliu")
    assert got[("2607.28618", day)] == (292, "huggingface", "bing-yan")
    assert users(engine)["iseesaw"] == ("Kaiyan Zhang", "/avatars/b57d36c7577fbbb42ea5b963eef4144a.svg", True)

    state = contents(engine)
    assert counts(import_file(engine, PNF_XML)) == (0, 0, 25, 0)
    again = import_file(engine, PNF_HF)
    assert counts(again) == (0, 0, 30, 0) and again.featured == 0
    assert contents(engine) == state


@pytest.mark.parametrize("hf_first", [False, True], ids=["arxiv-first", "hf-first"])
def test_merge_keeps_arxiv_metadata_in_either_order(engine: Engine, hf_first: bool) -> None:
    order = [AWR_HF, AWR_XML] if hf_first else [AWR_XML, AWR_HF]
    for path in order:
        import_file(engine, path)
    assert count(engine) == 50 + 25 - 2
    p = one(engine, "2607.09424")
    assert len(p.authors) == 32  # the arXiv list: HF hides one author
    assert p.versions and p.versions[0].version == 1 and p.primary_category
    assert listings(engine)[("2607.09424", dt.date(2026, 7, 13))] == (0, "huggingface", "taesiri")
    state = contents(engine)
    for path in order:
        assert counts(import_file(engine, path))[:2] == (0, 0)
    assert contents(engine) == state


# ---------------------------------------------------------------------------------------------
# Hugging Face daily papers


def test_hf_daily_papers_listings_and_submitters(engine: Engine, tmp_path: Path) -> None:
    items = orjson.loads(AWR_HF.read_bytes())
    report = import_file(engine, AWR_HF)
    assert counts(report) == (25, 0, 0, 0) and report.featured == 25
    expected = {}
    submitters = {}
    for item in items:
        p = item["paper"]
        by = p["submittedOnDailyBy"]
        expected[(p["id"], dt.date.fromisoformat(p["submittedOnDailyAt"][:10]))] = (
            p["upvotes"],
            "huggingface",
            by["name"],
        )
        submitters[by["name"]] = (by["fullname"], by["avatarUrl"], True)
    assert listings(engine) == expected
    assert {day for _, day in expected} == {dt.date(2026, 7, 10), dt.date(2026, 7, 13)}
    assert users(engine) == submitters and len(submitters) == 22

    # A later snapshot: one paper gained upvotes. Its listing follows; no user is duplicated.
    target = items[3]["paper"]["id"]
    items[3]["paper"]["upvotes"] += 7
    later = tmp_path / "later.json"
    later.write_bytes(orjson.dumps(items))
    report = import_file(engine, later)
    assert counts(report) == (0, 1, 24, 0) and report.featured == 1
    key = next(k for k in expected if k[0] == target)
    expected[key] = (expected[key][0] + 7, *expected[key][1:])
    assert listings(engine) == expected
    assert count(engine, "users") == 22


def test_hf_upvotes_update_a_paper_merged_from_arxiv(engine: Engine, tmp_path: Path) -> None:
    import_file(engine, PNF_XML)
    import_file(engine, PNF_HF)
    items = orjson.loads(PNF_HF.read_bytes())
    index = next(i for i, item in enumerate(items) if item["paper"]["id"] == "2607.28568")
    items[index]["paper"]["upvotes"] = 200
    (tmp_path / "later.json").write_bytes(orjson.dumps(items))
    report = import_file(engine, tmp_path / "later.json")
    assert counts(report) == (0, 1, 29, 0) and report.featured == 1
    assert listings(engine)[("2607.28568", dt.date(2026, 7, 31))] == (200, "huggingface", "iseesaw")


# ---------------------------------------------------------------------------------------------
# Seed papers


def test_seed_papers_get_stable_local_ids(engine: Engine) -> None:
    report = import_file(engine, SEED)
    assert counts(report) == (69, 0, 0, 0)
    titles = [orjson.loads(line)["title"] for line in SEED.read_bytes().splitlines()]
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT id, local, title FROM papers ORDER BY id")).all()
    assert len(rows) == 69
    assert all(re.fullmatch(r"local-[0-9a-f]{10}", pid) and local for pid, local, _ in rows)
    assert sorted(pid for pid, _, _ in rows) == sorted(local_id(t) for t in titles)
    assert local_id(titles[0]) == local_id(titles[0].upper())
    state = contents(engine)
    assert counts(import_file(engine, SEED)) == (0, 0, 69, 0)
    assert contents(engine) == state


# ---------------------------------------------------------------------------------------------
# Bad input


def test_bad_lines_are_rejected_naming_file_and_line_and_the_rest_imports(engine: Engine, tmp_path: Path) -> None:
    lines = kaggle_lines()
    objects = kaggle_objects()
    bad = [
        lines[0],
        lines[1],
        b'{"id": "0704.0003", "title": "broken',  # 3: malformed JSON
        orjson.dumps({**objects[3], "id": "abc"}),  # 4: a bad id
        orjson.dumps({**objects[4], "title": None}),  # 5: no title
        b'["not", "an", "object"]',  # 6
        b"",  # blank lines are skipped, but counted
        lines[5].replace(b'"title":"', b'"title":"\xff\xfe', 1),  # 8: invalid UTF-8
        orjson.dumps({**objects[6], "title": 42}),  # 9: a field of the wrong type
        lines[7],
        lines[8][:150],  # 11: a truncated last line, no newline
    ]
    path = tmp_path / "bad.jsonl"
    path.write_bytes(b"\n".join(bad))
    report = import_file(engine, path)
    assert counts(report) == (3, 0, 0, 7)
    assert [error_place(e) for e in report.errors] == [(str(path), n) for n in (3, 4, 5, 6, 8, 9, 11)]
    assert "malformed JSON" in report.errors[0]
    assert f"{path}:4 (id abc): not an arXiv id" in report.errors[1]
    assert report.errors[2] == f"{path}:5 (id {objects[4]['id']}): empty title"
    assert "not a JSON object" in report.errors[3]
    assert "UTF-8" in report.errors[4]
    assert "malformed JSON" in report.errors[6]
    ids = {objects[i]["id"] for i in (0, 1, 7)}
    with engine.connect() as conn:
        assert set(conn.execute(text("SELECT id FROM papers")).scalars()) == ids


def test_oversized_short_columns_are_rejected_on_every_backend(engine: Engine, tmp_path: Path) -> None:
    objects = kaggle_objects()[:2]
    objects[0] = {**objects[0], "categories": "x" * 100 + " hep-ph"}
    report = import_file(engine, write_jsonl(tmp_path / "cat.jsonl", objects))
    assert counts(report) == (1, 0, 0, 1) and "category longer than 64" in report.errors[0]
    item = orjson.loads(PNF_HF.read_bytes())[0]
    item["paper"]["submittedOnDailyBy"]["name"] = "n" * 200
    (tmp_path / "user.json").write_bytes(orjson.dumps([item]))
    report = import_file(engine, tmp_path / "user.json")
    assert counts(report) == (0, 0, 0, 1) and "submitter name longer than 96" in report.errors[0]


@pytest.mark.parametrize(
    ("name", "data", "fmt", "message"),
    [
        (
            "feed.xml",
            b'<?xml version="1.0"?>\n<feed xmlns="http://www.w3.org/2005/Atom"><entry><title>x</ti></entry></feed>',
            None,
            "malformed XML at line 2",
        ),
        ("cut.xml", PNF_XML.read_bytes()[:5000], None, "malformed XML"),
        ("page.html", b"<html><body>502 Bad Gateway</body></html>", None, "unknown XML document"),
        ("empty.jsonl", b"", None, "the file is empty"),
        ("notes.txt", b"just some notes\n", None, "cannot tell the file's format"),
        ("other.json", b'{"results": [{"paperId": "x"}]}', None, "cannot tell the file's format"),
        ("other.json", b'{"results": [{"paperId": "x"}]}', "hf", "not a Hugging Face papers response"),
        ("error.json", b'{"error": "Paper not found"}', "hf", "Hugging Face error response: Paper not found"),
        ("broken.json", b'[{"paper": {"id": "2607.28568"', None, "malformed JSON"),
    ],
)
def test_bad_files_write_nothing_and_lose_nothing(
    engine: Engine, tmp_path: Path, name: str, data: bytes, fmt: str | None, message: str
) -> None:
    import_file(engine, KAGGLE_A)
    import_file(engine, PNF_HF)
    state = contents(engine)
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(SourceError) as info:
        import_file(engine, path, fmt=fmt)
    assert str(info.value).startswith(f"{path}: ")
    assert message in str(info.value)
    assert contents(engine) == state


def test_bad_lines_of_stored_papers_lose_nothing(engine: Engine, tmp_path: Path) -> None:
    import_file(engine, KAGGLE_A)
    state = contents(engine)
    lines = kaggle_lines()
    lines[50] = lines[50][:-40]
    lines[120] = b"{]"
    (tmp_path / "damaged.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    report = import_file(engine, tmp_path / "damaged.jsonl")
    assert counts(report) == (0, 0, 198, 2)
    assert contents(engine) == state


def test_a_missing_file_is_an_error_naming_it(engine: Engine, tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "snapshot.jsonl"
    with pytest.raises(SourceError, match=re.escape(f"{missing}: no such file")):
        import_file(engine, missing)
    with pytest.raises(SourceError, match="no such file"):
        import_file(engine, tmp_path)  # a directory
    assert count(engine) == 0


def test_gzipped_files_import_and_dated_old_hf_answers_get_their_day(engine: Engine, tmp_path: Path) -> None:
    """Archives of API answers are often gzipped; an older HF answer (no `submittedOnDailyAt`) named by its
    date is featured on that date. A damaged gzip, and a gzipped line file (which could not resume), are
    refused by name and write nothing."""
    old = recording("hf_daily_papers", "curation_archive/2024-05-27.json.gz")
    undated = tmp_path / "daily.json.gz"
    undated.write_bytes(old.read_bytes())
    report = import_file(engine, undated)  # no day in the answers nor in the name: stored, not featured
    assert (report.new, report.featured, report.rejected) == (13, 0, 0)
    report = import_file(engine, old)
    assert (report.new, report.featured, report.rejected) == (0, 13, 0)
    with engine.connect() as conn:
        days = {r[0] for r in conn.execute(text("SELECT DISTINCT day FROM daily_listings"))}
    assert {str(d) for d in days} == {"2024-05-27"}
    broken = tmp_path / "2024-05-28.json.gz"
    broken.write_bytes(old.read_bytes()[:200])
    with pytest.raises(SourceError, match=re.escape(f"{broken}: cannot read the file")):
        import_file(engine, broken)
    lines = tmp_path / "snapshot.jsonl.gz"
    with gzip.open(lines, "wb") as fp:
        fp.write(recording("kaggle_arxiv_snapshot", "head200_wanng-ide_arxivSpider_mnbvc.jsonl").read_bytes())
    with pytest.raises(SourceError, match="decompress it first"):
        import_file(engine, lines)
    assert count(engine) == 13


# ---------------------------------------------------------------------------------------------
# The parallel path for big files


def test_big_file_goes_through_the_parallel_path_with_the_serial_result(
    engine: Engine, other_engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lines = [orjson.dumps(o) for o in synthetic_records(3200, seed=7)]
    for n in (10, 1500, 3100):  # bad lines in different chunks
        lines[n - 1] = lines[n - 1][:60]
    lines.insert(2000, orjson.dumps({"id": "2001.00005", "title": "A duplicate in another chunk"}))
    path = tmp_path / "big.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    assert path.stat().st_size > bulk.PARALLEL_MIN_BYTES

    calls: list[int] = []
    real_parallel = bulk._parallel

    def spy(prepare: Any, chunks: Any, jobs: int) -> Any:
        calls.append(jobs)
        return real_parallel(prepare, chunks, jobs)

    monkeypatch.setattr(bulk, "_parallel", spy)
    parallel = import_file(engine, path, batch_size=400)
    assert len(calls) == 1 and calls[0] >= 1
    serial = import_file(other_engine, path, batch_size=400, jobs=0)
    assert len(calls) == 1

    # The duplicate (no version) only fills what the stored paper lacks: nothing.
    assert counts(parallel) == counts(serial) == (3197, 0, 1, 3)
    assert parallel.errors == serial.errors
    assert [error_place(e) for e in parallel.errors] == [(str(path), n) for n in (10, 1500, 3101)]
    assert contents(engine) == contents(other_engine)
    assert one(engine, "2001.00005").title == " ".join(orjson.loads(lines[4])["title"].split())


# ---------------------------------------------------------------------------------------------
# Crash safety


def _cli(path: Path, batch_size: int) -> list[str]:
    return [
        sys.executable,
        "-c",
        "from dailypapers.cli.main import app; app()",
        "import",
        str(path),
        "--batch-size",
        str(batch_size),
    ]


def _checkpoint_line(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT coalesce(max(line), 0) FROM import_checkpoints")).scalar() or 0)


def _in_write_transaction(engine: Engine) -> bool:
    """Whether another process is inside a write transaction (so a kill now aborts it midway)."""
    if engine.dialect.name == "postgresql":
        # An uncommitted INSERT has drawn pks past the highest committed one.
        sql = (
            "SELECT coalesce(pg_sequence_last_value(pg_get_serial_sequence('papers', 'pk')::regclass), 0) "
            "> coalesce((SELECT max(pk) FROM papers), 0)"
        )
        with engine.connect() as conn:
            return bool(conn.execute(text(sql)).scalar())
    con = sqlite3.connect(str(engine.url.database), timeout=0, isolation_level=None)
    try:
        con.execute("BEGIN IMMEDIATE")  # refused while the importer holds the write lock
    except sqlite3.OperationalError:
        return True
    else:
        con.execute("ROLLBACK")
        return False
    finally:
        con.close()


@pytest.mark.slow
def test_killed_import_resumes_to_the_state_of_one_clean_run(
    engine: Engine, other_engine: Engine, db_url: str, tmp_path: Path
) -> None:
    # PostgreSQL computes a full-text vector for every inserted row, so it gets a smaller file
    # to stay within the same time.
    total = 60_000 if engine.dialect.name == "sqlite" else 30_000
    path = tmp_path / "synthetic.jsonl"
    with path.open("wb") as fp:
        for obj in synthetic_records(total):
            fp.write(orjson.dumps(obj) + b"\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("DAILYPAPERS_")}
    env.update(DAILYPAPERS_DATABASE_URL=db_url, DAILYPAPERS_DATA_DIR=str(tmp_path), COLUMNS="300")

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        # The reference: one clean, uninterrupted run into another database, meanwhile.
        clean = pool.submit(import_file, other_engine, path)

        # Kill the import (and its worker processes) in the middle of a batch's transaction,
        # once a quarter of the file is committed.
        proc = subprocess.Popen(
            _cli(path, 1000), env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True
        )
        deadline = time.monotonic() + 120
        try:
            while not (_checkpoint_line(engine) >= total // 4 and _in_write_transaction(engine)):
                assert proc.poll() is None, "the import ended before it could be killed"
                assert time.monotonic() < deadline, "no progress"
                time.sleep(0.005)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
        assert proc.returncode == -signal.SIGKILL
        killed_at = _checkpoint_line(engine)
        assert total // 4 <= killed_at < total
        assert count(engine) == killed_at  # each committed batch moved the checkpoint with it

        rerun = subprocess.run(_cli(path, 1000), env=env, capture_output=True, text=True, timeout=180)
        output = " ".join((rerun.stdout + rerun.stderr).split())
        assert rerun.returncode == 0, output
        assert f"resumed after line {killed_at}" in output
        assert table_counts(output) == [total - killed_at, 0, 0, 0, 0]
        assert counts(clean.result()) == (total, 0, 0, 0)

    assert _checkpoint_line(engine) == 0
    assert contents(engine) == contents(other_engine)
