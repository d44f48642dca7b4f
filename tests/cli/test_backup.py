"""`dailypapers backup` and `dailypapers restore` round trips, on SQLite and PostgreSQL: every table comes back
row for row, searches find the same papers, and a backup taken while the site writes is consistent."""

from __future__ import annotations

import random
import sqlite3
import threading
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from dailypapers.comments import discussion
from dailypapers.config import Settings
from dailypapers.curation import voting
from dailypapers.ingest.demo import load_demo
from dailypapers.search.service import Searcher
from dailypapers.store.db import make_engine
from tests.support.accounts import make_user
from tests.support.backups import Site, add_community, blank_database, paper_ids, pg_state, table_rows, votes_agree
from tests.support.semantic import add_bare_papers

QUERIES = ("large language models", "image diffusion", "reinforcement learning for robots", "graph neural network")


@pytest.fixture
def site(engine: Engine, tmp_path: Path) -> Site:
    return Site(engine.url.render_as_string(hide_password=False), tmp_path / "site")


def _settings(site: Site) -> Settings:
    return Settings(data_dir=site.data_dir, database_url=site.url, embed_device="cpu", embed_background=False)


def _searches(searcher: Searcher, modes: tuple[str, ...]) -> dict[tuple[str, str], list[tuple[object, ...]]]:
    found = {}
    for query in QUERIES:
        for mode in modes:
            results = searcher.search(query, mode, limit=20)
            assert results.semantic_unavailable is None, results.semantic_unavailable
            found[query, mode] = [(h.pk, h.score, h.keyword_rank, h.semantic_rank, h.similarity) for h in results.hits]
    return found


def _backup(site: Site, folder: Path) -> Path:
    folder.mkdir(exist_ok=True)
    code, out = site.run("backup", str(folder))
    assert code == 0, out
    (archive,) = folder.glob("dailypapers-*.tar")
    assert "Backed up" in out
    return archive


def test_a_round_trip_keeps_every_table_and_what_searches_find(
    engine: Engine, site: Site, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    load_demo(engine)
    add_community(engine, site.data_dir)
    secret = _settings(site).secret
    if site.backend == "postgresql":  # keyword search reads the planner's word statistics
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("ANALYZE")
    # Search by meaning is compared on SQLite, where its index is a file of the backup; pgvector's HNSW index
    # is rebuilt by the restore, and an approximate index built again may order near-ties differently.
    modes = ("keyword", "semantic", "hybrid") if site.backend == "sqlite" else ("keyword",)
    before = _searches(Searcher(engine, _settings(site)), modes)
    assert all(before.values())
    if site.backend == "sqlite":
        assert list((site.data_dir / "semantic").glob("*.usearch")), "the semantic index was saved"

    archive = _backup(site, tmp_path / "backups")
    restored = Site(blank_database(site.backend, request, tmp_path), tmp_path / "restored")
    code, out = restored.run("restore", str(archive))
    assert code == 0, out
    assert "Restored" in out

    source_rows, restored_rows = table_rows(site.url), table_rows(restored.url)
    assert sorted(restored_rows) == sorted(source_rows)
    assert {"papers", "users", "votes", "comments", "collections", "paper_embeddings", "media"} <= set(source_rows)
    assert all(source_rows[t] for t in ("users", "votes", "comments", "collections", "paper_embeddings"))
    for table, rows in source_rows.items():
        assert restored_rows[table] == rows, f"table {table} differs after the round trip"
    if site.backend == "postgresql":
        state = pg_state(restored.url)
        assert ("vector",) in state["extensions"]
        assert any(name.startswith("procrastinate_") for name in restored_rows)
        assert state == pg_state(site.url)
    assert (restored.data_dir / "secret_key").read_text().strip() == secret
    assert sorted(p.name for p in (restored.data_dir / "media").iterdir()) == sorted(
        p.name for p in (site.data_dir / "media").iterdir()
    )

    target = make_engine(restored.url)
    try:
        searcher = Searcher(target, _settings(restored))
        assert _searches(searcher, modes) == before
        if site.backend == "sqlite":
            index = searcher.semantic()
            assert index is not None and index.loaded_from_file, "the backup's index file was used, not rebuilt"
        newcomer = make_user(target, "newcomer")  # sequences came back too: no clash with restored rows
        assert newcomer.pk > max(row[0] for row in source_rows["users"])
    finally:
        target.dispose()


def test_without_media_the_cached_images_are_fetched_again(
    engine: Engine, site: Site, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    add_bare_papers(engine, 8)
    add_community(engine, site.data_dir)
    (tmp_path / "b").mkdir()
    code, out = site.run("backup", "--no-media", str(tmp_path / "b" / "site.tar.gz"))
    assert code == 0, out
    restored = Site(blank_database(site.backend, request, tmp_path), tmp_path / "restored")
    code, out = restored.run("restore", str(tmp_path / "b" / "site.tar.gz"))
    assert code == 0, out
    assert "1 cached images are not in the backup" in out
    rows = table_rows(restored.url)["media"]
    assert len(rows) == 1 and "new" in rows[0]
    assert not (restored.data_dir / "media").exists()


def test_a_backup_taken_while_the_site_writes_is_consistent(
    engine: Engine, site: Site, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    add_bare_papers(engine, 3000)  # a database big enough that copying it takes a moment
    ids = paper_ids(engine, 40)
    people = [make_user(engine, name) for name in ("ada", "grace", "alan", "edsger")]
    stop, errors, writes = threading.Event(), [], [0]

    def write() -> None:
        rng = random.Random(7)
        try:
            while not stop.is_set():
                person, pid = rng.choice(people), rng.choice(ids)
                if rng.random() < 0.2:
                    discussion.post(engine, pid, person, f"comment {writes[0]}")
                else:
                    voting.vote(engine, person, pid, rng.random() < 0.6)
                writes[0] += 1
        except Exception as exc:  # the test fails with it below
            errors.append(exc)

    writer = threading.Thread(target=write)
    writer.start()
    try:
        while writes[0] < 30 and writer.is_alive():
            threading.Event().wait(0.01)
        during = writes[0]
        archive = _backup(site, tmp_path / "backups")
        during = writes[0] - during
    finally:
        stop.set()
        writer.join()
    assert not errors, errors
    assert during > 0, "the writer wrote while the backup ran"

    restored = Site(blank_database(site.backend, request, tmp_path), tmp_path / "restored")
    code, out = restored.run("restore", str(archive))
    assert code == 0, out
    if site.backend == "sqlite":
        conn = sqlite3.connect(restored.url.removeprefix("sqlite:///"))
        try:
            assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        finally:
            conn.close()
    assert votes_agree(restored.url), "every paper's vote counter equals its votes"
    target = make_engine(restored.url)
    try:
        with target.connect() as conn:
            counted = text(
                "SELECT count(*) FROM papers p WHERE p.num_comments <> "
                "(SELECT count(*) FROM comments c WHERE c.paper_pk = p.pk)"
            )
            assert conn.execute(counted).scalar() == 0
            assert conn.execute(text("SELECT count(*) FROM votes")).scalar()
    finally:
        target.dispose()
