"""Semantic search over paper embeddings: nearest papers to a query, a vector, or another paper.

On PostgreSQL the database answers through pgvector's HNSW index and there is nothing to keep in step.
On SQLite each process holds a usearch index (search.ann) built from `paper_embeddings` and kept in a
file under the data directory. The database stays the truth: on open the file is loaded and caught up
with the rows written after its watermark (the embedding seq it was saved at), or rebuilt when it is
missing, damaged, from another database or model, or disagrees with the database's count. Candidates
from the index are re-scored with the stored float32 vectors, so similarities are exact and papers
deleted since the last catch-up never come back.
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections import OrderedDict
from typing import TYPE_CHECKING

import numpy as np

from dailypapers.config import Settings
from dailypapers.search.ann import IndexFile, VectorIndex
from dailypapers.search.embedder import Embedder, EmbedderError, get_embedder
from dailypapers.store import vectors
from dailypapers.store.db import read_tx
from dailypapers.store.schema import EMBEDDING_DIM

if TYPE_CHECKING:
    from sqlalchemy import Engine

log = logging.getLogger(__name__)

CHUNK = 20_000  # rows read per transaction when catching up
SAVE_EVERY = 5_000  # vectors changed since the last save that make the background save the file
SAVE_INTERVAL = 300.0  # seconds after which any change is saved by the background
QUERY_CACHE = 256


def _unit(vector: np.ndarray) -> np.ndarray:
    vector = np.asarray(vector, dtype=np.float32).reshape(-1)
    return vector / max(float(np.linalg.norm(vector)), 1e-12)


class _AnnState:
    """One SQLite database's usearch index for one model, shared by a process's SemanticIndex objects."""

    def __init__(self, engine: Engine, model: str, dim: int, file: IndexFile | None) -> None:
        self.engine = engine
        self.model = model
        self.dim = dim
        self.file = file
        self.index: VectorIndex | None = None
        self.store_id = 0
        self.lock = threading.Lock()  # the index between searches and changes
        self.updating = threading.RLock()  # one catch-up, rebuild or save at a time
        self.dirty = 0
        self.last_save = time.monotonic()
        self.loaded_from_file = False
        self.rebuilt = False  # the file is not to be trusted: write over it

    def ready(self) -> VectorIndex:
        if self.index is None:
            with self.updating:
                if self.index is None:
                    self._open()
        assert self.index is not None
        return self.index

    def _open(self) -> None:
        with read_tx(self.engine) as conn:
            self.store_id = vectors.store_id(conn)
            top = vectors.current_seq(conn)
        loaded = self.file.load(self.dim, self.store_id) if self.file else None
        if loaded is not None and loaded.seq > top:
            log.warning("semantic index file is ahead of the database (seq %d > %d): rebuilding", loaded.seq, top)
            loaded = None
        self.loaded_from_file = loaded is not None
        self.index = loaded or VectorIndex(self.dim)
        for _ in range(3):
            self.catch_up(save=False)
            if self._agrees() is not False:
                break
            log.warning("semantic index disagrees with the database: rebuilding")
            with self.lock:
                self.index = VectorIndex(self.dim)
            self.loaded_from_file = False
        if not self.loaded_from_file:
            self.rebuilt = True
            self.save()

    def _agrees(self) -> bool | None:
        """Whether the index holds exactly as many vectors as the database (None: it moved on meanwhile)."""
        assert self.index is not None
        with read_tx(self.engine) as conn:
            if vectors.current_seq(conn) != self.index.seq:
                return None
            stored = vectors.count(conn, self.model)
        return stored == len(self.index)

    def catch_up(self, *, save: bool, wait: bool = True) -> int:
        """Apply what was written to the database since the index's seq; returns how many rows changed.
        Without `wait`, return at once (0) when another thread is catching up or saving."""
        if not self.updating.acquire(blocking=wait):
            return 0
        try:
            return self._catch_up(save)
        finally:
            self.updating.release()

    def _catch_up(self, save: bool) -> int:
        index = self.index
        if index is None:
            self.ready()
            return 0
        changed = 0
        while True:
            with read_tx(self.engine) as conn:
                top = vectors.current_seq(conn)
                if top < index.seq:  # the database went back (restored from a backup): start over
                    log.warning("embedding seq went back from %d to %d: rebuilding", index.seq, top)
                    index = VectorIndex(self.dim)
                    self.index = index
                    self.rebuilt = True
                if top == index.seq:
                    break
                upto = min(top, vectors.seq_after(conn, index.seq, CHUNK))
                delta = vectors.changes(conn, self.model, self.dim, index.seq, upto)
            with self.lock:
                index.remove(delta.dropped)
                index.upsert(delta.keys, delta.vectors)
                index.seq = upto
            changed += len(delta.keys) + len(delta.dropped)
        self.dirty += changed
        if save and self.dirty and (self.dirty >= SAVE_EVERY or time.monotonic() - self.last_save >= SAVE_INTERVAL):
            self.save()
        return changed

    def save(self) -> bool:
        """Write the index file now (if this process's index is newer than the file's)."""
        with self.updating:
            if self.file is None or self.index is None:
                return False
            try:
                saved = self.file.save(self.index, self.store_id, force=self.rebuilt)
            except OSError as exc:
                log.warning("cannot save the semantic index in %s (%s): keeping it in memory", self.file.directory, exc)
                self.file = None
                return False
            self.dirty = 0
            self.rebuilt = False
            self.last_save = time.monotonic()
            return saved


_states: weakref.WeakValueDictionary[tuple[str, str, str], _AnnState] = weakref.WeakValueDictionary()
_states_lock = threading.Lock()


def _shared_state(engine: Engine, settings: Settings, model: str, dim: int) -> _AnnState:
    url = engine.url.render_as_string(hide_password=True)
    key = (url, model, str(settings.data_dir.resolve()))
    with _states_lock:
        state = _states.get(key)
        if state is None or state.dim != dim:
            in_memory = engine.url.database in (None, "", ":memory:")
            file = None if in_memory else IndexFile(settings.data_dir / "semantic", model)
            state = _AnnState(engine, model, dim, file)
            _states[key] = state
        return state


def catch_up_all(engine: Engine) -> int:
    """Bring every index of this process on `engine`'s database up to date (and saved now and then)."""
    url = engine.url.render_as_string(hide_password=True)
    with _states_lock:
        states = [s for k, s in _states.items() if k[0] == url]
    return sum(s.catch_up(save=True) for s in states if s.index is not None)


def save_all(engine: Engine) -> None:
    """Write this process's indexes on `engine`'s database to their files, where they changed (at shutdown)."""
    url = engine.url.render_as_string(hide_password=True)
    with _states_lock:
        states = [s for k, s in _states.items() if k[0] == url]
    for state in states:
        if state.dirty:
            state.save()


class SemanticIndex:
    """Per process. On SQLite: a usearch index file under data_dir, caught up from the DB. On PostgreSQL: pgvector."""

    def __init__(self, engine: Engine, settings: Settings, embedder: Embedder | None = None) -> None:
        self.engine = engine
        self.settings = settings
        self._embedder = embedder or get_embedder(settings)  # cheap: the model loads on first encode
        self.model = self._embedder.name
        self.dim = self._embedder.dim
        self.postgres = engine.dialect.name == "postgresql"
        if self.postgres and self.dim != EMBEDDING_DIM:
            raise EmbedderError(
                f"{self.model} makes {self.dim}-dimension vectors; the PostgreSQL column holds {EMBEDDING_DIM}"
            )
        self._state = None if self.postgres else _shared_state(engine, settings, self.model, self.dim)
        self.min_interval = 1.0
        self._last_refresh = 0.0
        self._queries: OrderedDict[str, np.ndarray] = OrderedDict()
        self._queries_lock = threading.Lock()

    @property
    def embedder(self) -> Embedder:
        return self._embedder

    def search(self, query: str, k: int) -> list[tuple[int, float]]:
        """(paper_pk, cosine similarity) of the `k` papers nearest to `query`, best first."""
        query = " ".join(query.split())
        if not query or k <= 0:
            return []
        return self.search_vector(self._query_vector(query), k)

    def search_vector(self, vector: np.ndarray, k: int, *, exclude: int | None = None) -> list[tuple[int, float]]:
        """(paper_pk, cosine similarity) of the `k` papers nearest to `vector`, best first."""
        if k <= 0:
            return []
        vector = _unit(vector)
        if self.postgres:
            with read_tx(self.engine) as conn:
                return vectors.nearest(conn, self.model, vector, k, exclude)
        assert self._state is not None
        index = self._state.ready()
        with self._state.lock:
            found = index.search(vector, max(3 * k, k + 30) + (exclude is not None))
        pks = [pk for pk, _ in found if pk != exclude]
        with read_tx(self.engine) as conn:
            stored = vectors.vectors_of(conn, self.model, pks, self.dim)
        scored = [(pk, float(stored[pk] @ vector)) for pk in pks if pk in stored]
        scored.sort(key=lambda item: (-item[1], item[0]))
        return scored[:k]

    def similar(self, paper_pk: int, k: int) -> list[tuple[int, float]]:
        """The `k` papers nearest to a stored paper, itself excluded; [] if it has no embedding."""
        with read_tx(self.engine) as conn:
            vector = vectors.vectors_of(conn, self.model, [paper_pk], self.dim).get(paper_pk)
        if vector is None:
            return []
        return self.search_vector(vector, k, exclude=paper_pk)

    def refresh(self) -> None:
        """Catch up with the database; at most once per `min_interval` seconds, and cheap when nothing changed."""
        if self._state is None:
            return
        now = time.monotonic()
        if now - self._last_refresh < self.min_interval:
            return
        self._last_refresh = now
        if self._state.index is None:
            self._state.ready()
        else:
            self._state.catch_up(save=False, wait=False)  # a query never waits for a save

    def catch_up(self) -> int:
        """Catch up now (opening the index if needed); returns how many rows changed. No-op on PostgreSQL."""
        if self._state is None:
            return 0
        if self._state.index is None:
            self._state.ready()
            return 0
        return self._state.catch_up(save=False)

    def save(self) -> bool:
        """Write the index file now (SQLite); False when there is nothing newer to write."""
        return self._state.save() if self._state is not None else False

    @property
    def loaded_from_file(self) -> bool:
        """Whether the index came from its file (rather than being rebuilt from the database)."""
        return bool(self._state and self._state.loaded_from_file)

    def keys(self) -> set[int]:
        """The paper pks the index holds (SQLite; on PostgreSQL those with an embedding by the model)."""
        if self._state is None:
            with read_tx(self.engine) as conn:
                return vectors.keys(conn, self.model)
        index = self._state.ready()
        with self._state.lock:
            return index.keys()

    def _query_vector(self, query: str) -> np.ndarray:
        with self._queries_lock:
            if query in self._queries:
                self._queries.move_to_end(query)
                return self._queries[query]
        vector = _unit(self._embedder.encode([query])[0])
        with self._queries_lock:
            self._queries[query] = vector
            while len(self._queries) > QUERY_CACHE:
                self._queries.popitem(last=False)
        return vector
