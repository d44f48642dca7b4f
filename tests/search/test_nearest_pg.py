"""PostgreSQL's nearest neighbours (store.vectors.nearest): the HNSW scan keeps more candidates in a larger
store, and goes on (pgvector's iterative scan) while its conditions leave fewer than asked for."""

from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import Engine

from dailypapers.store import vectors
from dailypapers.store.db import read_tx, write_tx
from tests.support.semantic import add_bare_papers, store_vectors, unit_vectors

ONLY_HNSW = "SET LOCAL enable_seqscan = off"


def test_the_scan_deepens_with_the_papers_and_the_neighbours_asked_for() -> None:
    assert vectors.ef_search(10, 500) == vectors.ef_search(10, 100_000) == 100
    assert vectors.ef_search(10, 400_000) == 400 and vectors.ef_search(10, 1_000_000) == 1_000
    assert vectors.ef_search(100, 10_000) == 202 and vectors.ef_search(600, 10) == vectors.ef_search(10, 10**8) == 1_000


def test_other_models_rows_do_not_cut_the_neighbours_short(pg: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    """Three rows in four are another model's, filtered out after the index scan: a scan that stopped at
    ef_search candidates returns about a quarter of them; the iterative scan returns all that was asked."""
    pks = add_bare_papers(pg, 400)
    matrix = unit_vectors(400, seed=5)
    ours = pks[::4]
    store_vectors(pg, "model-a", ours, matrix[::4])
    store_vectors(pg, "model-b", [pk for pk in pks if pk not in set(ours)], np.delete(matrix, np.s_[::4], axis=0))
    monkeypatch.setattr(vectors, "EF_MIN", 40)
    with write_tx(pg) as conn:  # (this database's own: its planner would sort the 100 rows of model-a)
        conn.exec_driver_sql("DROP INDEX ix_paper_embeddings_seq")
    with read_tx(pg) as conn:
        conn.exec_driver_sql(ONLY_HNSW)  # 400 rows: the HNSW index, as with a million
        assert vectors._iterative_scans(conn)  # the test server's pgvector is 0.8 or later
        found = vectors.nearest(conn, "model-a", matrix[8], 60)
        depth = conn.exec_driver_sql("SELECT current_setting('hnsw.ef_search')").scalar()
    assert depth == "122"  # 2k + 2 for k = 60, above the floor
    assert len(found) == 60 and {pk for pk, _ in found} <= set(ours)
    assert [s for _, s in found] == sorted((s for _, s in found), reverse=True)
    exact = {ours[i] for i in np.argsort(-(matrix[::4] @ matrix[8]))[:60]}
    assert len({pk for pk, _ in found} & exact) >= 57  # approximate, but nearly exact
    assert found[0] == (pks[8], pytest.approx(1.0, abs=1e-5))
    monkeypatch.setitem(vectors._iterative, str(pg.url), False)  # as with pgvector before 0.8
    with read_tx(pg) as conn:
        conn.exec_driver_sql(ONLY_HNSW)
        assert len(vectors.nearest(conn, "model-a", matrix[8], 60)) < 60
