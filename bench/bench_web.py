"""Feed page and /api/daily_papers throughput at 100k and 1M papers, beside a static 20 KB page (served by
the site's own app, and by a bare FastAPI app: the issue's ceiling).

    python -m bench.bench_web [--sizes 100000,1000000] [--duration 10]

For each size: a fresh SQLite database filled with synthetic papers (bench.gen_kaggle) and 30
featured papers per day, served by uvicorn (httptools, one worker, as `dailypapers serve`) on
loopback; wrk -t1 -c8 measures requests/s and latency. Needs `wrk` (Debian package).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import orjson

from bench.common import start_server
from bench.gen_kaggle import records
from dailypapers.ingest.importer import import_file
from dailypapers.periods import parse_day
from dailypapers.sources.record import Listing
from dailypapers.store import papers, search_index
from dailypapers.store.db import make_engine, migrate, write_tx
from dailypapers.web.pages import render_feed
from dailypapers.web.site import Site

PER_DAY = 30


def fill(url: str, count: int, tmp: Path) -> str:
    """Import `count` papers and feature PER_DAY of them per day; returns the busiest day."""
    data = tmp / "papers.jsonl"
    with data.open("wb") as fp:
        for obj in records(count):
            fp.write(orjson.dumps(obj) + b"\n")
    engine = make_engine(url)
    migrate(engine)
    import_file(engine, data)
    search_index.index_pending(engine)  # steady state: the server's background indexer has nothing to do
    data.unlink()
    rng = random.Random(7)
    days = 1000
    start = dt.date(2023, 1, 1)
    with write_tx(engine) as conn:
        chosen = rng.sample(range(1, count + 1), days * PER_DAY)
        items = [
            (pk, Listing(day=start + dt.timedelta(days=i // PER_DAY), source="bench", upvotes=rng.randint(0, 300)))
            for i, pk in enumerate(chosen)
        ]
        papers.upsert_listings(conn, items)
    engine.dispose()
    return (start + dt.timedelta(days=days // 2)).isoformat()


def wrk(url: str, duration: int, connections: int = 8, script: Path | None = None) -> dict[str, float]:
    """requests/s, p50/p99 ms and failed responses of one `wrk -t1` run."""
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--latency"]
    cmd += ["-s", str(script)] if script else []
    return parse_wrk(subprocess.run([*cmd, url], capture_output=True, text=True, check=True).stdout)


def parse_wrk(out: str) -> dict[str, float]:
    def ms(label: str) -> float:
        m = re.search(rf"{label}%\s+([\d.]+)(us|ms|s)", out)
        assert m, out
        value = float(m[1])
        return value / 1000 if m[2] == "us" else value * 1000 if m[2] == "s" else value

    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out)[1])  # type: ignore[index]
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors:.*", out)
    return {
        "rps": round(rps),
        "p50_ms": round(ms("50"), 2),
        "p99_ms": round(ms("99"), 2),
        "failed": int(bad[1]) if bad else 0,
        **({"socket_errors": errors[0]} if errors else {}),
    }


def render_ms(url: str, day: str, n: int = 50) -> float:
    """Median time to render the feed page without the page cache (a cache miss)."""
    from dailypapers.config import Settings

    engine = make_engine(url)
    site = Site.build(Settings(database_url=url), engine)
    period = parse_day(day)
    times = []
    for _ in range(n):
        t = time.perf_counter()
        render_feed(site, period, "trending", 0)
        times.append(time.perf_counter() - t)
    engine.dispose()
    return round(sorted(times)[n // 2] * 1000, 2)


def serve(
    url: str, port: int, tmp: Path, factory: str = "bench.web_app:create", workers: int = 1
) -> subprocess.Popen[bytes]:
    env = {**os.environ, "DAILYPAPERS_DATABASE_URL": url, "DAILYPAPERS_DATA_DIR": str(tmp)}
    env["DAILYPAPERS_JOBS"] = "off"  # serving alone: the background jobs (TL;DRs of 100k papers...) would share the CPU
    cmd = [sys.executable, "-m", "uvicorn", factory, "--factory", "--port", str(port)]
    cmd += ["--log-level", "warning", "--no-access-log", "--http", "httptools", "--loop", "uvloop"]
    if workers > 1:  # as DAILYPAPERS_WORKERS makes `dailypapers serve` do
        cmd += ["--workers", str(workers)]
    return start_server(cmd, env, port)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="100000,1000000")
    ap.add_argument("--duration", type=int, default=10)
    args = ap.parse_args()
    if not shutil.which("wrk"):
        sys.exit("bench_web needs wrk (apt-get install wrk)")
    results = []
    for size in (int(s) for s in args.sizes.split(",")):
        with tempfile.TemporaryDirectory() as tmpname:
            tmp = Path(tmpname)
            url = f"sqlite:///{tmp}/bench.db"
            t = time.perf_counter()
            day = fill(url, size, tmp)
            setup = time.perf_counter() - t
            port = 8765
            proc = serve(url, port, tmp)
            try:
                base = f"http://127.0.0.1:{port}"
                for path in (f"/date/{day}", f"/api/daily_papers?date={day}", "/bench/static"):
                    httpx.get(base + path)  # warm the page cache
                row = {
                    "papers": size,
                    "setup_s": round(setup),
                    "feed_html_bytes": len(httpx.get(f"{base}/date/{day}").content),
                    "feed": wrk(f"{base}/date/{day}", args.duration),
                    "api_daily_papers": wrk(f"{base}/api/daily_papers?date={day}", args.duration),
                    "static_20kb": wrk(f"{base}/bench/static", args.duration),
                    "feed_render_uncached_ms": render_ms(url, day),
                }
            finally:
                proc.terminate()
                proc.wait()
            bare = port + 1  # a port of its own: the site's server may still hold the first one a moment
            proc = serve(url, bare, tmp, "bench.web_app:create_bare")
            try:
                httpx.get(f"http://127.0.0.1:{bare}/bench/static")
                row["static_20kb_bare_fastapi"] = wrk(f"http://127.0.0.1:{bare}/bench/static", args.duration)
            finally:
                proc.terminate()
                proc.wait()
            row["feed_vs_static"] = round(row["feed"]["rps"] / row["static_20kb"]["rps"], 2)
            row["feed_vs_bare_fastapi"] = round(row["feed"]["rps"] / row["static_20kb_bare_fastapi"]["rps"], 2)
            results.append(row)
            print(json.dumps(row), flush=True)
    print(json.dumps({"cpus": os.cpu_count(), "results": results}, indent=2))


if __name__ == "__main__":
    main()
