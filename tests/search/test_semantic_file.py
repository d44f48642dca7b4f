"""SQLite's usearch index file: a cache of the database that survives restarts and crashes.

Each test opens the index as a restarted process would: a new SemanticIndex once the old one (and the
process-wide state behind it) is gone.
"""

from __future__ import annotations

import gc
import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import Engine, text

from dailypapers.config import Settings
from dailypapers.search.semantic import SemanticIndex, catch_up_all
from dailypapers.store import vectors
from dailypapers.store.db import make_engine, read_tx, write_tx
from tests.support.databases import new_database
from tests.support.semantic import HashEmbedder, add_bare_papers, settings_for, store_vectors, unit_vectors

MODEL = HashEmbedder()


@pytest.fixture
def sqlite_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(new_database("sqlite", request, tmp_path))
    yield engine
    engine.dispose()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return settings_for(tmp_path / "data")


def _open(engine: Engine, settings: Settings, model: HashEmbedder = MODEL) -> SemanticIndex:
    """The index as a freshly started process opens it."""
    gc.collect()  # the previous "process"'s shared index state goes with its last SemanticIndex
    index = SemanticIndex(engine, settings, model)
    index.catch_up()
    return index


def _db_keys(engine: Engine, model: str = MODEL.name) -> set[int]:
    with read_tx(engine) as conn:
        return vectors.keys(conn, model)


def _files(settings: Settings) -> list[Path]:
    return sorted((settings.data_dir / "semantic").glob("*.usearch"))


def _meta(settings: Settings) -> Path:
    (meta,) = (settings.data_dir / "semantic").glob("*.json")
    return meta


def _consistent(index: SemanticIndex, engine: Engine, matrix: dict[int, np.ndarray]) -> None:
    """The index holds exactly the database's vectors: same keys, each found as its own nearest."""
    assert index.keys() == _db_keys(engine)
    for pk, vector in list(matrix.items())[::7]:
        assert index.search_vector(vector, 1)[0][0] == pk


def _setup(engine: Engine, settings: Settings, count: int = 60) -> tuple[list[int], dict[int, np.ndarray]]:
    pks = add_bare_papers(engine, count)
    matrix = unit_vectors(count)
    store_vectors(engine, MODEL.name, pks, matrix)
    index = _open(engine, settings)
    assert not index.loaded_from_file  # built from the database, and saved
    assert len(_files(settings)) == 1
    del index
    return pks, dict(zip(pks, matrix, strict=True))


def test_the_file_survives_a_restart(sqlite_engine: Engine, settings: Settings) -> None:
    pks, matrix = _setup(sqlite_engine, settings)
    index = _open(sqlite_engine, settings)
    assert index.loaded_from_file
    _consistent(index, sqlite_engine, matrix)
    assert not index.save()  # nothing newer than the file


def test_rows_written_after_the_last_save_are_caught_up(sqlite_engine: Engine, settings: Settings) -> None:
    pks, matrix = _setup(sqlite_engine, settings)
    # The "crash": embeddings written to the database, the process gone before saving its index.
    more = add_bare_papers(sqlite_engine, 20, prefix="more")
    fresh = unit_vectors(20 + 5, seed=9)
    store_vectors(sqlite_engine, MODEL.name, more, fresh[:20])
    store_vectors(sqlite_engine, MODEL.name, pks[:5], fresh[20:])  # re-embedded
    with write_tx(sqlite_engine) as conn:
        conn.execute(text("DELETE FROM papers WHERE pk IN (:a, :b)"), {"a": pks[10], "b": pks[11]})
    matrix.update(zip(more + pks[:5], fresh, strict=True))
    del matrix[pks[10]], matrix[pks[11]]
    index = _open(sqlite_engine, settings)
    assert index.loaded_from_file
    _consistent(index, sqlite_engine, matrix)
    for pk in pks[:5]:
        assert index.search_vector(matrix[pk], 1) == [(pk, pytest.approx(1.0, abs=1e-5))]
    assert index.save()
    assert len(_files(settings)) == 1  # the older file is gone


def test_a_paper_embedded_by_another_model_leaves_the_index(sqlite_engine: Engine, settings: Settings) -> None:
    pks, matrix = _setup(sqlite_engine, settings)
    store_vectors(sqlite_engine, "other-model", pks[:3], unit_vectors(3, seed=5))
    index = _open(sqlite_engine, settings)
    assert index.keys() == set(pks[3:])
    other = _open(sqlite_engine, settings, HashEmbedder("other-model"))
    assert other.keys() == set(pks[:3]) and not other.loaded_from_file
    assert len(_files(settings)) == 2  # one file per model


def _flip_bytes(settings: Settings) -> None:
    (path,) = _files(settings)
    data = bytearray(path.read_bytes())
    for i in range(len(data) // 3, len(data) // 3 + 64):
        data[i] ^= 0xFF
    path.write_bytes(bytes(data))


def _truncate(settings: Settings) -> None:
    (path,) = _files(settings)
    path.write_bytes(path.read_bytes()[:1000])


def _remove_file(settings: Settings) -> None:
    _files(settings)[0].unlink()


def _garble_meta(settings: Settings) -> None:
    _meta(settings).write_text("{not json")


def _other_database(settings: Settings) -> None:
    meta = json.loads(_meta(settings).read_text())
    _meta(settings).write_text(json.dumps({**meta, "store_id": meta["store_id"] + 1}))


def _ahead_of_database(settings: Settings) -> None:
    meta = json.loads(_meta(settings).read_text())
    _meta(settings).write_text(json.dumps({**meta, "seq": meta["seq"] + 1000}))


def _wrong_count(settings: Settings) -> None:
    meta = json.loads(_meta(settings).read_text())
    _meta(settings).write_text(json.dumps({**meta, "count": meta["count"] - 1}))


@pytest.mark.parametrize(
    "damage",
    [_flip_bytes, _truncate, _remove_file, _garble_meta, _other_database, _ahead_of_database, _wrong_count],
)
def test_a_damaged_or_foreign_file_is_rebuilt(sqlite_engine: Engine, settings: Settings, damage) -> None:  # type: ignore[no-untyped-def]
    pks, matrix = _setup(sqlite_engine, settings)
    damage(settings)
    index = _open(sqlite_engine, settings)
    assert not index.loaded_from_file
    _consistent(index, sqlite_engine, matrix)
    del index
    assert _open(sqlite_engine, settings).loaded_from_file  # and saved again


def test_a_file_that_disagrees_with_the_database_is_rebuilt(sqlite_engine: Engine, settings: Settings) -> None:
    pks, matrix = _setup(sqlite_engine, settings)
    # Rows removed behind the index's back (no tombstone): the counts no longer agree.
    with write_tx(sqlite_engine) as conn:
        conn.execute(text("DROP TRIGGER paper_embeddings_ad"))
        conn.execute(text("DELETE FROM paper_embeddings WHERE paper_pk = :pk"), {"pk": pks[0]})
    del matrix[pks[0]]
    index = _open(sqlite_engine, settings)
    assert not index.loaded_from_file
    _consistent(index, sqlite_engine, matrix)


def test_an_unwritable_data_dir_keeps_the_index_in_memory(sqlite_engine: Engine, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    settings = settings_for(blocker / "data")
    pks = add_bare_papers(sqlite_engine, 5)
    store_vectors(sqlite_engine, MODEL.name, pks, unit_vectors(5))
    index = _open(sqlite_engine, settings)
    assert index.keys() == set(pks)
    assert not index.save()


def test_catch_up_all_saves_after_enough_changes(
    sqlite_engine: Engine, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dailypapers.search import semantic

    _setup(sqlite_engine, settings, count=10)
    index = _open(sqlite_engine, settings)
    before = _files(settings)
    monkeypatch.setattr(semantic, "SAVE_EVERY", 5)
    more = add_bare_papers(sqlite_engine, 5, prefix="more")
    store_vectors(sqlite_engine, MODEL.name, more, unit_vectors(5, seed=2))
    assert catch_up_all(sqlite_engine) == 5
    assert index.keys() >= set(more)
    assert _files(settings) != before
    del index
    reopened = _open(sqlite_engine, settings)
    assert reopened.loaded_from_file and reopened.keys() >= set(more)
