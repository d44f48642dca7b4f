"""Semantic search and similar papers on the demo data, on SQLite (usearch) and PostgreSQL (pgvector)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import Engine, text

from dailypapers.search.embedder import DEFAULT_MODEL, Embedder
from dailypapers.search.semantic import SemanticIndex
from dailypapers.store import vectors
from dailypapers.store.db import make_engine, read_tx, write_tx
from tests.support.databases import new_database
from tests.support.semantic import (
    HashEmbedder,
    add_bare_papers,
    settings_for,
    store_vectors,
    unit_vectors,
)


@pytest.fixture(scope="module")
def demo_index(demo_engine: Engine, embedder: Embedder, tmp_path_factory: pytest.TempPathFactory) -> SemanticIndex:
    index = SemanticIndex(demo_engine, settings_for(tmp_path_factory.mktemp("semantic")), embedder)
    index.catch_up()
    return index


def _pk(engine: Engine, title_start: str) -> int:
    with read_tx(engine) as conn:
        return int(
            conn.execute(text("SELECT pk FROM papers WHERE title LIKE :t"), {"t": f"{title_start}%"}).scalar_one()
        )


def _titles(engine: Engine, pks: list[int]) -> list[str]:
    with read_tx(engine) as conn:
        by_pk = dict(conn.execute(text("SELECT pk, title FROM papers")).all())
    return [by_pk[pk] for pk in pks]


@pytest.mark.parametrize(
    ("query", "title"),
    [
        (
            "learn several separate visual concepts from one reference picture for customized image synthesis",
            "Attention Calibration for Disentangled Text-to-Image Personalization",
        ),
        (
            "does augmenting a small training set help prompt tuning and low-rank adapters",
            "Effectiveness of Data Augmentation for Parameter Efficient Tuning",
        ),
        (
            "when a new fact is learned by gradient descent it leaks into unrelated answers",
            "How new data permeates LLM knowledge",
        ),
    ],
)
def test_a_paraphrase_finds_the_paper(demo_index: SemanticIndex, demo_engine: Engine, query: str, title: str) -> None:
    hits = demo_index.search(query, 3)
    assert len(hits) == 3
    assert _pk(demo_engine, title) in [pk for pk, _ in hits], _titles(demo_engine, [pk for pk, _ in hits])
    sims = [s for _, s in hits]
    assert sims == sorted(sims, reverse=True) and all(-1.0 <= s <= 1.0 for s in sims)


def test_similar_papers_exclude_the_paper_and_are_related(demo_index: SemanticIndex, demo_engine: Engine) -> None:
    pk = _pk(demo_engine, "Fine-Grained Guidance for Retrievers")
    similar = demo_index.similar(pk, 8)
    assert len(similar) == 8 and pk not in [p for p, _ in similar]
    titles = _titles(demo_engine, [p for p, _ in similar])
    assert sum(("Retriev" in t or "RAG" in t) for t in titles) >= 2, titles
    assert demo_index.similar(10**9, 5) == []


def test_nearest_neighbours_agree_with_exact_search(demo_index: SemanticIndex, demo_engine: Engine) -> None:
    with read_tx(demo_engine) as conn:
        keys = sorted(vectors.keys(conn, DEFAULT_MODEL))
        matrix = vectors.vectors_of(conn, DEFAULT_MODEL, keys, 384)
    assert len(keys) == 451
    all_vectors = np.stack([matrix[k] for k in keys])
    found = 0
    for pk in keys[::23]:
        exact = all_vectors @ matrix[pk]
        order = [keys[i] for i in np.argsort(-exact) if keys[i] != pk][:10]
        got = demo_index.similar(pk, 10)
        found += len({p for p, _ in got} & set(order))
        # Similarities are the exact cosines of the stored vectors.
        for p, sim in got:
            assert sim == pytest.approx(float(matrix[p] @ matrix[pk]), abs=1e-4)
    assert found >= 0.95 * 10 * len(keys[::23])


def test_deleted_papers_disappear_and_new_ones_appear(engine: Engine, tmp_path: Path) -> None:
    model = HashEmbedder()
    pks = add_bare_papers(engine, 30)
    matrix = unit_vectors(30)
    store_vectors(engine, model.name, pks, matrix)
    index = SemanticIndex(engine, settings_for(tmp_path), model)
    index.min_interval = 0.0
    assert index.search_vector(matrix[4], 1)[0][0] == pks[4]
    with write_tx(engine) as conn:
        conn.execute(text("DELETE FROM papers WHERE pk = :pk"), {"pk": pks[4]})
    # Even before the index catches up, a deleted paper is not returned.
    assert pks[4] not in [pk for pk, _ in index.search_vector(matrix[4], 5)]
    more = add_bare_papers(engine, 2, prefix="new")
    store_vectors(engine, model.name, more, matrix[:2] * -1)
    index.refresh()
    assert index.keys() == set(pks) - {pks[4]} | set(more)
    assert index.search_vector(-matrix[1], 1)[0][0] == more[1]
    assert index.similar(more[0], 1)[0][0] != more[0]


def test_query_text_is_embedded_once(engine: Engine, tmp_path: Path) -> None:
    model = HashEmbedder()
    pks = add_bare_papers(engine, 3)
    store_vectors(engine, model.name, pks, model.encode(["alpha", "beta", "gamma"]))
    index = SemanticIndex(engine, settings_for(tmp_path), model)
    model.texts.clear()
    assert index.search("beta", 1)[0][0] == pks[1]
    assert index.search("  beta ", 1)[0][0] == pks[1]
    assert model.texts == ["beta"]
    assert index.search("   ", 5) == [] and index.search("beta", 0) == []


def test_postgresql_answers_through_the_hnsw_index(request: pytest.FixtureRequest, tmp_path: Path) -> None:
    engine = make_engine(new_database("postgresql", request, tmp_path))
    model = HashEmbedder()
    pks = add_bare_papers(engine, 50)
    matrix = unit_vectors(50, seed=3)
    store_vectors(engine, model.name, pks, matrix)
    index = SemanticIndex(engine, settings_for(tmp_path), model)
    hits = index.search_vector(matrix[7], 5)
    exact = [pks[i] for i in np.argsort(-(matrix @ matrix[7]))[:5]]
    assert [pk for pk, _ in hits] == exact
    assert hits[0][1] == pytest.approx(1.0, abs=1e-5)
    with read_tx(engine) as conn:
        conn.execute(text("SET LOCAL enable_seqscan = off"))
        plan = "\n".join(
            r[0]
            for r in conn.execute(
                text("EXPLAIN SELECT paper_pk FROM paper_embeddings ORDER BY vector <=> CAST(:q AS vector) LIMIT 5"),
                {"q": "[" + ",".join(str(float(x)) for x in matrix[7]) + "]"},
            )
        )
    assert "ix_paper_embeddings_hnsw" in plan, plan
    engine.dispose()
