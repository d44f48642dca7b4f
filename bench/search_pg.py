"""PostgreSQL instances for bench_search: a cluster kept under a folder between runs, and databases of N papers
copied from bench_search's SQLite instance (papers and vectors by COPY, so nothing is embedded again).

    python -m bench.search_pg --pg-dir /tmp/pgsearch --from-sqlite /tmp/bskeep/1000000 --sizes 100000,1000000

The keyword index (GIN) and the vector index (HNSW) are dropped before the copy and built after it, as a
bulk load would; the HNSW build gets `maintenance_work_mem` enough to hold the graph.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import struct
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import psycopg
from sqlalchemy import create_engine, text
from tests.support.postgres import PostgresServer, _bin_dir, free_port

from dailypapers.store.db import make_engine, migrate

# The cluster is a benchmark's, set as a server for a million papers would be: shared buffers a quarter of this
# machine's 24 GiB (with 2 GB the HNSW graph and the papers evicted each other between modes), no JIT (a
# query's compile time is latency), fsync off as in tests.support.postgres. work_mem is PostgreSQL's default.
SETTINGS = (
    "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=50 "
    "-c shared_buffers=6GB -c effective_cache_size=12GB -c jit=off "
    "-c max_wal_size=8GB -c checkpoint_timeout=30min -c random_page_cost=1.1"
)
PAPER_COLUMNS = (
    "pk, id, local, title, abstract, authors, authors_text, versions, latest_version, categories, "
    "primary_category, doi, journal_ref, comments, license, published, updated, announced, code_urls, "
    "project_urls, extra, withdrawn, content_hash, votes, num_comments, stars, stars_growth, code_pushed_at, "
    "text_hash"
)
BOOLEANS = {2, 21}  # local, withdrawn: 0/1 in SQLite
CHUNK = 20_000


def server(directory: Path) -> tuple[PostgresServer, bool]:
    """The cluster under `directory`, and whether it was started here (created first when there is none); one
    already running there is used as it is."""
    user = "postgres" if os.geteuid() == 0 else None
    directory.mkdir(parents=True, exist_ok=True)
    directory.chmod(0o777)
    data = directory / "data"
    pid = data / "postmaster.pid"
    if pid.exists():
        lines = pid.read_text().splitlines()
        if len(lines) > 3 and Path(f"/proc/{lines[0].strip()}").exists():
            return PostgresServer(directory, int(lines[3]), user), False
    found = PostgresServer(directory, free_port(), user)
    if not (data / "PG_VERSION").exists():
        found._run("initdb", "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8")
    opts = f"-c listen_addresses=127.0.0.1 -p {found.port} -k {directory} {SETTINGS}"
    found._run("pg_ctl", "-D", str(data), "-l", str(directory / "log"), "-o", opts, "-w", "-t", "300", "start")
    return found, True


def stop(found: PostgresServer) -> None:
    """Stop the cluster, keeping its files (PostgresServer.stop would delete them)."""
    found._run("pg_ctl", "-D", str(found.directory / "data"), "-m", "fast", "-w", "-t", "300", "stop")


def database(found: PostgresServer, name: str) -> tuple[str, bool]:
    """The URL of database `name` and whether it was made just now (empty)."""
    admin = create_engine(found.admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        made = not conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first()
        if made:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return found.url(name), made


def _paper_rows(source: Path, size: int) -> Iterator[list[str | None]]:
    db = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    last = 0
    while True:
        rows = db.execute(
            f"SELECT {PAPER_COLUMNS} FROM papers WHERE pk > ? AND pk <= ? ORDER BY pk LIMIT ?", (last, size, CHUNK)
        ).fetchall()
        if not rows:
            break
        for row in rows:
            yield [None if v is None else ("t" if v else "f") if i in BOOLEANS else str(v) for i, v in enumerate(row)]
        last = rows[-1][0]
    db.close()


def _vector_copy(source: Path, size: int) -> Iterator[bytes]:
    """paper_embeddings rows in COPY's binary format: paper_pk, model, content_hash, seq, vector."""
    db = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    yield b"PGCOPY\n\xff\r\n\x00" + struct.pack("!ii", 0, 0)
    last = 0
    while True:
        rows = db.execute(
            "SELECT paper_pk, model, content_hash, vector FROM paper_embeddings "
            "WHERE paper_pk > ? AND paper_pk <= ? ORDER BY paper_pk LIMIT ?",
            (last, size, CHUNK),
        ).fetchall()
        if not rows:
            break
        parts = []
        for pk, model, content_hash, blob in rows:
            vec = np.frombuffer(blob, dtype="<f4").astype(">f4").tobytes()
            m, h = model.encode(), content_hash.encode()
            parts.append(
                struct.pack("!hiqi", 5, 8, pk, len(m))
                + m
                + struct.pack("!i", len(h))
                + h
                + struct.pack("!iqi", 8, pk, 4 + len(vec))
                + struct.pack("!hh", len(vec) // 4, 0)
                + vec
            )
        yield b"".join(parts)
        last = rows[-1][0]
    yield struct.pack("!h", -1)
    db.close()


def fill(url: str, source: Path, size: int) -> dict[str, float]:
    """Copy the first `size` papers of the SQLite instance `source` (a folder with dailypapers.db) and their
    vectors into the empty, migrated database at `url`, then build its indexes; returns timings."""
    engine = make_engine(url)
    migrate(engine)
    engine.dispose()
    sqlite_db = source / "dailypapers.db"
    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    times: dict[str, float] = {}
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("SET maintenance_work_mem = '6GB'")
        conn.execute("SET max_parallel_maintenance_workers = 1")
        indexes = {
            name: sql
            for name, sql in conn.execute(
                "SELECT indexname, indexdef FROM pg_indexes WHERE indexname IN ('ix_papers_search', "
                "'ix_papers_search_title', 'ix_paper_embeddings_hnsw')"
            )
        }
        for name in indexes:
            conn.execute(f"DROP INDEX {name}")
        began = time.perf_counter()
        with conn.cursor() as cur, cur.copy(f"COPY papers ({PAPER_COLUMNS}) FROM STDIN") as copy:
            for row in _paper_rows(sqlite_db, size):
                copy.write_row(row)
        times["copy_papers_s"] = round(time.perf_counter() - began, 1)
        began = time.perf_counter()
        with conn.cursor() as cur, cur.copy("COPY paper_embeddings FROM STDIN (FORMAT binary)") as copy:
            for block in _vector_copy(sqlite_db, size):
                copy.write(block)
        conn.execute(
            "UPDATE site_state SET value = (SELECT max(seq) FROM paper_embeddings) WHERE key = 'embedding_seq'"
        )
        conn.execute("SELECT setval(pg_get_serial_sequence('papers', 'pk'), (SELECT max(pk) FROM papers))")
        times["copy_vectors_s"] = round(time.perf_counter() - began, 1)
        for name, sql in indexes.items():
            began = time.perf_counter()
            conn.execute(sql)
            times[f"build_{name}_s"] = round(time.perf_counter() - began, 1)
        began = time.perf_counter()
        conn.execute("VACUUM ANALYZE")
        times["vacuum_analyze_s"] = round(time.perf_counter() - began, 1)
    return times


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pg-dir", type=Path, required=True)
    ap.add_argument("--from-sqlite", type=Path, required=True)
    ap.add_argument("--sizes", default="100000,1000000")
    ap.add_argument("--keep-running", action="store_true", help="leave the server running (prints its URL)")
    args = ap.parse_args()
    found, started = server(args.pg_dir)
    try:
        for size in (int(s) for s in args.sizes.split(",")):
            url, made = database(found, f"papers_{size}")
            if made:
                print(size, fill(url, args.from_sqlite, size), flush=True)
            print(url, flush=True)
    finally:
        if started and not args.keep_running:
            stop(found)


if __name__ == "__main__":
    _bin_dir()  # fail early without the server binaries
    subprocess.run(["df", "-h", "/tmp"], check=False)
    main()
