"""The search service: reciprocal rank fusion, and what each mode does when search by meaning cannot run."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import Engine

from dailypapers.config import Settings
from dailypapers.ingest.importer import ImportReport, ingest_items
from dailypapers.search import service
from dailypapers.search.service import Searcher, rrf
from dailypapers.sources.record import Listing, PaperRecord
from dailypapers.store import search_index


def test_rrf_sums_reciprocal_ranks_and_breaks_ties_by_pk() -> None:
    fused = rrf([[1, 2, 3], [3, 1]], k=10)
    scores = dict(fused)
    assert [pk for pk, _ in fused] == [1, 3, 2]
    assert abs(scores[1] - (1 / 11 + 1 / 12)) < 1e-12 and abs(scores[3] - (1 / 13 + 1 / 11)) < 1e-12
    assert rrf([[5], [4]], k=10) == [(4, 1 / 11), (5, 1 / 11)]
    assert [pk for pk, _ in rrf([[1, 2], [2, 1]], weights=[1.0, 3.0])] == [2, 1]


def test_without_a_model_hybrid_is_keyword_and_semantic_says_why(engine: Engine, tmp_path: Path) -> None:
    records = [
        PaperRecord(
            id=f"2601.0000{i}",
            source="test",
            title=title,
            abstract="An abstract.",
            listing=Listing(day=dt.date(2026, 1, 5), source="test"),
        )
        for i, title in enumerate(["Sparse retrieval", "Dense retrieval", "Robot hands"], 1)
    ]
    ingest_items(engine, records, ImportReport())
    search_index.index_pending(engine)
    settings = Settings(data_dir=tmp_path, embed_model=str(tmp_path / "no-such-model"), embed_background=False)
    searcher = Searcher(engine, settings)
    hybrid = searcher.search("retrieval", "hybrid")
    assert len(hybrid.hits) == 2 and hybrid.semantic_unavailable and "unavailable" in hybrid.semantic_unavailable
    assert all(h.keyword_rank and h.semantic_rank is None for h in hybrid.hits)
    semantic = searcher.search("retrieval", "semantic")
    assert semantic.hits == [] and semantic.semantic_unavailable
    assert [h.pk for h in searcher.search("retrieval", "keyword").hits] == [h.pk for h in hybrid.hits]
    assert searcher.search("   ", "hybrid").hits == []
    assert searcher.similar(hybrid.hits[0].pk) == []


def test_no_embeddings_means_no_model_load(engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ingest_items(engine, [PaperRecord(id="2601.00001", source="test", title="Sparse retrieval")], ImportReport())
    search_index.index_pending(engine)

    def no_torch() -> None:
        raise AssertionError("the model must not load while nothing is embedded")

    monkeypatch.setattr(service, "_one_thread", no_torch)
    searcher = Searcher(engine, Settings(data_dir=tmp_path, embed_background=False))
    searcher.warm()
    found = searcher.search("retrieval", "hybrid")
    assert len(found.hits) == 1 and found.semantic_unavailable == service.NOTHING_EMBEDDED


def test_bare_records_come_after_fuller_ones_unless_they_are_the_best_match(engine: Engine, tmp_path: Path) -> None:
    """A title-and-abstract-only record (like the seed list's) moves BARE_SINK places down, unless it is the
    best keyword match."""
    from dailypapers.sources.record import Author

    def paper(i: int, title: str, bare: bool) -> PaperRecord:
        more = (
            {} if bare else {"authors": [Author("Ada Lovelace")], "published": dt.datetime(2026, 1, 2, tzinfo=dt.UTC)}
        )
        return PaperRecord(id=f"2601.{i:05d}", source="test", title=title, abstract="About retrieval.", **more)

    records = [paper(1, "Retrieval retrieval retrieval agents", True), paper(2, "Retrieval retrieval agents", True)]
    records += [paper(i, f"Retrieval study {i}", False) for i in range(3, 4 + service.BARE_SINK)]
    ingest_items(engine, records, ImportReport())
    search_index.index_pending(engine)
    settings = Settings(data_dir=tmp_path, embed_model=str(tmp_path / "no-such-model"), embed_background=False)
    hits = Searcher(engine, settings).search("retrieval agents", "keyword", limit=40).hits
    ids = [h.keyword_rank for h in hits]
    assert ids[0] == 1  # the best match stays first, bare or not
    assert ids.index(2) == 1 + service.BARE_SINK  # the other bare one comes after a page of fuller papers
