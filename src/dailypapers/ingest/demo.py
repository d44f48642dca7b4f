"""The bundled demo data: real recorded records, loaded into an empty database by `make run`."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, func, select

from dailypapers.ingest.importer import ImportReport, import_file
from dailypapers.store import search_index
from dailypapers.store.db import read_tx
from dailypapers.store.schema import Paper

DEMO_DIR = Path(__file__).resolve().parent.parent / "demo"
# arXiv metadata first, so Hugging Face's records then only add listings, upvotes and links.
ORDER = ("*.xml", "head200_*.jsonl", "*daily_papers*.json", "seed_papers.jsonl")


def demo_files() -> list[Path]:
    files: list[Path] = []
    for pattern in ORDER:
        files.extend(sorted(p for p in DEMO_DIR.glob(pattern) if p not in files))
    return files


def load_demo(engine: Engine, *, only_if_empty: bool = False) -> ImportReport | None:
    """Import the demo files; with `only_if_empty`, do nothing (and return None) if papers exist."""
    if only_if_empty:
        with read_tx(engine) as conn:
            if conn.execute(select(func.count()).select_from(Paper)).scalar():
                return None
    report = ImportReport()
    for path in demo_files():
        report.add(import_file(engine, path))
    search_index.index_pending(engine)
    return report
