"""Search speed at 100k and 1M papers: latency per mode (in-process and over HTTP), ANN recall, index
build time and memory, and the web worker's memory.

    python -m bench.bench_search [--sizes 100000,1000000] [--keep DIR]
    python -m bench.bench_search --backend postgresql --pg-dir /tmp/pgsearch --from-sqlite DIR/1000000

On PostgreSQL (`bench.search_pg`) the papers and vectors of an SQLite instance built here (--keep) are
copied by COPY into a cluster kept under --pg-dir (first N papers for size N; reused when there), and the
served nearest-neighbour query (pgvector HNSW) is measured against exact search, with --ef-sweep for tuning.

Papers are synthetic (bench.gen_kaggle: real sentences recombined). Embedding a million papers on this
CPU would take most of a day, so their vectors are built from real ones: each is a random blend of two
of the demo papers' shipped MiniLM embeddings plus Gaussian noise, normalised. Queries are embedded for
real by the model, and are all different, so no cache helps: the known-item queries of
bench/search_eval and the first words of the seed papers' abstracts.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import numpy as np
import orjson
from sqlalchemy import select, text

from bench.common import start_server
from bench.gen_kaggle import records
from dailypapers.config import Settings
from dailypapers.ingest.importer import import_file
from dailypapers.search.query import parse
from dailypapers.search.semantic import SemanticIndex
from dailypapers.search.service import Searcher
from dailypapers.store import keyword, search_index, vectors
from dailypapers.store.db import make_engine, migrate, read_tx, write_tx

ROOT = Path(__file__).resolve().parent.parent
DEMO_VECTORS = ROOT / "src/dailypapers/demo/embeddings-all-MiniLM-L6-v2.npz"
EVAL = ROOT / "bench/search_eval/queries.jsonl"
SEED = ROOT / "src/dailypapers/demo/seed_papers.jsonl"
MODEL = "all-MiniLM-L6-v2"
CHUNK = 50_000


def rss_mb(pid: int | None = None) -> float:
    status = Path(f"/proc/{pid or os.getpid()}/status").read_text()
    line = next(x for x in status.splitlines() if x.startswith("VmRSS:"))
    return int(line.split()[1]) / 1024


def queries() -> list[str]:
    found = [json.loads(line)["query"] for line in EVAL.read_text().splitlines() if line.strip()]
    for line in SEED.read_text().splitlines():
        words = json.loads(line)["abstract"].split()
        found.append(" ".join(words[3:11]))
    return list(dict.fromkeys(found))


def base_vectors() -> np.ndarray:
    with np.load(DEMO_VECTORS) as data:
        key = next(k for k in data.files if data[k].ndim == 2)
        return data[key].astype(np.float32)


def synthetic(base: np.ndarray, count: int, rng: np.random.Generator, noise: float = 0.03) -> np.ndarray:
    a = base[rng.integers(0, len(base), count)]
    b = base[rng.integers(0, len(base), count)]
    w = rng.uniform(0.5, 1.0, (count, 1)).astype(np.float32)
    v = w * a + (1 - w) * b + rng.normal(0, noise, (count, base.shape[1])).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def fill(settings: Settings, count: int) -> dict[str, float]:
    """Import `count` synthetic papers with their keyword index and vectors; returns timings."""
    engine = make_engine(settings.database_url)
    migrate(engine)
    data = settings.data_dir / "synthetic.jsonl"
    with data.open("wb") as fp:
        for obj in records(count):
            fp.write(orjson.dumps(obj) + b"\n")
    t0 = time.perf_counter()
    import_file(engine, data)
    search_index.index_pending(engine)
    data.unlink()
    t1 = time.perf_counter()
    base, rng, last = base_vectors(), np.random.default_rng(7), 0
    while True:
        with read_tx(engine) as conn:
            sql = "SELECT pk, text_hash FROM papers WHERE pk > :last ORDER BY pk LIMIT :n"
            rows = conn.execute(text(sql), {"last": last, "n": CHUNK}).all()
        if not rows:
            break
        with write_tx(engine) as conn:
            vectors.write(conn, MODEL, [(r.pk, r.text_hash) for r in rows], synthetic(base, len(rows), rng))
        last = rows[-1].pk
    t2 = time.perf_counter()
    engine.dispose()
    return {"import_and_keyword_index_s": round(t1 - t0, 1), "store_vectors_s": round(t2 - t1, 1)}


def percentiles(times: list[float]) -> dict[str, float]:
    ordered = sorted(times)
    return {
        "p50_ms": round(statistics.median(ordered) * 1000, 2),
        "p95_ms": round(ordered[int(len(ordered) * 0.95) - 1] * 1000, 2),
        "p99_ms": round(ordered[int(len(ordered) * 0.99) - 1] * 1000, 2),
    }


def timed(fn: Callable[[str], object], qs: list[str]) -> dict[str, float]:
    times = []
    for q in qs:
        t = time.perf_counter()
        fn(q)
        times.append(time.perf_counter() - t)
    return percentiles(times)


def exact_top(engine, probes: np.ndarray, k: int = 10) -> list[set[int]]:  # type: ignore[no-untyped-def]
    """The true k nearest stored vectors of each probe, by brute force over the database in chunks."""
    best_scores = np.full((len(probes), k), -2.0, dtype=np.float32)
    best_pks = np.zeros((len(probes), k), dtype=np.int64)
    last = 0
    while True:
        with read_tx(engine) as conn:
            e = vectors.embeddings.c  # the typed column: pgvector's values come back as arrays
            query = select(e.paper_pk, e.vector).where(e.paper_pk > last).order_by(e.paper_pk).limit(CHUNK)
            rows = conn.execute(query).all()
            if not rows:
                break
            pks = np.array([r[0] for r in rows], dtype=np.int64)
            mat = vectors.from_db([r[1] for r in rows], probes.shape[1])
        scores = probes @ mat.T
        all_scores = np.concatenate([best_scores, scores], axis=1)
        all_pks = np.concatenate([best_pks, np.broadcast_to(pks, scores.shape)], axis=1)
        top = np.argpartition(-all_scores, k, axis=1)[:, :k]
        best_scores = np.take_along_axis(all_scores, top, axis=1)
        best_pks = np.take_along_axis(all_pks, top, axis=1)
        last = int(pks[-1])
    return [set(map(int, row)) for row in best_pks]


def serve(settings: Settings, port: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DAILYPAPERS_DATABASE_URL": settings.database_url,
        "DAILYPAPERS_DATA_DIR": str(settings.data_dir),
        "DAILYPAPERS_EMBED_BACKGROUND": "0",
        "DAILYPAPERS_DIGEST_SCHEDULER": "0",
        "DAILYPAPERS_RATE_LIMITS": "0",
        # Only serve: the background jobs (TL;DRs for a million synthetic papers...) would share the CPU.
        "DAILYPAPERS_JOBS": "off",
    }
    cmd = [sys.executable, "-m", "uvicorn", "dailypapers.web.app:create_app_from_env", "--factory"]
    cmd += ["--port", str(port), "--log-level", "warning", "--no-access-log"]
    return start_server(cmd, env, port, wait_s=60)


def over_http(settings: Settings, qs: list[str]) -> Iterator[tuple[str, object]]:
    port = 8765
    proc = serve(settings, port)
    try:
        base = f"http://127.0.0.1:{port}/api/papers/search"
        with httpx.Client(timeout=600) as client:
            client.get(base, params={"q": "warm up the model and the index", "mode": "hybrid"})
            for q in qs:  # steady state, as in-process: the server's word counts (not its page cache) warm
                client.get(base, params={"q": q + " .", "mode": "keyword"})
            for mode, mark in (("keyword", ""), ("semantic", " ?"), ("hybrid", " !")):
                # Each text once per mode and different across modes (punctuation, which no search sees),
                # so neither the page cache nor the server's query-vector cache answers.
                yield (
                    f"http_{mode}",
                    timed(lambda q, m=mode, x=mark: client.get(base, params={"q": q + x, "mode": m}), qs),
                )
        yield "web_worker_rss_mb", round(rss_mb(proc.pid))
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()


def recall(index: SemanticIndex, probes: np.ndarray, truth: list[set[int]], k: int = 10) -> float:
    """Recall@10 of the served nearest-neighbour query asked for `k` neighbours, against exact search."""
    found = [{pk for pk, _ in index.search_vector(p, k)[:10]} for p in probes]
    return round(float(np.mean([len(f & t) / 10 for f, t in zip(found, truth, strict=True)])), 4)


def ef_sweep(index: SemanticIndex, probes: np.ndarray, truth: list[set[int]], efs: list[int]) -> dict[str, object]:
    """PostgreSQL: recall@10 and latency of 10-neighbour queries at each hnsw.ef_search floor."""
    out: dict[str, object] = {}
    kept = vectors.ef_search
    try:
        for ef in efs:
            vectors.ef_search = lambda k, papers, ef=ef: ef  # type: ignore[misc]
            times = []
            for p in probes:
                t = time.perf_counter()
                index.search_vector(p, 10)
                times.append(time.perf_counter() - t)
            out[f"ef_{ef}"] = {"recall_at_10": recall(index, probes, truth), **percentiles(times)}
    finally:
        vectors.ef_search = kept  # type: ignore[assignment]
    return out


def run(
    size: int,
    directory: Path,
    rebuild: bool = True,
    url: str = "",
    probes_n: int = 200,
    efs: list[int] | None = None,
    http: bool = True,
) -> dict[str, object]:
    settings = Settings(data_dir=directory, database_url=url, embed_background=False, digest_scheduler=False)
    result: dict[str, object] = {"papers": size, "backend": "postgresql" if url else "sqlite"}
    if not url and not (directory / "dailypapers.db").exists():
        result.update(fill(settings, size))
    engine = make_engine(settings.database_url)
    if rebuild and not url:
        shutil.rmtree(directory / "semantic", ignore_errors=True)  # time a build from the database
    rss0 = rss_mb()
    t = time.perf_counter()
    index = SemanticIndex(engine, settings)
    if not url:  # PostgreSQL's index is in the database (built by bench.search_pg, timed there)
        index.catch_up()
        result["ann_build_s"] = round(time.perf_counter() - t, 1)
        result["ann_build_rss_growth_mb"] = round(rss_mb() - rss0)
        index.save()
    probes = synthetic(base_vectors(), probes_n, np.random.default_rng(99))
    truth = exact_top(engine, probes)
    result["ann_recall_at_10"] = recall(index, probes, truth)
    if url:  # as hybrid and semantic search ask: DEPTH (100) neighbours, of which the first 10 are compared
        result["ann_recall_at_10_of_100"] = recall(index, probes, truth, k=100)
        result["ef_search"] = vectors.ef_search(10, size)
        if efs:
            result["ef_sweep"] = ef_sweep(index, probes, truth, efs)
    qs = queries()
    Searcher(engine, settings, index).warm()  # loads the model, one torch thread as in the server
    result["queries"] = len(qs)
    result["embed_query"] = timed(lambda q: index.embedder.encode([q]), qs)
    with read_tx(engine) as conn:  # steady state: the keyword index's pages read once, untimed
        for q in qs:
            keyword.search(conn, parse(q), limit=100)
    if url:  # and PostgreSQL's HNSW pages that these queries' vectors reach (usearch's index is all in memory)
        searcher = Searcher(engine, settings, SemanticIndex(engine, settings))
        for q in qs:
            searcher.search(q, "hybrid", limit=20)
    for mode in ("keyword", "semantic", "hybrid"):
        # A fresh SemanticIndex (sharing the ANN index) has an empty query-vector cache.
        searcher = Searcher(engine, settings, SemanticIndex(engine, settings))
        result[mode] = timed(lambda q, m=mode, s=searcher: s.search(q, m, limit=20), qs)
    engine.dispose()
    print(json.dumps(result), flush=True)  # the in-process figures, whatever happens over HTTP
    if http:
        result.update(dict(over_http(settings, qs)))
    return result


def run_postgres(args: argparse.Namespace) -> list[dict[str, object]]:
    """Each size on the PostgreSQL cluster under --pg-dir (started, and stopped after, keeping its files)."""
    from bench import search_pg

    server, started = search_pg.server(args.pg_dir)
    out = []
    try:
        for size in (int(s) for s in args.sizes.split(",")):
            url, made = search_pg.database(server, f"papers_{size}")
            built = search_pg.fill(url, args.from_sqlite, size) if made else {}
            engine = make_engine(url)
            t = time.perf_counter()
            applied = migrate(engine)  # an instance copied before migration 0013 is brought up to date, timed
            engine.dispose()
            if applied:
                built[f"migrate_{'_'.join(applied)}_s"] = round(time.perf_counter() - t, 1)
            with tempfile.TemporaryDirectory() as tmp:
                efs = [int(x) for x in args.ef_sweep.split(",")] if args.ef_sweep else None
                load = os.getloadavg()[0]  # the machine is shared: how busy it was, before and after
                result = {**built, **run(size, Path(tmp), url=url, probes_n=args.probes, efs=efs, http=args.http)}
                result["load_average_1min"] = [round(load, 2), round(os.getloadavg()[0], 2)]
            out.append(result)
            print(json.dumps(result), flush=True)
    finally:
        if started:
            search_pg.stop(server)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="100000,1000000")
    ap.add_argument("--keep", type=Path, help="keep (and reuse) the databases under this folder")
    ap.add_argument("--reuse-index", action="store_true", help="load the saved ANN index instead of timing a build")
    ap.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    ap.add_argument("--pg-dir", type=Path, default=Path("/tmp/pgsearch"), help="PostgreSQL: the cluster's folder")
    ap.add_argument("--from-sqlite", type=Path, help="PostgreSQL: an SQLite instance (--keep DIR/1000000) to copy")
    ap.add_argument("--probes", type=int, default=200, help="query vectors for ANN recall")
    ap.add_argument("--ef-sweep", default="", help="PostgreSQL: hnsw.ef_search floors to measure, e.g. 40,100,200")
    ap.add_argument("--no-http", dest="http", action="store_false", help="in-process figures only")
    args = ap.parse_args()
    if args.backend == "postgresql":
        if not args.from_sqlite:
            ap.error("--backend postgresql copies from an SQLite instance: --from-sqlite DIR")
        out = run_postgres(args)
        print(json.dumps({"cpus": os.cpu_count(), "machine": platform.platform(), "results": out}, indent=2))
        return
    out = []
    for size in (int(s) for s in args.sizes.split(",")):
        if args.keep:
            directory = args.keep / str(size)
            directory.mkdir(parents=True, exist_ok=True)
            out.append(run(size, directory, rebuild=not args.reuse_index))
        else:
            with tempfile.TemporaryDirectory() as tmp:
                out.append(run(size, Path(tmp)))
        print(json.dumps(out[-1]), flush=True)
    print(json.dumps({"cpus": os.cpu_count(), "machine": platform.platform(), "results": out}, indent=2))


if __name__ == "__main__":
    main()
