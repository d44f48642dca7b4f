"""SQLite's keyword index gathers a large batch's entries in memory and writes them as one segment
(migration 0014's FTS5 `hashsize`), where FTS5's default (1 MB) writes many small ones to merge again."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import Engine, text

from dailypapers.ingest.importer import ImportReport, ingest_items
from dailypapers.sources.record import PaperRecord
from dailypapers.store import search_index
from dailypapers.store.db import alembic_config, make_engine, read_tx, write_tx
from tests.support.databases import new_database

PAPERS = 1500


@pytest.fixture
def sqlite(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    eng = make_engine(new_database("sqlite", request, tmp_path))
    yield eng
    eng.dispose()


def _words(rng: random.Random, count: int) -> str:
    return " ".join("".join(rng.choices("abcdefghijklmnopqrstuvwxyz", k=rng.randint(4, 10))) for _ in range(count))


def _papers() -> list[PaperRecord]:
    rng = random.Random(0)
    return [
        PaperRecord(id=f"2401.{i:05d}", source="t", title=_words(rng, 8), abstract=_words(rng, 150))
        for i in range(PAPERS)
    ]


def _hashsize(engine: Engine) -> int:
    with read_tx(engine) as conn:
        return int(conn.execute(text("SELECT v FROM papers_fts_config WHERE k = 'hashsize'")).scalar() or 0)


def _segments(engine: Engine) -> int:
    with read_tx(engine) as conn:
        return int(conn.execute(text("SELECT count(DISTINCT segid) FROM papers_fts_idx")).scalar() or 0)


def _index_one_batch(engine: Engine) -> None:
    ingest_items(engine, _papers(), ImportReport(), batch_size=PAPERS)
    with write_tx(engine) as conn:
        conn.execute(text("INSERT INTO papers_fts(papers_fts) VALUES ('delete-all')"))  # an empty index...
        conn.execute(text("UPDATE site_state SET value = 0 WHERE key = 'fts_indexed_pk'"))
    assert search_index.index_pending(engine, batch=10 * PAPERS) == PAPERS  # ...all in one transaction


def test_a_batch_is_written_as_one_segment(sqlite: Engine) -> None:
    assert _hashsize(sqlite) == 64 * 1024 * 1024
    _index_one_batch(sqlite)
    assert _segments(sqlite) == 1
    with read_tx(sqlite) as conn:  # and it finds each paper by its title
        titles = conn.execute(text("SELECT pk, title FROM papers ORDER BY pk")).all()
        match = text("SELECT rowid FROM papers_fts WHERE papers_fts MATCH :q")
        assert all(pk in conn.execute(match, {"q": f'"{title}"'}).scalars().all() for pk, title in titles[::50])


def test_migration_0014_goes_down_and_up(sqlite: Engine) -> None:
    command.downgrade(alembic_config(sqlite), "0013")
    assert _hashsize(sqlite) == 1024 * 1024
    _index_one_batch(sqlite)
    assert _segments(sqlite) > 1  # FTS5's default: the same batch in several segments
    command.upgrade(alembic_config(sqlite), "head")
    assert _hashsize(sqlite) == 64 * 1024 * 1024
