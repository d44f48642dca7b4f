"""The bundled demo data: real recorded records, loaded into an empty database by `make run`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from dailypapers.ingest.importer import ImportReport, import_file
from dailypapers.store import papers, search_index
from dailypapers.store.db import read_tx, write_tx

if TYPE_CHECKING:
    from sqlalchemy import Engine

DEMO_DIR = Path(__file__).resolve().parent.parent / "demo"
# Precomputed embeddings of the demo papers (PROVENANCE.md says how they were made), so semantic
# search works at once instead of after minutes of embedding on a small CPU.
DEMO_EMBEDDINGS = DEMO_DIR / "embeddings-all-MiniLM-L6-v2.npz"
# arXiv metadata first, so Hugging Face's records then only add listings, upvotes and links.
ORDER = ("*.xml", "head200_*.jsonl", "*daily_papers*.json", "seed_papers.jsonl")


def demo_files() -> list[Path]:
    files: list[Path] = []
    for pattern in ORDER:
        files.extend(sorted(p for p in DEMO_DIR.glob(pattern) if p not in files))
    return files


def load_demo(engine: Engine, *, only_if_empty: bool = False) -> ImportReport | None:
    """Import the demo files; with `only_if_empty`, do nothing (and return None) if papers exist, besides
    storing the shipped embeddings of demo papers that lack one (a database made before they shipped)."""
    if only_if_empty:
        with read_tx(engine) as conn:
            if papers.count_papers(conn):
                load_demo_embeddings(engine)
                return None
    report = ImportReport()
    for path in demo_files():
        report.add(import_file(engine, path))
    search_index.index_pending(engine)
    load_demo_embeddings(engine)
    return report


def load_demo_embeddings(engine: Engine, path: Path = DEMO_EMBEDDINGS) -> int:
    """Store the shipped vectors of the papers whose content still matches; the others are left to the
    embedding job. Returns how many were stored."""
    if not path.exists():
        return 0
    import numpy as np

    from dailypapers.store import vectors

    with np.load(path, allow_pickle=False) as data:
        model, ids, hashes, matrix = (
            str(data["model"]),
            data["ids"].tolist(),
            data["content_hashes"].tolist(),
            data["vectors"],
        )
    with write_tx(engine) as conn:
        return vectors.import_matching(conn, model, ids, hashes, matrix)
