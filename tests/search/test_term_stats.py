"""Large SQLite databases leave their commonest words out of searches (store/term_stats.py): checked on a
small one with the thresholds lowered."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine

from dailypapers.ingest.importer import ImportReport, ingest_items
from dailypapers.search.query import parse
from dailypapers.sources.record import PaperRecord
from dailypapers.store import keyword, search_index, term_stats
from dailypapers.store.db import make_engine, migrate, read_tx


def test_common_words_are_left_out_beside_rarer_ones(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    migrate(engine)
    titles = ["common alpha beta", "common gamma", "common gamma", "common", "common", "common"]
    records = [PaperRecord(id=f"2601.0000{i}", source="test", title=t) for i, t in enumerate(titles, 1)]
    ingest_items(engine, records, ImportReport())
    search_index.index_pending(engine)
    q = parse("common alpha beta gamma")
    with read_tx(engine) as conn:
        assert term_stats.without_common_terms(conn, q) is q  # a small database: nothing is common
        monkeypatch.setattr(term_stats, "COMMON_MIN", 2)
        monkeypatch.setattr(term_stats, "COMMON", 0.5)
        monkeypatch.setattr(term_stats, "_df_cache", {})
        pruned = term_stats.without_common_terms(conn, q)
        assert pruned.content_terms == ("alpha", "beta", "gamma")  # 'common' is in all 6 papers
        assert term_stats.without_common_terms(conn, parse("common alpha")).content_terms == ("common", "alpha")
        found = keyword.search(conn, q, limit=10)
    with read_tx(engine) as conn:
        ids = dict(conn.exec_driver_sql("SELECT pk, id FROM papers").all())
    assert [ids[pk] for pk in found][:1] == ["2601.00001"]
    engine.dispose()


def test_an_old_paper_is_found_among_many_newer_ones_that_share_common_words(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A description matches most of a large store word by word; only RANK_WINDOW matches are ranked,
    the newest. The any-word search keeps the rarest words that fit in that window, so the old paper
    that holds them is ranked (with only the newest matches ranked, it was never seen)."""
    monkeypatch.setattr(term_stats, "_df_cache", {})
    target = PaperRecord(id="2601.00001", source="test", title="Sheaf cohomology for graph transformers")
    newer = [
        PaperRecord(id=f"2601.{i:05d}", source="test", title=f"Transformers for graph learning, study {i}")
        for i in range(2, 40)
    ]
    ingest_items(engine, [target], ImportReport())
    ingest_items(engine, newer, ImportReport())
    search_index.index_pending(engine)
    monkeypatch.setattr(keyword, "RANK_WINDOW", 10)
    q = parse("graph transformers using sheaf cohomology as a study of learning")  # no paper has every word
    with read_tx(engine) as conn:
        kept = term_stats.rarest_within(conn, q, 10)
        assert {"sheaf", "cohomology", "using"} <= set(kept.content_terms)  # in 1, 1 and 0 papers
        assert not {"graph", "transformers", "learning"} & set(kept.content_terms)  # in 39 papers each
        assert term_stats.rarest_within(conn, q, 1_000) is q  # everything fits: nothing left out
        found = keyword.search(conn, q, limit=5)
        pk = conn.exec_driver_sql("SELECT pk FROM papers WHERE id = '2601.00001'").scalar()
    assert found[0] == pk


def test_a_rare_word_outweighs_common_ones_on_both_databases(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    """With any of the words, the paper holding the rare one comes first, not the one holding the two
    common ones (BM25 on SQLite; on PostgreSQL, whose ts_rank_cd ignores rarity, the words' IDF)."""
    monkeypatch.setattr(term_stats, "_df_cache", {})
    rare = PaperRecord(id="2601.00001", source="test", title="Sheaf theory", abstract="An essay.")
    common = [
        PaperRecord(id=f"2601.{i:05d}", source="test", title=f"Graph learning, part {i}", abstract="Graph learning.")
        for i in range(2, 40)
    ]
    ingest_items(engine, [rare, *common], ImportReport())
    search_index.index_pending(engine)
    with read_tx(engine) as conn:
        found = keyword.search(conn, parse("sheaf graph learning"), limit=5)
        pk = conn.exec_driver_sql("SELECT pk FROM papers WHERE id = '2601.00001'").scalar()
    assert found[0] == pk
