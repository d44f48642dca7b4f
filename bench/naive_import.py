"""The naive import loop the issue measures `dailypapers import` against (issue 16, item 2).

    python -m bench.naive_import FILE.jsonl

One process, the standard library's `json.loads`, `executemany` into SQLite in batches of 5,000 into
a minimal `papers` table holding the Kaggle format's fields, then one FTS5 `rebuild` of title,
abstract and authors. No merging, no checkpoints, no validation: the floor any importer should beat.
"""

from __future__ import annotations

import json
import sqlite3
import sys
import time
from pathlib import Path

BATCH = 5000
# The Kaggle snapshot's fields (nested ones stored as JSON text).
FIELDS = [
    "id",
    "submitter",
    "authors",
    "title",
    "comments",
    "journal_ref",
    "doi",
    "report_no",
    "categories",
    "license",
    "abstract",
    "versions",
    "update_date",
    "authors_parsed",
]
KEYS = [f.replace("_", "-") if f in ("journal_ref", "report_no") else f for f in FIELDS]
NESTED = frozenset({"versions", "authors_parsed"})

_COLUMNS = ", ".join(f + (" TEXT UNIQUE" if f == "id" else " TEXT") for f in FIELDS)
SCHEMA = f"""
CREATE TABLE papers (pk INTEGER PRIMARY KEY, {_COLUMNS});
CREATE VIRTUAL TABLE papers_fts USING fts5(title, abstract, authors, content='papers', content_rowid='pk');
"""


def _row(obj: dict[str, object]) -> tuple[object, ...]:
    return tuple(json.dumps(obj.get(k)) if f in NESTED else obj.get(k) for f, k in zip(FIELDS, KEYS, strict=True))


def naive_import(path: Path, database: Path) -> int:
    """Import the Kaggle-format file at `path` into a fresh SQLite database; returns the papers stored."""
    con = sqlite3.connect(database)  # a transaction per batch: `with con` commits it
    con.executescript(SCHEMA)
    sql = f"INSERT INTO papers ({', '.join(FIELDS)}) VALUES ({', '.join('?' * len(FIELDS))})"
    count = 0
    batch: list[tuple[object, ...]] = []
    with path.open(encoding="utf-8") as fp:
        for line in fp:
            if not line.strip():
                continue
            batch.append(_row(json.loads(line)))
            if len(batch) >= BATCH:
                with con:
                    con.executemany(sql, batch)
                count += len(batch)
                batch = []
    if batch:
        with con:
            con.executemany(sql, batch)
        count += len(batch)
    with con:
        con.execute("INSERT INTO papers_fts(papers_fts) VALUES ('rebuild')")
    con.close()
    return count


def main() -> None:
    path = Path(sys.argv[1])
    database = Path(sys.argv[2]) if len(sys.argv) > 2 else path.with_suffix(".naive.db")
    database.unlink(missing_ok=True)
    t0 = time.perf_counter()
    count = naive_import(path, database)
    elapsed = time.perf_counter() - t0
    print(json.dumps({"papers": count, "seconds": round(elapsed, 2), "papers_per_s": round(count / elapsed)}))


if __name__ == "__main__":
    main()
