"""Search speed at 100k and 1M papers: latency per mode (in-process and over HTTP), ANN recall, index
build time and memory, and the web worker's memory.

    python -m bench.bench_search [--sizes 100000,1000000] [--keep DIR]

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
from sqlalchemy import text

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
            sql = "SELECT paper_pk, vector FROM paper_embeddings WHERE paper_pk > :last ORDER BY paper_pk LIMIT :n"
            rows = conn.execute(text(sql), {"last": last, "n": CHUNK}).all()
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


def run(size: int, directory: Path, rebuild: bool = True) -> dict[str, object]:
    settings = Settings(data_dir=directory, embed_background=False, digest_scheduler=False)
    result: dict[str, object] = {"papers": size}
    if not (directory / "dailypapers.db").exists():
        result.update(fill(settings, size))
    engine = make_engine(settings.database_url)
    if rebuild:
        shutil.rmtree(directory / "semantic", ignore_errors=True)  # time a build from the database
    rss0 = rss_mb()
    t = time.perf_counter()
    index = SemanticIndex(engine, settings)
    index.catch_up()
    result["ann_build_s"] = round(time.perf_counter() - t, 1)
    result["ann_build_rss_growth_mb"] = round(rss_mb() - rss0)
    index.save()
    probes = synthetic(base_vectors(), 200, np.random.default_rng(99))
    truth = exact_top(engine, probes)
    found = [{pk for pk, _ in index.search_vector(p, 10)} for p in probes]
    result["ann_recall_at_10"] = round(float(np.mean([len(f & t) / 10 for f, t in zip(found, truth, strict=True)])), 4)
    qs = queries()
    Searcher(engine, settings, index).warm()  # loads the model, one torch thread as in the server
    result["queries"] = len(qs)
    result["embed_query"] = timed(lambda q: index.embedder.encode([q]), qs)
    with read_tx(engine) as conn:  # steady state: the keyword index's pages read once, untimed
        for q in qs:
            keyword.search(conn, parse(q), limit=100)
    for mode in ("keyword", "semantic", "hybrid"):
        # A fresh SemanticIndex (sharing the ANN index) has an empty query-vector cache.
        searcher = Searcher(engine, settings, SemanticIndex(engine, settings))
        result[mode] = timed(lambda q, m=mode, s=searcher: s.search(q, m, limit=20), qs)
    engine.dispose()
    print(json.dumps(result), flush=True)  # the in-process figures, whatever happens over HTTP
    result.update(dict(over_http(settings, qs)))
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="100000,1000000")
    ap.add_argument("--keep", type=Path, help="keep (and reuse) the databases under this folder")
    ap.add_argument("--reuse-index", action="store_true", help="load the saved ANN index instead of timing a build")
    args = ap.parse_args()
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
