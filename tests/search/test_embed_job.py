"""Embedding papers: what needs it, claims between processes, the `embed` command, the server's job."""

from __future__ import annotations

import concurrent.futures
import datetime as dt
from pathlib import Path

import numpy as np
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from dailypapers.cli import main as cli
from dailypapers.ingest.importer import ImportReport, ingest_items
from dailypapers.jobs.engine import JobSystem
from dailypapers.search.backlog import CLAIM_TTL, embed_pending
from dailypapers.search.embedder import Embedder, paper_text
from dailypapers.search.semantic import SemanticIndex
from dailypapers.sources.record import PaperRecord, Version
from dailypapers.store import vectors
from dailypapers.store.db import read_tx, write_tx
from dailypapers.web.app import create_app
from tests.support.jobs import run_job, wait_for
from tests.support.semantic import (
    PAPERS,
    HashEmbedder,
    add_bare_papers,
    add_papers,
    settings_for,
    stored_keys,
)


def _stored(engine: Engine, model: str, pk: int) -> np.ndarray:
    with read_tx(engine) as conn:
        return vectors.vectors_of(conn, model, [pk], 384)[pk]


def _seq(engine: Engine) -> int:
    with read_tx(engine) as conn:
        return vectors.current_seq(conn)


def test_embeds_what_lacks_an_embedding_once(engine: Engine, embedder: Embedder) -> None:
    pks = add_papers(engine, PAPERS)
    report = embed_pending(engine, embedder, chunk=2)
    assert report.embedded == len(PAPERS)
    seq = _seq(engine)
    assert embed_pending(engine, embedder).embedded == 0
    assert _seq(engine) == seq
    expected = embedder.encode([paper_text(*PAPERS[pid]) for pid in PAPERS])
    for i, pid in enumerate(PAPERS):
        assert float(_stored(engine, embedder.name, pks[pid]) @ expected[i]) > 0.999
    with read_tx(engine) as conn:
        assert vectors.count_stale(conn, embedder.name) == 0
        assert conn.execute(text("SELECT count(*) FROM embedding_claims")).scalar() == 0


def test_changed_paper_is_embedded_again(engine: Engine) -> None:
    model = HashEmbedder()
    pks = add_bare_papers(engine, 4)
    assert embed_pending(engine, model).embedded == 4
    new_abstract = "A new version with a different abstract."
    with write_tx(engine) as conn:
        conn.execute(
            text("UPDATE papers SET abstract = :a, text_hash = 'changed' WHERE pk = :pk"),
            {"a": new_abstract, "pk": pks[1]},
        )
    model.texts.clear()
    assert embed_pending(engine, model).embedded == 1
    assert model.texts == [paper_text("Paper x 1", new_abstract)]
    assert np.allclose(_stored(engine, model.name, pks[1]), model.encode([model.texts[0]])[0])
    # Another model's vectors do not count as this one's.
    assert embed_pending(engine, HashEmbedder("other-model")).embedded == 4
    assert embed_pending(engine, model).embedded == 4


def test_new_version_through_the_importer_is_embedded_again(engine: Engine) -> None:
    model = HashEmbedder()
    old = PaperRecord(id="2401.00009", source="arxiv", title="Old title", abstract="Old", versions=[Version(1)])
    ingest_items(engine, [old], ImportReport())
    assert embed_pending(engine, model).embedded == 1
    versions = [Version(1), Version(2)]
    rec = PaperRecord(id="2401.00009", source="arxiv", title="New title", abstract="New abstract", versions=versions)
    ingest_items(engine, [rec], ImportReport())
    model.texts.clear()
    assert embed_pending(engine, model).embedded == 1
    assert "New abstract" in model.texts[0]
    # Other metadata changing (stars and links synced from Hugging Face, say) leaves the embedding current.
    synced = rec.replace(extra={"githubStars": 41}, code_urls=["https://github.com/a/b"])
    report = ImportReport()
    ingest_items(engine, [synced], report)
    assert report.updated == 1
    assert embed_pending(engine, model).embedded == 0


def test_claimed_papers_are_left_to_their_claimant(engine: Engine) -> None:
    model = HashEmbedder()
    pks = add_bare_papers(engine, 6)
    now = dt.datetime.now(dt.UTC)
    with write_tx(engine) as conn:
        assert vectors.claim(conn, pks[:2], "other-process", now, CLAIM_TTL) == pks[:2]
        assert vectors.claim(conn, pks[:3], "third-process", now, CLAIM_TTL) == [pks[2]]
        # A claim older than the TTL is the claim of a process that died.
        vectors.release(conn, [pks[2]], "third-process")
        assert vectors.claim(conn, [pks[2]], "dead-process", now - 2 * CLAIM_TTL, CLAIM_TTL) == [pks[2]]
    assert embed_pending(engine, model).embedded == 4
    assert stored_keys(engine, model.name) == set(pks[2:])
    with write_tx(engine) as conn:
        vectors.release(conn, pks[:2], "other-process")
    assert embed_pending(engine, model).embedded == 2
    with read_tx(engine) as conn:
        assert conn.execute(text("SELECT count(*) FROM embedding_claims")).scalar() == 0


def test_processes_share_the_work(engine: Engine) -> None:
    pks = add_bare_papers(engine, 40)
    workers = [HashEmbedder(), HashEmbedder()]
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        reports = list(pool.map(lambda m: embed_pending(engine, m, chunk=4), workers))
    assert stored_keys(engine, "test-model") == set(pks)
    assert sum(r.embedded for r in reports) == sum(len(m.texts) for m in workers)
    if engine.dialect.name == "sqlite":  # writers take turns: a claim always sees the other's writes
        assert sum(len(m.texts) for m in workers) == 40
    else:  # a claim racing the other's commit may embed a chunk twice, harmlessly
        assert sum(len(m.texts) for m in workers) <= 48


def test_limit_and_force(engine: Engine) -> None:
    model = HashEmbedder()
    add_bare_papers(engine, 5)
    assert embed_pending(engine, model, limit=3, chunk=2).embedded == 3
    assert embed_pending(engine, model).embedded == 2
    assert embed_pending(engine, model, force=True, chunk=2).embedded == 5


def test_embed_command_is_idempotent(db_url: str, tmp_path: Path, embedder: Embedder) -> None:
    from dailypapers.store.db import make_engine

    engine = make_engine(db_url)
    pks = add_papers(engine, PAPERS)
    env = {"DAILYPAPERS_DATABASE_URL": db_url, "DAILYPAPERS_DATA_DIR": str(tmp_path), "DAILYPAPERS_EMBED_DEVICE": "cpu"}
    runner = CliRunner()
    export = tmp_path / "out" / "vectors.npz"
    first = runner.invoke(cli.app, ["embed", "--batch-size", "2", "--export", str(export)], env=env)
    out = " ".join(first.output.split())
    assert first.exit_code == 0, out
    assert f"Embedded {len(PAPERS)} papers in" in out and "papers/s" in out
    assert stored_keys(engine, embedder.name) == set(pks.values())
    with np.load(export, allow_pickle=False) as data:
        assert sorted(data["ids"].tolist()) == sorted(PAPERS)
        assert data["vectors"].shape == (len(PAPERS), 384)
    if engine.dialect.name == "sqlite":
        assert "Semantic index: 5 papers" in out
        assert list((tmp_path / "semantic").glob("*.usearch"))
    seq = _seq(engine)
    second = runner.invoke(cli.app, ["embed"], env=env)
    assert second.exit_code == 0, second.output
    assert "Embedded 0 papers" in " ".join(second.output.split())
    assert _seq(engine) == seq
    engine.dispose()


def test_embed_command_reports_a_bad_model(db_url: str, tmp_path: Path) -> None:
    env = {"DAILYPAPERS_DATABASE_URL": db_url, "DAILYPAPERS_DATA_DIR": str(tmp_path), "DAILYPAPERS_EMBED_MODEL": "nope"}
    result = CliRunner().invoke(cli.app, ["embed"], env=env)
    assert result.exit_code == 1
    assert "unknown embedding model 'nope'" in " ".join(result.output.split())


def test_the_embed_backlog_job_embeds_and_catches_up_this_process(engine: Engine, tmp_path: Path) -> None:
    model = HashEmbedder()
    settings = settings_for(tmp_path)
    first = add_bare_papers(engine, 3, prefix="before")
    index = SemanticIndex(engine, settings, model)
    index.catch_up()

    def with_model(system: JobSystem) -> None:
        system.context.embedder = model

    status, runs = run_job(engine, settings, "embed-backlog", prepare=with_model)
    assert status == "succeeded" and stored_keys(engine, model.name) == set(first)
    assert (runs[-1].done, runs[-1].total) == (3, 3)
    later = add_bare_papers(engine, 4, prefix="after")
    status, runs = run_job(engine, settings, "embed-backlog", prepare=with_model)
    assert stored_keys(engine, model.name) == set(first + later) and (runs[-1].done, runs[-1].total) == (4, 4)
    if engine.dialect.name == "sqlite":  # the process's index caught up without being asked
        assert index.keys() == set(first + later)
    status, runs = run_job(engine, settings, "embed-backlog", prepare=with_model)
    assert status == "succeeded" and runs[-1].note == "all papers are embedded" and len(model.texts) == 7


def test_a_job_retried_after_its_worker_died_takes_its_claims_back(engine: Engine) -> None:
    pks = add_bare_papers(engine, 6)
    now = dt.datetime.now(dt.UTC)
    with write_tx(engine) as conn:  # the dead worker's run of job 41 had claimed these
        assert vectors.claim(conn, pks[:4], "job:41", now, CLAIM_TTL) == pks[:4]
    model = HashEmbedder()
    assert embed_pending(engine, model, owner="job:99").embedded == 2  # another job leaves them alone
    assert embed_pending(engine, model, owner="job:41").embedded == 4  # the retried job takes them back
    assert stored_keys(engine, model.name) == set(pks)


def test_server_embeds_ingested_papers(engine: Engine, tmp_path: Path, embedder: Embedder) -> None:
    settings = settings_for(
        tmp_path, digest_scheduler=False, secret_key="k" * 40, job_schedules="embed-backlog=* * * * * */1"
    )
    app = create_app(settings, engine, background=True)
    with TestClient(app):
        pks = add_papers(engine, dict(list(PAPERS.items())[:2]))
        wait_for(lambda: stored_keys(engine, embedder.name) == set(pks.values()), what="the embeddings")
