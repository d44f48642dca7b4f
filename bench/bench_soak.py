"""Soak: a mixed load at 80% of the measured maximum for 10 minutes, with its errors and the server's memory.

    python -m bench.bench_soak [--backend sqlite|postgresql] [--duration 600] [--share 0.8]

The demo instance (real text, so searches do real work) is served by `dailypapers serve` as a user runs
it: one process, the background jobs in it, rate limits off (every request comes from this one address).
Readers, each an HTTP client with its own cookies, do a weighted mix:

  feed pages 35%, paper pages 10%, search (page and API, hybrid and keyword) 20%, JSON API 12%,
  vote toggles 15% (API tokens), comments 4% (API tokens), sign-ins 4% (the form, CSRF token and all).

1. Maximum: 16 readers back to back for 30 s; the requests/s they reach is the maximum.
2. Soak: requests started at `--share` of that rate, evenly spaced (open loop: a slow answer does not
   slow the load), for `--duration` seconds. Errors are answers of 5xx, transport failures and any
   status the request should not get (e.g. 4xx on a valid vote). The server's resident memory is read
   every 10 s from /proc; "flat" compares the last minute with the minute after the first two.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx
from lxml import html
from sqlalchemy import text
from tests.support.postgres import free_port

from bench.common import scratch_database, start_server
from dailypapers.accounts.passwords import hash_password
from dailypapers.ingest.demo import load_demo
from dailypapers.store import accounts
from dailypapers.store.db import make_engine, migrate, read_tx, write_tx

QUERIES = [json.loads(line)["query"] for line in (Path(__file__).parent / "search_eval" / "queries.jsonl").open()]
PASSWORD = "soak test password 1"
READERS = 40  # accounts with tokens (votes, comments) and passwords (sign-ins)


class Mix:
    """The requests a reader makes, chosen at random by weight."""

    def __init__(self, days: list[str], papers: list[str], tokens: list[str]) -> None:
        self.days, self.papers, self.tokens = days, papers, tokens
        self.voted: set[tuple[str, str]] = set()
        self.weights = {
            self.feed: 35, self.paper: 10, self.search: 20, self.api: 12, self.vote: 15,
            self.comment: 4, self.signin: 4,
        }  # fmt: skip

    def pick(self, rng: random.Random):  # noqa: ANN201
        return rng.choices(list(self.weights), weights=list(self.weights.values()))[0]

    async def feed(self, c: httpx.AsyncClient, rng: random.Random) -> list[httpx.Response]:
        path = rng.choice(["/", "/trending", f"/date/{rng.choice(self.days)}", "/month/2026-07", "/week/2026-W31"])
        return [await c.get(path)]

    async def paper(self, c: httpx.AsyncClient, rng: random.Random) -> list[httpx.Response]:
        return [await c.get(f"/papers/{rng.choice(self.papers)}")]

    async def search(self, c: httpx.AsyncClient, rng: random.Random) -> list[httpx.Response]:
        q, mode = rng.choice(QUERIES), rng.choice(["hybrid", "keyword"])
        if rng.random() < 0.5:
            return [await c.get("/search", params={"q": q, "mode": mode})]
        return [await c.get("/api/papers/search", params={"q": q, "mode": mode, "limit": 20})]

    async def api(self, c: httpx.AsyncClient, rng: random.Random) -> list[httpx.Response]:
        if rng.random() < 0.5:
            return [await c.get("/api/daily_papers", params={"date": rng.choice(self.days)})]
        return [await c.get(f"/api/papers/{rng.choice(self.papers)}")]

    async def vote(self, c: httpx.AsyncClient, rng: random.Random) -> list[httpx.Response]:
        token, paper = rng.choice(self.tokens), rng.choice(self.papers)
        key = (token, paper)
        method = "DELETE" if key in self.voted else "POST"
        self.voted.symmetric_difference_update({key})
        auth = {"Authorization": f"Bearer {token}"}
        return [await c.request(method, f"/api/papers/{paper}/upvote", headers=auth)]

    async def comment(self, c: httpx.AsyncClient, rng: random.Random) -> list[httpx.Response]:
        auth = {"Authorization": f"Bearer {rng.choice(self.tokens)}"}
        body = {"comment": f"Soak comment {secrets.token_hex(4)}: does $O(n)$ hold?"}
        return [await c.post(f"/api/papers/{rng.choice(self.papers)}/comments", json=body, headers=auth)]

    async def signin(self, c: httpx.AsyncClient, rng: random.Random) -> list[httpx.Response]:
        # A browser of its own: its cookies must not mix with another request in flight on `c`.
        async with httpx.AsyncClient(base_url=c.base_url, timeout=c.timeout) as browser:
            form = await browser.get("/signin")
            token = html.fromstring(form.text).cssselect("input[name=csrf_token]")[0].get("value")
            login = f"reader{rng.randrange(READERS)}"
            data = {"login": login, "password": PASSWORD, "csrf_token": token, "next": "/"}
            return [form, await browser.post("/signin", data=data)]


EXPECTED = {200, 201, 303, 304}


def setup(url: str, tmp: Path) -> tuple[list[str], list[str], list[str]]:
    engine = make_engine(url)
    migrate(engine)
    load_demo(engine)
    tokens = []
    with write_tx(engine) as conn:
        hashed = hash_password(PASSWORD)
        for i in range(READERS):
            pk = accounts.create_user(conn, f"reader{i}", f"reader{i}@example.org", hashed, active=True).pk
            token = "dp_" + secrets.token_urlsafe(24)
            accounts.create_token(conn, pk, "soak", token)
            tokens.append(token)
    with read_tx(engine) as conn:
        recent = text("SELECT DISTINCT day FROM daily_listings ORDER BY day DESC LIMIT 20")
        days = [str(d) for (d,) in conn.execute(recent)]
        papers = [p for (p,) in conn.execute(text("SELECT id FROM papers WHERE id NOT LIKE 'local%' LIMIT 300"))]
    engine.dispose()
    return days, papers, tokens


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


class Tally:
    def __init__(self) -> None:
        self.requests = 0
        self.errors: Counter[str] = Counter()
        self.latencies: list[float] = []

    async def run(self, mix: Mix, client: httpx.AsyncClient, rng: random.Random) -> None:
        action = mix.pick(rng)
        started = time.perf_counter()
        try:
            responses = await action(client, rng)
        except httpx.HTTPError as exc:
            self.errors[f"{action.__name__}: {type(exc).__name__}"] += 1
            return
        finally:
            self.requests += 1
        self.latencies.append(time.perf_counter() - started)
        for r in responses:
            if r.status_code not in EXPECTED:
                self.errors[f"{action.__name__}: HTTP {r.status_code} {r.request.url.path}"] += 1


async def maximum(base: str, mix: Mix, seconds: float, readers: int = 16) -> float:
    tally, end = Tally(), time.monotonic() + seconds

    async def reader(i: int) -> None:
        rng = random.Random(i)
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            while time.monotonic() < end:
                await tally.run(mix, client, rng)

    started = time.monotonic()
    await asyncio.gather(*(reader(i) for i in range(readers)))
    return tally.requests / (time.monotonic() - started)


async def soak(base: str, mix: Mix, rate: float, seconds: float, pid: int) -> dict[str, object]:
    tally, memory = Tally(), []
    clients = [httpx.AsyncClient(base_url=base, timeout=30) for _ in range(32)]
    rng = random.Random(7)
    pending: set[asyncio.Task[None]] = set()
    started = time.monotonic()
    next_sample = started
    n = 0
    while (now := time.monotonic()) < started + seconds:
        if now >= next_sample:
            memory.append((round(now - started), rss_mb(pid)))
            next_sample += 10
        due = started + n / rate
        if due > now:
            await asyncio.sleep(due - now)
        task = asyncio.create_task(tally.run(mix, clients[n % len(clients)], random.Random(rng.random())))
        pending.add(task)
        task.add_done_callback(pending.discard)
        n += 1
    await asyncio.gather(*pending)
    elapsed = time.monotonic() - started
    for c in clients:
        await c.aclose()
    lat = sorted(tally.latencies)
    warm = [mb for t, mb in memory if 120 <= t < 180] or [memory[0][1]]
    last = [mb for t, mb in memory if t >= seconds - 60] or [memory[-1][1]]
    return {
        "target_rps": round(rate, 1),
        "achieved_rps": round(tally.requests / elapsed, 1),
        "requests": tally.requests,
        "errors": sum(tally.errors.values()),
        "error_kinds": dict(tally.errors.most_common(10)),
        "p50_ms": round(lat[len(lat) // 2] * 1000, 1),
        "p99_ms": round(lat[int(len(lat) * 0.99)] * 1000, 1),
        "rss_mb_after_warmup": round(statistics.mean(warm), 1),
        "rss_mb_last_minute": round(statistics.mean(last), 1),
        "rss_mb_max": round(max(mb for _, mb in memory), 1),
        "rss_slope_mb_per_min_after_warmup": _slope([(t, mb) for t, mb in memory if t >= 120]),
        "memory": memory,
    }


def _slope(points: list[tuple[int, float]]) -> float | None:
    """Least-squares growth of memory, MB per minute (None with fewer than three samples)."""
    if len(points) < 3:
        return None
    return round(statistics.linear_regression([t for t, _ in points], [mb for _, mb in points]).slope * 60, 2)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    ap.add_argument("--duration", type=float, default=600)
    ap.add_argument("--share", type=float, default=0.8)
    ap.add_argument("--max-seconds", type=float, default=30)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmpname:
        tmp = Path(tmpname)
        with scratch_database(args.backend, tmp) as url:
            days, papers, tokens = setup(url, tmp)
            port = free_port()
            env = {**os.environ, "DAILYPAPERS_DATABASE_URL": url, "DAILYPAPERS_DATA_DIR": str(tmp)}
            env |= {"DAILYPAPERS_RATE_LIMITS": "0", "DAILYPAPERS_PORT": str(port)}
            proc = start_server([str(Path(sys.executable).with_name("dailypapers")), "serve"], env, port, wait_s=60)
            try:
                base = f"http://127.0.0.1:{port}"
                httpx.get(f"{base}/api/papers/search", params={"q": "warm up", "mode": "hybrid"}, timeout=300)
                mix = Mix(days, papers, tokens)
                peak = asyncio.run(maximum(base, mix, args.max_seconds))
                result = asyncio.run(soak(base, mix, peak * args.share, args.duration, proc.pid))
            finally:
                stopping = time.monotonic()
                proc.terminate()
                try:
                    proc.wait(60)
                except subprocess.TimeoutExpired:
                    proc.kill()
                stopped_s = round(time.monotonic() - stopping, 1)
    report = {"backend": args.backend, "max_rps": round(peak, 1), **result, "sigterm_to_exit_s": stopped_s}
    report["machine"] = f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
