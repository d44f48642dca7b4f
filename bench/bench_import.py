"""Import throughput of the Kaggle format (papers/s) on SQLite and PostgreSQL, against the naive loop.

    python -m bench.bench_import [COUNT] [--backends sqlite,postgresql] [--rounds 1] [--url URL]

Generates COUNT synthetic records (bench.gen_kaggle) into one file. For each backend, each round: the naive
loop (bench.naive_import: json.loads, executemany into SQLite in batches of 5,000, one FTS5 rebuild) on that
file, then `dailypapers import` of it into an empty database (import_file), the keyword index caught up
(search_index.index_pending: SQLite's FTS5; PostgreSQL indexes in the import itself), and a re-import of
the same file (all unchanged). Prints each rate, the end-to-end one (stored and keyword-searchable) over the
naive loop's measured just before it on the same machine, and the CPU time each spent per paper (ours:
this process, the parsing processes and, on PostgreSQL, the server's processes, also shown alone): on a
shared machine the rates move with the load, the CPU times much less. PostgreSQL is started for the run
(tests.support.postgres), each round gets a fresh database with pgvector, migrated; `--url` imports into
that database instead (an empty, migrated one; no server CPU time then).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import resource
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Engine, create_engine, text

from bench.gen_kaggle import records
from bench.naive_import import naive_import
from dailypapers.ingest.importer import import_file
from dailypapers.store import search_index
from dailypapers.store.db import make_engine, migrate


def write_file(path: Path, count: int) -> Path:
    with path.open("wb") as fp:
        for obj in records(count):
            fp.write(orjson.dumps(obj) + b"\n")
    return path


def own_cpu() -> float:
    """CPU seconds used so far by this process and its finished children (the import's parsing processes)."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def server_cpu(data_dir: Path | None) -> float:
    """CPU seconds used so far by the PostgreSQL server of `data_dir`: the postmaster, its children, and the
    children it has reaped (closed connections). 0 without one."""
    if data_dir is None:
        return 0.0
    postmaster = int((data_dir / "postmaster.pid").read_text().split()[0])
    ticks = 0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            if int(pid) == postmaster or int(fields[1]) == postmaster:
                ticks += sum(int(f) for f in fields[11:15])  # utime, stime, cutime, cstime
    return ticks / os.sysconf("SC_CLK_TCK")


def naive_run(data: Path, tmp: Path) -> tuple[float, float]:
    """The naive loop on `data`: papers/s, and CPU microseconds per paper."""
    database = tmp / "naive.db"
    database.unlink(missing_ok=True)
    c0, t0 = own_cpu(), time.perf_counter()
    count = naive_import(data, database)
    elapsed, cpu = time.perf_counter() - t0, own_cpu() - c0
    database.unlink()
    return count / elapsed, cpu / count * 1e6


def measure(engine: Engine, data: Path, count: int, data_dir: Path | None) -> dict[str, Any]:
    """Import `data` into the empty database of `engine`, index it, import it again: the rates, and the CPU
    time per paper of import and index."""
    c0, s0, t0 = own_cpu(), server_cpu(data_dir), time.perf_counter()
    first = import_file(engine, data)
    t1 = time.perf_counter()
    indexed = search_index.index_pending(engine)
    t2, c2, s2 = time.perf_counter(), own_cpu(), server_cpu(data_dir)
    again = import_file(engine, data)
    t3 = time.perf_counter()
    assert first.new == count and again.unchanged == count, (first, again)
    return {
        "import_papers_per_s": round(first.new / (t1 - t0)),
        "keyword_index_papers_per_s": round(indexed / (t2 - t1)) if indexed else None,
        "import_plus_index_papers_per_s": round(first.new / (t2 - t0)),
        "reimport_unchanged_papers_per_s": round(again.unchanged / (t3 - t2)),
        "import_plus_index_cpu_us_per_paper": round((c2 - c0 + s2 - s0) / count * 1e6),
        "of_which_server_cpu_us_per_paper": round((s2 - s0) / count * 1e6) if data_dir else None,
    }


@dataclass
class Backend:
    """Fresh, migrated databases of one backend (`next(urls)`), and the data directory of its server."""

    name: str
    urls: Iterator[str]
    data_dir: Path | None = None


@contextlib.contextmanager
def backend(name: str, tmp: Path) -> Iterator[Backend]:
    """SQLite files, or databases (with pgvector) on a PostgreSQL started for the run."""
    if name == "sqlite":
        yield Backend(name, (_migrated(f"sqlite:///{tmp}/bench{n}.db") for n in range(1, 1 << 30)))
        return
    from tests.support.postgres import start_postgres

    server = start_postgres()

    def urls() -> Iterator[str]:
        for n in range(1, 1 << 30):
            admin = create_engine(server.admin_url, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f"CREATE DATABASE bench{n}"))
            admin.dispose()
            engine = make_engine(server.url(f"bench{n}"))
            with engine.begin() as conn:
                conn.execute(text("CREATE EXTENSION IF NOT EXISTS vector"))
            engine.dispose()
            yield _migrated(server.url(f"bench{n}"))

    try:
        yield Backend(name, urls(), server.directory / "data")
    finally:
        server.stop()


def _migrated(url: str) -> str:
    engine = make_engine(url)
    migrate(engine)
    engine.dispose()
    return url


def run_round(db: Backend, data: Path, tmp: Path, count: int) -> dict[str, Any]:
    """One round on one backend: the naive loop, then ours into a fresh database."""
    naive, naive_cpu = naive_run(data, tmp)
    engine = make_engine(next(db.urls))
    try:
        with engine.connect() as conn:
            version = conn.exec_driver_sql("SELECT sqlite_version()" if db.name == "sqlite" else "SHOW server_version")
            schema = conn.exec_driver_sql("SELECT version_num FROM alembic_version")
            database = f"{db.name} {version.scalar()}, schema {schema.scalar()}"
        ours = measure(engine, data, count, db.data_dir)
    finally:
        engine.dispose()
    return {
        "database": database,
        "naive_loop_papers_per_s": round(naive),
        "naive_loop_cpu_us_per_paper": round(naive_cpu),
        **ours,
        "end_to_end_over_naive": round(ours["import_plus_index_papers_per_s"] / naive, 2),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("count", type=int, nargs="?", default=100_000)
    ap.add_argument("--backends", default="sqlite,postgresql")
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--url", default="", help="import into this empty, migrated database (one round)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        data = write_file(tmp / "synthetic.jsonl", args.count)
        results: list[dict[str, Any]] = []
        if args.url:
            dialect = make_engine(args.url).dialect.name
            results.append(run_round(Backend(dialect, iter([args.url])), data, tmp, args.count))
        else:
            with contextlib.ExitStack() as stack:
                dbs = [stack.enter_context(backend(b, tmp)) for b in args.backends.split(",")]
                for _ in range(args.rounds):
                    results.extend(run_round(db, data, tmp, args.count) for db in dbs)
        out = {
            "records": args.count,
            "file_mb": round(data.stat().st_size / 1e6, 1),
            "results": results,
            "cpus": os.cpu_count(),
            "machine": platform.platform(),
            "python": platform.python_version(),
        }
        print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
