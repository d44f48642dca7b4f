"""/for-you at 1M papers and 10k readers: latency in-process and over HTTP, training rate, memory.

    python -m bench.bench_for_you --data-dir DIR [--readers 10000] [--requests 400]

DIR holds a synthetic instance (SQLite) made by `python -m bench.bench_search --sizes 1000000 --keep K`
(then DIR is K/1000000), or an empty folder: it is filled the same way (bench.bench_search.fill: real
sentences recombined, vectors blended from the demo's real ones). Readers are made once and kept: each
with 10 saves and 10 upvotes of papers of the last year, 5 library entries that match no paper (with
vectors), 2 followed authors of recent papers, a saved search and 3 "not interested" clicks; 1,000 of them
get a trained word model (the rest rank by meaning alone, as between a signal and the next training).

Latency is of `personal.for_you.recommend` for random trained readers (days=7 and 30, limit 30), then of
GET /api/for-you over HTTP on one uvicorn worker (the page renders the same ranking plus cards). The
scoring alone is also timed on a 25,000-paper window, about a month of all of arXiv.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import random
import statistics
import subprocess
import time
from pathlib import Path

import httpx
import numpy as np
from sqlalchemy import text

from bench.bench_search import fill, rss_mb, serve
from dailypapers.accounts import membership
from dailypapers.config import Settings
from dailypapers.personal import for_you
from dailypapers.ranking import personal
from dailypapers.sources.names import author_key
from dailypapers.store.accounts import account_by_pk
from dailypapers.store.convert import from_json
from dailypapers.store.db import make_engine, migrate, read_tx, write_tx

TRAINED = 1000
MODEL = "all-MiniLM-L6-v2"


def pct(times: list[float]) -> dict[str, float]:
    ms = sorted(t * 1000 for t in times)
    return {
        "p50_ms": round(statistics.median(ms), 1),
        "p95_ms": round(ms[int(0.95 * (len(ms) - 1))], 1),
        "p99_ms": round(ms[int(0.99 * (len(ms) - 1))], 1),
        "n": len(ms),
    }


def make_readers(engine, count: int, rng: random.Random) -> list[int]:  # type: ignore[no-untyped-def]
    """`count` readers with signals of every kind (made once: kept in the database)."""
    with read_tx(engine) as conn:
        have = conn.execute(text("SELECT pk FROM users WHERE name LIKE 'bench-reader-%' ORDER BY pk")).scalars().all()
        if len(have) >= count:
            return list(have[:count])
        newest = conn.execute(text("SELECT max(pk) FROM papers")).scalar()
        recent = conn.execute(
            text("SELECT pk, authors FROM papers WHERE pk > :p ORDER BY pk"), {"p": newest - 6000}
        ).all()
    year = list(range(newest - 75_000, newest + 1))
    now = dt.datetime.now(dt.UTC)
    vec_rng = np.random.default_rng(3)
    users = []
    with write_tx(engine) as conn:
        for i in range(len(have), count):
            users.append({"name": f"bench-reader-{i}", "email": f"r{i}@bench.invalid", "created_at": now})
        conn.execute(
            text(
                "INSERT INTO users (name, fullname, avatar_url, external, created_at, email, role, active, suspended) "
                "VALUES (:name, '', '', false, :created_at, :email, 'user', true, false)"
            ),
            users,
        )
        pks = conn.execute(text("SELECT pk FROM users WHERE name LIKE 'bench-reader-%' ORDER BY pk")).scalars().all()
        fresh = [pk for pk in pks if pk not in set(have)]
        saves, votes, library, follows, dismissals = [], [], [], [], []
        for u in fresh:
            for pk in rng.sample(year, 10):
                saves.append({"u": u, "p": pk, "t": now})
            for pk in rng.sample(year, 10):
                votes.append({"u": u, "p": pk, "t": now})
            for j in range(5):
                v = vec_rng.standard_normal(384).astype(np.float32)
                library.append({"u": u, "title": f"Entry {j} of {u}", "v": (v / np.linalg.norm(v)).tobytes(), "t": now})
            for _pk, authors in rng.sample(recent, 2):
                name = from_json(authors)[0]["name"]
                follows.append({"u": u, "k": "author", "key": author_key(name), "l": name, "t": now})
            gnn = "graph neural networks"
            follows.append({"u": u, "k": "search", "key": gnn, "l": gnn, "t": now})
            for pk in rng.sample(year, 3):
                dismissals.append({"u": u, "p": pk, "t": now})
        for table, rows in (("saves", saves), ("votes", votes), ("dismissals", dismissals)):
            conn.execute(
                text(f"INSERT INTO {table} (user_pk, paper_pk, created_at) VALUES (:u, :p, :t) ON CONFLICT DO NOTHING"),
                rows,
            )
        conn.execute(
            text(
                "INSERT INTO library_entries (user_pk, title, abstract, source, vector, imported_at) "
                "VALUES (:u, :title, 'An entry of no stored paper.', 'bibtex', :v, :t)"
            ),
            library,
        )
        conn.execute(
            text(
                "INSERT INTO follows (user_pk, kind, key, label, created_at) VALUES (:u, :k, :key, :l, :t) "
                "ON CONFLICT DO NOTHING"
            ),
            follows,
        )
    return list(pks[:count])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", type=Path, required=True)
    ap.add_argument("--readers", type=int, default=10_000)
    ap.add_argument("--requests", type=int, default=400)
    ap.add_argument("--papers", type=int, default=1_000_000, help="papers to make when the folder is empty")
    args = ap.parse_args()
    settings = Settings(data_dir=args.data_dir, embed_background=False, digest_scheduler=False)
    result: dict[str, object] = {
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
        "date": dt.date.today().isoformat(),
    }
    if not (args.data_dir / "dailypapers.db").exists():
        args.data_dir.mkdir(parents=True, exist_ok=True)
        result.update(fill(settings, args.papers))
    engine = make_engine(settings.database_url)
    migrate(engine)
    rng = random.Random(11)
    t = time.perf_counter()
    readers = make_readers(engine, args.readers, rng)
    result["readers_made_s"] = round(time.perf_counter() - t, 1)
    with read_tx(engine) as conn:
        result["papers"] = conn.execute(text("SELECT count(*) FROM papers")).scalar()
        result["readers"] = len(readers)
        result["signals"] = conn.execute(
            text(
                "SELECT (SELECT count(*) FROM saves) + (SELECT count(*) FROM votes) "
                "+ (SELECT count(*) FROM library_entries)"
            )
        ).scalar()
    t = time.perf_counter()
    counted = for_you.refresh_frequencies(engine, force=True)
    result["idf_documents"], result["idf_s"] = counted, round(time.perf_counter() - t, 1)
    trained = readers[:TRAINED]
    with read_tx(engine) as conn:
        todo = conn.execute(text("SELECT count(*) FROM reader_profiles WHERE model IS NOT NULL")).scalar()
    t = time.perf_counter()
    for_you.Negatives.draw(engine)
    result["negatives_draw_s"] = round(time.perf_counter() - t, 2)
    t = time.perf_counter()
    sample = trained if todo < TRAINED else trained[:100]
    negatives = for_you.Negatives.draw(engine)  # one sample per run, as the reader-profiles job draws it
    for u in sample:
        for_you.train(engine, settings, u, negatives=negatives)
    result["training_per_reader_ms"] = round((time.perf_counter() - t) / len(sample) * 1000, 1)
    pool = for_you.Pool(engine, settings)
    t = time.perf_counter()
    snap = pool.snapshot()
    result["pool_build_s"] = round(time.perf_counter() - t, 1)
    result["pool_papers_30_days"] = len(snap.window.pks)
    words = snap.words
    held = snap.window.vectors.nbytes + words.data.nbytes + words.indices.nbytes + words.indptr.nbytes
    result["pool_mb"] = round(held / 2**20, 1)
    from dailypapers.search.service import Searcher

    searcher = Searcher(engine, settings)
    for days in (7, 30):
        times = []
        for u in rng.choices(trained, k=args.requests):
            t = time.perf_counter()
            got = for_you.recommend(engine, settings, pool, searcher, u, days, 30)
            times.append(time.perf_counter() - t)
            assert got.personal and len(got.picks) == 30
        result[f"in_process_days_{days}"] = pct(times)
    # Scoring alone on a month of all of arXiv (25k candidates).
    cand = np.random.default_rng(1).standard_normal((25_000, 384)).astype(np.float32)
    cand /= np.linalg.norm(cand, axis=1, keepdims=True)
    words = personal.features(
        personal.term_counts(["graph neural networks for molecules"] * 25_000), np.ones(personal.N_FEATURES, np.float32)
    )
    model = personal.train_words(words[:10], words[10:2010] * 0.5)
    times = []
    for _ in range(50):
        t = time.perf_counter()
        personal.rank(cand, words, cand[:200], model, cand[200:203], np.zeros(25_000), np.zeros(25_000))
        times.append(time.perf_counter() - t)
    result["score_25k_candidates"] = pct(times)
    # Over HTTP: one uvicorn worker, bearer tokens.
    tokens = []
    with read_tx(engine) as conn:
        accounts = [account_by_pk(conn, u) for u in trained[:100]]
    tokens = [membership.create_api_token(engine, a, "bench") for a in accounts if a]
    port = 8766
    proc = serve(settings, port)  # bench_search's: one uvicorn worker, no background jobs, no rate limits
    try:
        base = f"http://127.0.0.1:{port}"
        with httpx.Client(timeout=600) as client:
            # Measure a ready server: the semantic index it loads at start-up would share the CPU.
            deadline = time.monotonic() + 600
            while client.get(f"{base}/readyz").status_code != 200 and time.monotonic() < deadline:
                time.sleep(1)
            client.get(f"{base}/api/for-you", headers={"Authorization": f"Bearer {tokens[0]}"})  # builds the pool
            for days in (7, 30):
                times = []
                for _ in range(args.requests):
                    headers = {"Authorization": f"Bearer {rng.choice(tokens)}"}
                    t = time.perf_counter()
                    r = client.get(f"{base}/api/for-you", params={"days": days, "limit": 30}, headers=headers)
                    times.append(time.perf_counter() - t)
                    assert r.status_code == 200, r.text
                result[f"http_days_{days}"] = pct(times)
        result["web_worker_rss_mb"] = round(rss_mb(proc.pid))
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
