"""Large SQLite databases leave their commonest words out of searches (store/term_stats.py): checked on a
small one with the thresholds lowered."""

from __future__ import annotations

from pathlib import Path

import pytest

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
