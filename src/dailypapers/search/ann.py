"""An approximate-nearest-neighbour index of paper vectors (usearch HNSW, cosine, int8) and its file.

The file is a cache of the database, never the truth: next to it a small JSON file says what it holds
(model, dimension, which database, the embedding seq it is complete up to, how many vectors, a CRC of the
file). Saving writes a new index file, then replaces the JSON atomically (temp file + rename), then
removes older index files, all under an exclusive file lock; loading reads under a shared lock and
refuses anything that does not match, so the caller rebuilds from the database instead.

int8 keeps a million 384-dimension vectors near half a gigabyte; its few-percent recall loss at a
given depth is won back by looking a few times deeper and re-scoring with the stored float32 vectors.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import uuid
import zlib
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from dailypapers.files import fsync_dir

log = logging.getLogger(__name__)

FORMAT = 1
DTYPE = "i8"
CONNECTIVITY = 16
EXPANSION_ADD = 128
EXPANSION_SEARCH = 1024  # with re-scoring of 3k candidates: ANN recall@10 0.967 at 1M (docs/benchmarks.md)


@dataclass(frozen=True)
class Meta:
    """What an index file holds."""

    model: str
    dim: int
    store_id: int
    seq: int
    count: int
    file: str
    crc32: int
    dtype: str = DTYPE
    format: int = FORMAT


class VectorIndex:
    """A usearch index of (paper pk -> vector), complete up to embedding `seq`. Not thread-safe."""

    def __init__(self, dim: int, *, seq: int = 0, index: Any = None) -> None:
        from usearch.index import Index

        self.dim = dim
        self.seq = seq
        self.index = index or Index(
            ndim=dim,
            metric="cos",
            dtype=DTYPE,
            connectivity=CONNECTIVITY,
            expansion_add=EXPANSION_ADD,
            expansion_search=EXPANSION_SEARCH,
        )

    def __len__(self) -> int:
        return len(self.index)

    def __contains__(self, key: int) -> bool:
        return bool(self.index.contains(int(key)))

    def keys(self) -> set[int]:
        return {int(k) for k in self.index.keys}

    def upsert(self, keys: np.ndarray, vectors: np.ndarray) -> None:
        """Add these vectors, replacing any already held under the same keys."""
        if not len(keys):
            return
        keys = np.asarray(keys, dtype=np.uint64)
        self.remove(keys)
        self.index.add(keys, np.ascontiguousarray(vectors, dtype=np.float32))

    def remove(self, keys: np.ndarray) -> None:
        if not len(keys) or not len(self.index):
            return
        keys = np.asarray(keys, dtype=np.uint64)
        present = keys[np.atleast_1d(self.index.contains(keys))]
        if len(present):
            self.index.remove(present)

    def search(self, vector: np.ndarray, k: int) -> list[tuple[int, float]]:
        """About the `k` nearest (key, cosine similarity), best first; similarities from int8 vectors."""
        if not len(self.index) or k <= 0:
            return []
        found = self.index.search(np.asarray(vector, dtype=np.float32), min(k, len(self.index)))
        return [(int(key), 1.0 - float(d)) for key, d in zip(found.keys, found.distances, strict=True)]


def _slug(model: str) -> str:
    readable = re.sub(r"[^A-Za-z0-9._-]+", "_", model).strip("._")[:60] or "model"
    return f"{readable}-{hashlib.sha1(model.encode()).hexdigest()[:8]}"


def _crc32(path: Path) -> int:
    crc = 0
    with path.open("rb") as f:
        while chunk := f.read(1 << 22):
            crc = zlib.crc32(chunk, crc)
    return crc


class IndexFile:
    """Where one model's index of one database lives: `directory/<model>.json` and the file it names."""

    def __init__(self, directory: Path, model: str) -> None:
        self.directory = directory
        self.model = model
        self.slug = _slug(model)
        self.meta_path = directory / f"{self.slug}.json"
        self.lock_path = directory / f"{self.slug}.lock"

    @contextlib.contextmanager
    def _locked(self, exclusive: bool) -> Iterator[None]:
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not POSIX: one process at a time is the user's job
            yield
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        with self.lock_path.open("a+") as f:
            fcntl.flock(f, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
            try:
                yield
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)

    def read_meta(self) -> Meta | None:
        try:
            meta = Meta(**json.loads(self.meta_path.read_text()))
        except (OSError, ValueError, TypeError):
            return None
        return meta if meta.format == FORMAT else None

    def load(self, dim: int, store_id: int) -> VectorIndex | None:
        """The saved index, if it is for this model, dimension and database and intact; else None."""
        if not self.meta_path.exists():
            return None
        from usearch.index import Index

        with self._locked(exclusive=False):
            meta = self.read_meta()
            problem = self._check(meta, dim, store_id)
            if meta is None or problem:
                log.warning("semantic index file %s not used: %s", self.meta_path, problem or "unreadable")
                return None
            path = self.directory / meta.file
            try:
                index = Index.restore(str(path))
            except Exception as exc:  # a damaged file is only a cache: rebuild
                log.warning("semantic index file %s not used: %s", path, exc)
                return None
        if index is None or index.ndim != dim or len(index) != meta.count:
            log.warning("semantic index file %s not used: does not hold what %s says", path, self.meta_path)
            return None
        index.expansion_search = EXPANSION_SEARCH  # a search setting: today's, not the one saved with the file
        return VectorIndex(dim, seq=meta.seq, index=index)

    def _check(self, meta: Meta | None, dim: int, store_id: int) -> str | None:
        if meta is None:
            return "unreadable description"
        if (meta.model, meta.dim, meta.dtype) != (self.model, dim, DTYPE):
            return f"built for {meta.model} ({meta.dim} {meta.dtype}), not {self.model} ({dim} {DTYPE})"
        if meta.store_id != store_id:
            return "built from another database"
        if Path(meta.file).name != meta.file:
            return f"bad file name {meta.file!r}"
        path = self.directory / meta.file
        if not path.is_file():
            return f"{path.name} is missing"
        if _crc32(path) != meta.crc32:
            return f"{path.name} is damaged (CRC mismatch)"
        return None

    def save(self, index: VectorIndex, store_id: int, *, force: bool = False) -> bool:
        """Write `index` unless the file already holds as much (`force`: it was found unusable); False when
        it was left as it is."""
        with self._locked(exclusive=True):
            current = self.read_meta()
            if (
                not force
                and current is not None
                and current.store_id == store_id
                and current.model == self.model
                and current.seq >= index.seq
                and (self.directory / current.file).is_file()
            ):
                return False
            name = f"{self.slug}-{index.seq}-{uuid.uuid4().hex[:8]}.usearch"
            tmp = self.directory / f"{name}.tmp"
            index.index.save(str(tmp))
            with tmp.open("rb+") as f:
                os.fsync(f.fileno())
            crc = _crc32(tmp)
            os.replace(tmp, self.directory / name)
            meta = Meta(self.model, index.dim, store_id, index.seq, len(index), name, crc)
            meta_tmp = self.meta_path.with_suffix(f".json.{os.getpid()}.tmp")
            meta_tmp.write_text(json.dumps(asdict(meta)))
            with meta_tmp.open("rb+") as f:
                os.fsync(f.fileno())
            os.replace(meta_tmp, self.meta_path)
            fsync_dir(self.directory)
            for old in self.directory.glob(f"{self.slug}-*.usearch*"):
                if old.name != name:
                    old.unlink(missing_ok=True)
        return True
