"""The two job engines tried for background work, side by side on the same PostgreSQL: procrastinate (chosen)
and huey (its PostgreSQL storage), docs/jobs.md.

    python -m bench.bench_jobs [--jobs 400] [--guarantees]

For each engine: two worker processes (two threads each) run no-op jobs. Measured: how fast jobs are
queued, how fast the workers get through a backlog, and how long a job queued to idle workers waits before
it starts (p50/p95). `--guarantees` also runs, for about two minutes, the two checks that decided: a
periodic job ticking every minute with both workers running (does a tick run twice?), and a worker killed
with SIGKILL in the middle of a job (is the job finished by the other worker?).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import scratch_database

ENGINES = ("procrastinate", "huey")


def _conninfo(url: str) -> str:
    scheme, rest = url.split("://", 1)
    return f"{scheme.split('+', 1)[0]}://{rest}"


# -- the worker side: run as `python -m bench.bench_jobs --serve ENGINE`, with BENCH_DSN and BENCH_LOG --------


def _record(kind: str, key: str) -> None:
    with open(os.environ["BENCH_LOG"], "a") as f:
        f.write(f"{kind} {key} {time.time():.6f} {os.getpid()}\n")


def _procrastinate_app():  # type: ignore[no-untyped-def]
    import procrastinate

    app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=os.environ["BENCH_DSN"]))

    @app.task(name="noop")
    def noop(key: str) -> None:
        _record("start", key)

    @app.task(name="slow")
    def slow(key: str) -> None:
        _record("start", key)
        time.sleep(8)
        _record("done", key)

    @app.periodic(cron="* * * * *", periodic_id="tick")
    @app.task(name="tick")
    def tick(timestamp: int) -> None:
        _record("tick", str(timestamp // 60))

    @app.periodic(cron="* * * * * */2", periodic_id="stalled")
    @app.task(name="stalled")
    async def stalled(timestamp: int) -> None:
        for job in await app.job_manager.get_stalled_jobs(seconds_since_heartbeat=4):
            await app.job_manager.retry_job(job)

    return app


def _huey():  # type: ignore[no-untyped-def]
    from huey import PostgresHuey, crontab

    huey = PostgresHuey("bench", dsn=os.environ["BENCH_DSN"])

    @huey.task(name="noop")
    def noop(key: str) -> None:
        _record("start", key)

    @huey.task(name="slow")
    def slow(key: str) -> None:
        _record("start", key)
        time.sleep(8)
        _record("done", key)

    @huey.periodic_task(crontab(minute="*"), name="tick")
    def tick() -> None:
        _record("tick", str(int(time.time()) // 60))

    return huey, noop, slow


def _serve(engine: str) -> None:
    if engine == "procrastinate":
        import asyncio

        app = _procrastinate_app()

        async def run() -> None:
            async with app.open_async():
                await app.run_worker_async(concurrency=2, update_heartbeat_interval=1, stalled_worker_timeout=4)

        asyncio.run(run())
    else:
        from huey.consumer import Consumer

        huey, _, _ = _huey()
        Consumer(huey, workers=2, worker_type="thread").run()


# -- the measuring side ---------------------------------------------------------------------------------------


class Engine:
    def __init__(self, name: str, dsn: str) -> None:
        self.name = name
        if name == "procrastinate":
            self.app = _procrastinate_app()
            self.app.open()
            self.app.schema_manager.apply_schema()
        else:
            self.huey, self.noop, self.slow = _huey()

    def defer(self, task: str, key: str) -> None:
        if self.name == "procrastinate":
            self.app.configure_task(task).defer(key=key)
        else:
            (self.noop if task == "noop" else self.slow)(key)


def _log(path: Path) -> list[tuple[str, str, float, int]]:
    rows = []
    for line in path.read_text().splitlines() if path.exists() else []:
        kind, key, at, pid = line.split()
        rows.append((kind, key, float(at), int(pid)))
    return rows


def _wait(path: Path, kind: str, count: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while sum(1 for r in _log(path) if r[0] == kind) < count and time.monotonic() < deadline:
        time.sleep(0.05)


def measure(name: str, dsn: str, tmp: Path, jobs: int, guarantees: bool) -> dict[str, object]:
    log = tmp / f"{name}.log"
    os.environ |= {"BENCH_DSN": dsn, "BENCH_LOG": str(log)}  # read by this process's engine and the workers
    env = dict(os.environ)
    engine = Engine(name, dsn)
    workers = [subprocess.Popen([sys.executable, "-m", "bench.bench_jobs", "--serve", name], env=env) for _ in range(2)]
    try:
        time.sleep(3)  # the workers are up
        began = time.perf_counter()
        for n in range(jobs):
            engine.defer("noop", f"b{n}")
        queued = time.perf_counter() - began
        _wait(log, "start", jobs, 120)
        backlog = time.perf_counter() - began
        waits = []
        for n in range(30):
            at = time.time()
            engine.defer("noop", f"l{n}")
            _wait(log, "start", jobs + n + 1, 10)
            started = [r for r in _log(log) if r[1] == f"l{n}"]
            waits.append((started[0][2] - at) * 1000 if started else float("nan"))
            time.sleep(0.1)
        result: dict[str, object] = {
            "queue_jobs_per_s": round(jobs / queued),
            "run_backlog_jobs_per_s": round(jobs / backlog),
            "wait_before_start_ms_p50": round(statistics.median(waits), 1),
            "wait_before_start_ms_p95": round(sorted(waits)[int(0.95 * len(waits)) - 1], 1),
        }
        if guarantees:
            result |= _guarantees(engine, log, workers)
        return result
    finally:
        for w in workers:
            if w.poll() is None:
                w.send_signal(signal.SIGTERM)
        for w in workers:
            try:
                w.wait(20)
            except subprocess.TimeoutExpired:
                w.kill()


def _guarantees(engine: Engine, log: Path, workers: list[subprocess.Popen[bytes]]) -> dict[str, object]:
    engine.defer("slow", "k")
    _wait(log, "start", sum(1 for r in _log(log) if r[0] == "start") + 1, 10)
    victim = next(r[3] for r in reversed(_log(log)) if r[1] == "k")
    os.kill(victim, signal.SIGKILL)
    time.sleep(75)  # the takeover, and at least one tick of the per-minute periodic job with both workers alive
    ticks = [r[1] for r in _log(log) if r[0] == "tick"]
    return {
        "killed_job_finished_by_the_other_worker": any(r[0] == "done" and r[1] == "k" for r in _log(log)),
        "periodic_ticks": len(ticks),
        "periodic_ticks_run_twice": len(ticks) - len(set(ticks)),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--jobs", type=int, default=400)
    ap.add_argument("--guarantees", action="store_true")
    ap.add_argument("--serve", choices=ENGINES)
    args = ap.parse_args()
    if args.serve:
        _serve(args.serve)
        return
    out: dict[str, object] = {"machine": platform.platform(), "cpus": os.cpu_count(), "jobs": args.jobs}
    for name in ENGINES:
        with tempfile.TemporaryDirectory() as tmp, scratch_database("postgresql", Path(tmp)) as url:
            out[name] = measure(name, _conninfo(url), Path(tmp), args.jobs, args.guarantees)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
