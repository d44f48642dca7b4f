"""Stored descriptions (TL;DR and keywords of cards): which papers need one, the `describe` job and command,
reading them back; on SQLite and PostgreSQL, with the real MiniLM model."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from dailypapers.cli import main as cli
from dailypapers.ingest.importer import ImportReport, ingest_items
from dailypapers.jobs.engine import JobSystem
from dailypapers.search.describing import describe_pending
from dailypapers.search.embedder import Embedder
from dailypapers.sources.record import PaperRecord, Version
from dailypapers.store import descriptions
from dailypapers.store.db import read_tx, write_tx
from dailypapers.store.descriptions import Description
from tests.support.jobs import run_job
from tests.support.semantic import PAPERS, load_embedder, settings_for


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    return load_embedder()


def _add(engine: Engine, items: dict[str, tuple[str, str, dict[str, object]]], version: int = 1) -> dict[str, int]:
    """Import papers as arXiv records of `version` (a later one replaces the text)."""
    versions = [Version(v) for v in range(1, version + 1)]
    records = [
        PaperRecord(id=i, source="arxiv", title=t, abstract=a, extra=dict(x), versions=versions)
        for i, (t, a, x) in items.items()
    ]
    ingest_items(engine, records, ImportReport())
    with read_tx(engine) as conn:
        rows = conn.execute(text("SELECT id, pk FROM papers")).all()
    return {r.id: r.pk for r in rows if r.id in items}


def _pending(engine: Engine) -> list[int]:
    with read_tx(engine) as conn:
        return [p.pk for p in descriptions.pending(conn, "all-MiniLM-L6-v2", 384, limit=100)]


def _described_at(engine: Engine) -> dict[int, object]:
    with read_tx(engine) as conn:
        return dict(conn.execute(text("SELECT paper_pk, described_at FROM paper_descriptions")).all())


HF_PAPER = (
    "A paper Hugging Face featured",
    "We do things. They work.",
    {"ai_summary": "It works.", "ai_keywords": ["x"]},
)


def test_describes_each_paper_once_then_again_when_its_text_changes(engine: Engine, embedder: Embedder) -> None:
    pks = _add(engine, {pid: (t, a, {}) for pid, (t, a) in PAPERS.items()} | {"2402.00009": HF_PAPER})
    assert sorted(_pending(engine)) == sorted(pks.values())
    report = describe_pending(engine, embedder, chunk=2)
    assert report.described == len(pks) and report.offline == len(PAPERS)
    assert _pending(engine) == [] and describe_pending(engine, embedder).described == 0
    with read_tx(engine) as conn:
        got = descriptions.for_papers(conn, [*pks.values(), 999999])
        assert descriptions.count_pending(conn) == 0
    assert set(got) == set(pks.values())
    assert got[pks["2402.00009"]] == Description("It works.", ["x"], "hf")
    for pid, (_, abstract) in PAPERS.items():
        d = got[pks[pid]]
        assert d.source == "offline" and d.tldr and d.tldr.rstrip(".") in abstract and d.keywords

    before = _described_at(engine)
    title, _ = PAPERS["2401.00003"]
    _add(
        engine, {"2401.00003": (title, "We present kernels for sparse matrices. They are fast on GPUs.", {})}, version=2
    )
    assert _pending(engine) == [pks["2401.00003"]]  # its text hash moved
    assert describe_pending(engine, embedder).described == 1
    with read_tx(engine) as conn:
        assert "sparse" in descriptions.for_papers(conn, [pks["2401.00003"]])[pks["2401.00003"]].tldr
    after = _described_at(engine)
    assert [pk for pk in after if after[pk] != before[pk]] == [pks["2401.00003"]]


def test_hugging_face_fields_arriving_later_replace_ours(engine: Engine, embedder: Embedder) -> None:
    title, abstract = PAPERS["2401.00004"]
    pks = _add(engine, {"2401.00004": (title, abstract, {})})
    describe_pending(engine, embedder)
    _add(engine, {"2401.00004": (title, abstract, {"ai_summary": "RAG, summarized.", "ai_keywords": ["RAG"]})})
    assert _pending(engine) == [pks["2401.00004"]]
    describe_pending(engine, embedder)
    with read_tx(engine) as conn:
        assert descriptions.for_papers(conn, pks.values())[pks["2401.00004"]] == Description(
            "RAG, summarized.", ["RAG"], "hf"
        )


def test_rows_go_with_their_paper_and_export_round_trips(engine: Engine, embedder: Embedder) -> None:
    pks = _add(engine, {"2402.00009": HF_PAPER, "2402.00010": ("No abstract", "", {})})
    describe_pending(engine, embedder)
    with read_tx(engine) as conn:
        assert descriptions.for_papers(conn, [pks["2402.00010"]])[pks["2402.00010"]] == Description("", [], "")
        exported = descriptions.export(conn)
    assert [r["id"] for r in exported] == ["2402.00009", "2402.00010"]
    with write_tx(engine) as conn:
        conn.execute(text("DELETE FROM papers WHERE pk = :pk"), {"pk": pks["2402.00010"]})
        assert conn.execute(text("SELECT count(*) FROM paper_descriptions")).scalar() == 1
        conn.execute(text("DELETE FROM paper_descriptions"))
        assert descriptions.import_matching(conn, [*exported, {**exported[0], "id": "nope"}]) == 1
        assert descriptions.for_papers(conn, pks.values()) == {pks["2402.00009"]: Description("It works.", ["x"], "hf")}


def test_the_describe_job_fills_rows_idempotently(engine: Engine, embedder: Embedder, tmp_path: Path) -> None:
    pks = _add(engine, {pid: (t, a, {}) for pid, (t, a) in PAPERS.items()})
    settings = settings_for(tmp_path)

    def with_model(system: JobSystem) -> None:
        system.context.embedder = embedder

    status, runs = run_job(engine, settings, "describe", prepare=with_model)
    assert status == "succeeded" and runs[-1].done == len(PAPERS), runs[-1].note
    first = _described_at(engine)
    assert set(first) == set(pks.values())
    status, runs = run_job(engine, settings, "describe", prepare=with_model)
    assert status == "succeeded" and runs[-1].note == "every paper is described"
    assert _described_at(engine) == first


def test_the_describe_command_and_its_export(db_url: str, tmp_path: Path, embedder: Embedder) -> None:
    from dailypapers.store.db import make_engine

    engine = make_engine(db_url)
    _add(engine, {"2402.00009": HF_PAPER, "2401.00001": (*PAPERS["2401.00001"], {})})
    env = {"DAILYPAPERS_DATABASE_URL": db_url, "DAILYPAPERS_DATA_DIR": str(tmp_path), "DAILYPAPERS_EMBED_DEVICE": "cpu"}
    runner = CliRunner()
    assert "--export" in runner.invoke(cli.app, ["describe", "--help"]).output
    out = tmp_path / "d.json"
    first = runner.invoke(cli.app, ["describe", "--export", str(out)], env=env)
    assert first.exit_code == 0, first.output
    assert "Described 2 papers (1 offline)" in " ".join(first.output.split())
    assert [r["source"] for r in orjson.loads(out.read_bytes())] == ["offline", "hf"]
    second = runner.invoke(cli.app, ["describe"], env=env)
    assert second.exit_code == 0 and "Described 0 papers" in second.output
