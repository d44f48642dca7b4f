"""One search for every caller (pages, API, evaluation): keyword, semantic, or both fused.

Keyword hits come from the store's full-text index; semantic hits from the embedding index, with the
query's filters (author, category, dates) applied to them afterwards. Hybrid fuses the two rankings by
reciprocal rank fusion (docs/search.md has the measurements behind the choice and its constant, at 451
and at 11,000 papers).
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from dailypapers import telemetry
from dailypapers.config import Settings
from dailypapers.search.query import Query, parse
from dailypapers.store import keyword, vectors
from dailypapers.store.db import read_tx

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from dailypapers.search.semantic import SemanticIndex

log = logging.getLogger(__name__)
MODES = ("hybrid", "keyword", "semantic")
# How deep each ranking goes before fusion, and RRF's constant k (docs/search.md).
DEPTH = 100
RRF_K = 10  # best of 10/20/30/60 on the tuning queries at 451 and at 11,066 papers
MAX_RESULTS = 1000
# Below this cosine similarity a paper is not a match, however near it is: gibberish and off-topic
# queries score at most ~0.26 against the demo papers, the evaluation's targets at least ~0.32.
MIN_SIMILARITY = 0.3
NOTHING_EMBEDDED = "no papers have been embedded yet"


BARE_SINK = 20  # places a bare record moves down, a page of results (Searcher._bare_later)
CLOSE = 0.75  # a cosine similarity this high is what the reader asked for
TOPIC_WORDS = 3  # queries this short browse a topic: bare records sink there (Searcher._bare_later)


@dataclass(frozen=True)
class Hit:
    """One result: the paper, its fused score, and where each method ranked it (1-based)."""

    pk: int
    score: float
    keyword_rank: int | None = None
    semantic_rank: int | None = None
    similarity: float | None = None


@dataclass
class Results:
    query: Query
    mode: str
    hits: list[Hit] = field(default_factory=list)
    # Set when semantic search was asked for but could not run (no model, no embeddings yet).
    semantic_unavailable: str | None = None


def rrf(
    rankings: Sequence[Sequence[int]], k: int = RRF_K, weights: Sequence[float] | None = None
) -> list[tuple[int, float]]:
    """Reciprocal rank fusion: sum of weight / (k + rank) over the rankings that hold each item."""
    weights = weights or [1.0] * len(rankings)
    scores: dict[int, float] = {}
    for ranking, weight in zip(rankings, weights, strict=True):
        for rank, pk in enumerate(ranking, 1):
            scores[pk] = scores.get(pk, 0.0) + weight / (k + rank)
    return sorted(scores.items(), key=lambda item: (-item[1], item[0]))


@functools.cache
def _one_thread() -> None:
    """Embed queries on one thread: a short query takes ~15 ms so, while torch's default (a thread per
    core, spinning while it waits) took 30 ms at best and seconds whenever anything else used the CPU.
    Torch's setting is per process: a server's own background embedding runs single-threaded too, which
    suits the daily intake; bulk backfills run in `dailypapers embed`, with every core."""
    import torch

    torch.set_num_threads(1)


class Searcher:
    """Per process: the store, and the semantic index once something asks for it."""

    def __init__(self, engine: Engine, settings: Settings, semantic: SemanticIndex | None = None) -> None:
        self.engine = engine
        self.settings = settings
        self._semantic = semantic
        self._lock = threading.Lock()
        self._semantic_error: str | None = None
        self._vectors_seen = False
        self.warmed = threading.Event()  # set once `warm` has run: the model is loaded if it will be needed

    def _has_vectors(self, index: SemanticIndex) -> bool:
        """Whether the store holds any embeddings for the model: without them, loading it (seconds) is
        pointless. Once seen, they are taken to stay."""
        if not self._vectors_seen:
            with read_tx(self.engine) as conn:
                self._vectors_seen = vectors.any_stored(conn, index.model)
        return self._vectors_seen

    def semantic(self) -> SemanticIndex | None:
        """The embedding index, built on first use; None (with the reason kept) if it cannot be."""
        if self._semantic is None and self._semantic_error is None:
            with self._lock:
                if self._semantic is None and self._semantic_error is None:
                    try:
                        from dailypapers.search.semantic import SemanticIndex

                        self._semantic = SemanticIndex(self.engine, self.settings)
                    except Exception as exc:  # keyword search keeps working without a model
                        log.exception("semantic search is unavailable")
                        self._semantic_error = f"semantic search is unavailable: {exc}"
        return self._semantic

    def warm(self) -> None:
        """Load the model and the index now (at server start, in the background), not on the first query."""
        try:
            index = self.semantic()
            if index is not None and self._has_vectors(index):
                _one_thread()
                index.refresh()
                index.search("warm up", 1)
        except Exception:  # searches say why semantic search is unavailable; keyword search goes on
            log.exception("could not warm up semantic search")
        finally:
            self.warmed.set()

    def search(self, raw: str | Query, mode: str = "hybrid", limit: int = 20, offset: int = 0) -> Results:
        """Hits `offset`..`offset+limit` for `raw` in `mode` (one of MODES)."""
        if mode not in MODES:
            raise ValueError(f"mode is one of {', '.join(MODES)}, not {mode!r}")
        began = time.perf_counter()
        try:
            return self._search(raw, mode, limit, offset)
        finally:
            telemetry.SEARCH_SECONDS.labels(mode).observe(time.perf_counter() - began)

    def _search(self, raw: str | Query, mode: str, limit: int, offset: int) -> Results:
        q = raw if isinstance(raw, Query) else parse(raw)
        results = Results(q, mode)
        if q.is_empty:
            return results
        wanted = min(offset + limit, MAX_RESULTS)
        depth = max(DEPTH, wanted)
        words = bool(q.text.strip())
        keyword_pks: list[int] = []
        semantic_hits: list[tuple[int, float]] = []
        if mode in ("keyword", "hybrid") or not words:
            with read_tx(self.engine) as conn:
                keyword_pks = keyword.search(conn, q, limit=depth)
        if mode in ("semantic", "hybrid") and words:
            semantic_hits, results.semantic_unavailable = self._semantic_hits(q, depth)
        # keyword_pks is empty in semantic mode unless the query is only filters; semantic_hits is empty
        # when search by meaning could not run or nothing was similar enough.
        if mode == "keyword" or not semantic_hits:
            ranked = [(pk, 1.0 / (RRF_K + rank)) for rank, pk in enumerate(keyword_pks, 1)]
        elif mode == "semantic" or not keyword_pks:
            ranked = list(semantic_hits)
        else:
            ranked = rrf([keyword_pks, [pk for pk, _ in semantic_hits]])
        kw_rank = {pk: rank for rank, pk in enumerate(keyword_pks, 1)}
        sem = {pk: (rank, sim) for rank, (pk, sim) in enumerate(semantic_hits, 1)}
        best = {pk for pk, rank in kw_rank.items() if rank == 1} | {pk for pk, (_, sim) in sem.items() if sim >= CLOSE}
        if len(q.terms) + len(q.phrases) <= TOPIC_WORDS:  # browsing a topic, not describing one paper
            ranked = self._bare_later(ranked, keep=best)
        results.hits = [
            Hit(pk, score, kw_rank.get(pk), sem[pk][0] if pk in sem else None, sem[pk][1] if pk in sem else None)
            for pk, score in ranked[offset:wanted]
        ]
        return results

    def _bare_later(self, ranked: list[tuple[int, float]], keep: set[int]) -> list[tuple[int, float]]:
        """`ranked` with bare records (no authors, no date: `keyword.bare_among`) moved BARE_SINK places down,
        unless in `keep` (the best keyword match, or a very close one by meaning: what the reader asked for).
        A reader looks for papers they can cite and open; a title-only record comes after fuller ones."""
        if not ranked:
            return ranked
        with read_tx(self.engine) as conn:
            bare = keyword.bare_among(conn, [pk for pk, _ in ranked]) - keep
        if not bare:
            return ranked
        order = sorted(range(len(ranked)), key=lambda i: i + BARE_SINK + 0.5 if ranked[i][0] in bare else i)
        return [ranked[i] for i in order]

    def _semantic_hits(self, q: Query, depth: int) -> tuple[list[tuple[int, float]], str | None]:
        index = self.semantic()
        if index is None:
            return [], self._semantic_error
        if not self._has_vectors(index):
            return [], NOTHING_EMBEDDED
        try:
            _one_thread()
            index.refresh()
            # Filters cut the nearest neighbours down; look deeper when there are any.
            found = index.search(q.text, depth * 4 if q.has_filters else depth)
        except Exception as exc:
            log.exception("semantic search failed")
            return [], f"semantic search failed: {exc}"
        if not found:
            return [], NOTHING_EMBEDDED
        found = [(pk, sim) for pk, sim in found if sim >= MIN_SIMILARITY]
        if q.has_filters:
            with read_tx(self.engine) as conn:
                allowed = keyword.matching(conn, q, [pk for pk, _ in found])
            found = [(pk, sim) for pk, sim in found if pk in allowed]
        return found[:depth], None

    def similar(self, paper_pk: int, limit: int = 10) -> list[tuple[int, float]]:
        """The papers nearest to `paper_pk` by meaning; [] when it has no embedding (yet)."""
        index = self.semantic()
        if index is None:
            return []
        index.refresh()
        return index.similar(paper_pk, limit)
