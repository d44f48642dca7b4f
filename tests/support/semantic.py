"""Helpers for the semantic search tests: the real model (search/conftest.py's `embedder` fixture loads it
once per test process), papers written through the ingest path, and a fast stand-in embedder for tests
about the index rather than the model."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from sqlalchemy import Engine, text

from dailypapers.config import Settings
from dailypapers.ingest.importer import ImportReport, ingest_items
from dailypapers.search.embedder import Embedder, get_embedder
from dailypapers.sources.record import PaperRecord
from dailypapers.store import vectors
from dailypapers.store.db import read_tx, write_tx

DIM = 384

# Small, distinct papers (real abstracts, shortened) for tests that embed with the real model.
PAPERS = {
    "2401.00001": (
        "Protein structure prediction with deep learning",
        "We predict the three-dimensional folded structure of proteins from their amino acid sequence "
        "with a neural network trained on solved structures.",
    ),
    "2401.00002": (
        "Coral reef bleaching under ocean warming",
        "Rising sea surface temperatures cause corals to expel their symbiotic algae; we survey reefs "
        "over ten years and model bleaching risk.",
    ),
    "2401.00003": (
        "Faster matrix multiplication on GPUs",
        "We present tiled kernels for dense matrix products on graphics processors that reach ninety "
        "percent of peak throughput.",
    ),
    "2401.00004": (
        "Retrieval-augmented generation for question answering",
        "A language model retrieves passages from a large corpus and conditions its answer on them, "
        "reducing hallucinations on open-domain questions.",
    ),
    "2401.00005": (
        "Sparse retrieval with learned term weights",
        "We learn term importance for inverted-index search, improving passage ranking for open-domain "
        "question answering at the cost of a small index.",
    ),
}


def settings_for(data_dir: Path, **fields: object) -> Settings:
    return Settings(data_dir=data_dir, embed_device="cpu", **fields)  # type: ignore[arg-type]


def load_embedder() -> Embedder:
    """The real all-MiniLM-L6-v2 on CPU, loaded and used once (get_embedder caches it per process)."""
    model = get_embedder(Settings(data_dir=Path("/nonexistent"), embed_device="cpu"))
    model.encode(["load the model"])
    return model


def add_papers(engine: Engine, papers: dict[str, tuple[str, str]]) -> dict[str, int]:
    """Write papers as an import does; returns their pks by id."""
    records = [PaperRecord(id=pid, source="test", title=t, abstract=a) for pid, (t, a) in papers.items()]
    ingest_items(engine, records, ImportReport())
    return pks_of(engine, list(papers))


def pks_of(engine: Engine, ids: Sequence[str]) -> dict[str, int]:
    with read_tx(engine) as conn:
        rows = conn.execute(text("SELECT id, pk FROM papers")).all()
    return {pid: pk for pid, pk in rows if pid in set(ids)}


def all_pks(engine: Engine) -> list[int]:
    with read_tx(engine) as conn:
        return [r[0] for r in conn.execute(text("SELECT pk FROM papers ORDER BY pk"))]


def add_bare_papers(engine: Engine, count: int, prefix: str = "x") -> list[int]:
    """`count` papers with throwaway text, for tests that store synthetic vectors."""
    add_papers(engine, {f"{prefix}-{i}": (f"Paper {prefix} {i}", f"Abstract {i}") for i in range(count)})
    with read_tx(engine) as conn:
        rows = conn.execute(text("SELECT pk FROM papers WHERE id LIKE :p ORDER BY pk"), {"p": f"{prefix}-%"})
        return [r[0] for r in rows]


def unit_vectors(count: int, seed: int = 0) -> np.ndarray:
    matrix = np.random.default_rng(seed).standard_normal((count, DIM)).astype(np.float32)
    return matrix / np.linalg.norm(matrix, axis=1, keepdims=True)


def store_vectors(engine: Engine, model: str, pks: Sequence[int], matrix: np.ndarray) -> None:
    """Write vectors for papers as the embedding job does (labelled with the papers' current hashes)."""
    with write_tx(engine) as conn:
        hashes = dict(conn.execute(text("SELECT pk, text_hash FROM papers")).all())
        vectors.write(conn, model, [(pk, hashes[pk]) for pk in pks], matrix)


def stored_keys(engine: Engine, model: str) -> set[int]:
    with read_tx(engine) as conn:
        return vectors.keys(conn, model)


class HashEmbedder:
    """A stand-in model: a fixed pseudo-random unit vector per text, instantly (counts its calls)."""

    def __init__(self, name: str = "test-model", dim: int = DIM) -> None:
        self.name = name
        self.dim = dim
        self.texts: list[str] = []

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        self.texts.extend(texts)
        rows = []
        for t in texts:
            seed = int.from_bytes(hashlib.blake2b(t.encode(), digest_size=8).digest(), "little")
            rows.append(np.random.default_rng(seed).standard_normal(self.dim))
        matrix = np.array(rows, dtype=np.float32).reshape(len(texts), self.dim)
        return matrix / np.linalg.norm(matrix, axis=1, keepdims=True)


class SlowHashEmbedder(HashEmbedder):
    """HashEmbedder taking `seconds` per batch, like a real model on a small CPU (for killing a worker mid-job)."""

    def __init__(self, seconds: float = 0.4) -> None:
        super().__init__()
        self.seconds = seconds

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        time.sleep(self.seconds)
        return super().encode(texts)


def register_slow_model() -> None:
    """Make "slow-hash" an embedding model of this process (worker processes run this first)."""
    from dailypapers.search.embedder import register_model

    register_model("slow-hash", lambda settings: SlowHashEmbedder())
