"""Import throughput of the Kaggle format (papers/s), on SQLite unless DATABASE_URL says otherwise.

    python -m bench.bench_import [COUNT] [--url sqlite:///...]

Generates COUNT synthetic records (bench.gen_kaggle), imports them into an empty database, then
re-imports the same file (all unchanged), and builds the keyword index; prints each rate.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

from bench.gen_kaggle import records
from dailypapers.ingest.importer import import_file
from dailypapers.store import search_index
from dailypapers.store.db import make_engine, migrate


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("count", type=int, nargs="?", default=100_000)
    ap.add_argument("--url", default="")
    args = ap.parse_args()
    import orjson

    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "synthetic.jsonl"
        with data.open("wb") as fp:
            for obj in records(args.count):
                fp.write(orjson.dumps(obj) + b"\n")
        url = args.url or f"sqlite:///{tmp}/bench.db"
        engine = make_engine(url)
        migrate(engine)
        t0 = time.perf_counter()
        first = import_file(engine, data)
        t1 = time.perf_counter()
        indexed = search_index.index_pending(engine)
        t2 = time.perf_counter()
        again = import_file(engine, data)
        t3 = time.perf_counter()
        result = {
            "records": args.count,
            "file_mb": round(data.stat().st_size / 1e6, 1),
            "database": engine.dialect.name,
            "import_papers_per_s": round(first.new / (t1 - t0)),
            "keyword_index_papers_per_s": round(indexed / (t2 - t1)) if indexed else None,
            "import_plus_index_papers_per_s": round(first.new / (t2 - t0)),
            "reimport_unchanged_papers_per_s": round(again.unchanged / (t3 - t2)),
            "cpus": os.cpu_count(),
            "machine": platform.platform(),
        }
        assert first.new == args.count and again.unchanged == args.count, (first, again)
        print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
