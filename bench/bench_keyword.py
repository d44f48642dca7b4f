"""Keyword search latency on a large synthetic store (SQLite), for the any-word window's cost.

    python -m bench.bench_keyword [--papers 1000000] [--keep DIR]

Builds (or reuses, with --keep) a store of synthetic papers (bench.gen_kaggle), then times
`store.keyword.search` in-process for the 80 known-item queries of bench/search_eval and the first
sentence of each seed paper's abstract (149 queries, each different), at RANK_WINDOW 2,000 and 10,000,
after one untimed pass that reads the database into the page cache.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import orjson

from bench.gen_kaggle import records
from dailypapers.ingest.importer import import_file
from dailypapers.search.query import parse
from dailypapers.store import keyword, search_index
from dailypapers.store.db import make_engine, migrate, read_tx

HERE = Path(__file__).parent
SEEDS = HERE.parent / "src" / "dailypapers" / "demo" / "seed_papers.jsonl"


def queries() -> list[str]:
    found = [json.loads(line)["query"] for line in (HERE / "search_eval" / "queries.jsonl").read_text().splitlines()]
    if SEEDS.exists():
        found += [json.loads(line)["abstract"].split(". ")[0][:120] for line in SEEDS.read_text().splitlines()]
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--papers", type=int, default=1_000_000)
    parser.add_argument("--keep", type=Path, help="keep (and reuse) the database under this folder")
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp())
    folder.mkdir(parents=True, exist_ok=True)
    db = folder / f"keyword-{args.papers}.db"
    if not db.exists():
        engine = make_engine(f"sqlite:///{db}")
        migrate(engine)
        data = folder / "papers.jsonl"
        with data.open("wb") as fp:
            for obj in records(args.papers):
                fp.write(orjson.dumps(obj) + b"\n")
        began = time.perf_counter()
        import_file(engine, data)
        search_index.index_pending(engine)
        data.unlink()
        print(f"built {args.papers:,} papers in {time.perf_counter() - began:.0f} s")
    engine = make_engine(f"sqlite:///{db}")
    asked = queries()
    with read_tx(engine) as conn:  # once untimed: the file into the page cache
        for q in asked:
            keyword.search(conn, parse(q), limit=100)
    for window in (2_000, 10_000):
        keyword.RANK_WINDOW = window
        times = []
        for q in asked:
            with read_tx(engine) as conn:
                began = time.perf_counter()
                keyword.search(conn, parse(q), limit=100)
                times.append(time.perf_counter() - began)
        times.sort()
        p50, p95 = times[len(times) // 2] * 1000, times[int(len(times) * 0.95)] * 1000
        print(
            f"{args.papers:,} papers, RANK_WINDOW {window:,}: p50 {p50:.1f} ms, p95 {p95:.1f} ms ({len(times)} queries)"
        )


if __name__ == "__main__":
    main()
