"""Throughput of the scale-out deployment with N web processes: feed, API, keyword search and votes.

    python -m bench.bench_scale [--web 1,2,4] [--workers-m 1] [--duration 10] [--papers 30000]

One PostgreSQL 16 with pgvector (`tests.support.postgres`) and one `redis-server` (`tests.support.redis`), on
free loopback ports; a database migrated with the vector extension, the demo data loaded by `dailypapers demo`
(as `make run` does), then `--papers` synthetic papers (bench.gen_kaggle) by `dailypapers import`. For each N of
`--web`, in turn: `dailypapers serve` with DAILYPAPERS_WORKERS=N, DAILYPAPERS_JOBS=off and DAILYPAPERS_REDIS_URL
(the scale-out settings of docs/jobs.md), beside `--workers-m` `dailypapers worker` processes, started afresh
and waited for (/readyz answering 200 8N times in a row on new connections); then, `--duration` seconds each, with wrk:

1. feed: the front page `/`, anonymous (a page-cache hit once each process has rendered it);
2. api: `/api/daily_papers?date=<that day>` (likewise cached);
3. search: `/api/papers/search?mode=keyword&q=...`, each request the next of `--queries` distinct queries
   (word pairs and words of the stored titles), so that the page cache answers few of them;
4. votes: vote toggles by 32 signed-in users with API tokens on the day's papers, as bench_votes does
   (fresh users for each N; every request flips one user's vote on one paper).

With `--rounds R` every N is measured R times (every other round in reverse order, so that a machine whose
load drifts favours no N) and the medians are reported. Reports requests/s, p50/p99 and each rate's ratio
to the first N, as JSON and as a Markdown table, with what the workers ran meanwhile (the job log). Where the
machine has more than 2 CPUs the load generator (wrk) is pinned apart from everything else with taskset (the
servers, PostgreSQL, Redis and the workers inherit this process's affinity, set to the other CPUs); on 2 CPUs
or fewer everything shares them, and the report says so.

Rate limits are off (DAILYPAPERS_RATE_LIMITS=0, as in bench_votes: every request comes from 127.0.0.1, whose
120 votes a minute would otherwise be the measurement), so Redis is configured but answers no request here.
The workers run the periodic jobs of a steady-state instance, without the embedding and TL;DR backlog of the
synthetic papers (DAILYPAPERS_EMBED_BACKGROUND=0, the `describe` job moved to once a year): on a small machine
that backlog would take the CPU for the whole run. Needs `wrk` and `redis-server` (Debian packages).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from sqlalchemy import text

from bench.bench_votes import counters_exact, day_papers, make_users, vote_script
from bench.common import scratch_database, split_cpus, start_group, stop_group, wait_ready
from bench.scale_load import (
    Row,
    combine,
    markdown_table,
    search_queries,
    search_script,
    with_ratios,
    wrk,
    wrk_command,
)
from dailypapers.store.db import make_engine, migrate, read_tx

CLI = [sys.executable, "-c", "from dailypapers.cli.main import app; app()"]
VOTERS = 32  # vote clients, one user each, as bench_votes
SECRET = "bench-scale-secret-key-bench-scale-secret-key"  # one key for every process (sessions, CSRF)


# -- the data --------------------------------------------------------------------------------------------------


def load_data(url: str, tmp: Path, synthetic: int) -> None:
    """Migrate `url` (pgvector first), load the demo data as `make run` does, then `synthetic` generated
    papers through `dailypapers import`."""
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("CREATE EXTENSION IF NOT EXISTS vector"))
    migrate(engine)
    engine.dispose()
    env = {**os.environ, "DAILYPAPERS_DATABASE_URL": url, "DAILYPAPERS_DATA_DIR": str(tmp)}
    run_step([*CLI, "demo"], env, tmp / "setup.log")
    if synthetic:
        data = tmp / "synthetic.jsonl"
        with data.open("wb") as out:
            subprocess.run([sys.executable, "-m", "bench.gen_kaggle", str(synthetic)], stdout=out, check=True)
        run_step([*CLI, "import", str(data)], env, tmp / "setup.log")
        data.unlink()


def run_step(cmd: list[str], env: dict[str, str], log: Path, timeout: float = 900.0) -> None:
    """Run a setup command to its end (its output to `log`); RuntimeError with the log's end if it fails or
    takes longer than `timeout`. Whatever it started and left behind is stopped too."""
    proc = start_group(cmd, env, log)
    try:
        code = proc.wait(timeout)
    except subprocess.TimeoutExpired:
        code = None
    finally:
        stop_group(proc)
    if code != 0:
        what = f"exited with {code}" if code is not None else f"did not finish within {timeout:.0f} s"
        raise RuntimeError(f"{' '.join(cmd[3:])} {what}; its log ends:\n{log.read_text()[-3000:]}")


def latest_day(url: str) -> str:
    """The latest day with featured papers: what the front page shows."""
    engine = make_engine(url)
    with read_tx(engine) as conn:
        day = conn.execute(text("SELECT max(day) FROM daily_listings")).scalar()
    engine.dispose()
    if day is None:
        raise RuntimeError("no featured papers: the demo data did not load")
    return day.isoformat() if isinstance(day, dt.date) else str(day)


def stored_titles(url: str, limit: int = 20_000) -> list[str]:
    engine = make_engine(url)
    with read_tx(engine) as conn:
        titles = conn.execute(text("SELECT title FROM papers ORDER BY pk LIMIT :n"), {"n": limit}).scalars().all()
    engine.dispose()
    return list(titles)


# -- wrk -------------------------------------------------------------------------------------------------------


# -- the deployment ---------------------------------------------------------------------------------------------


def deployment_env(url: str, redis_url: str, tmp: Path, web: int, port: int | None = None) -> dict[str, str]:
    """The environment of every process of the scale-out instance (docs/jobs.md); `port` the web tier's."""
    env = {
        **os.environ,
        "DAILYPAPERS_DATABASE_URL": url,
        "DAILYPAPERS_REDIS_URL": redis_url,
        "DAILYPAPERS_DATA_DIR": str(tmp),
        "DAILYPAPERS_SECRET_KEY": SECRET,
        "DAILYPAPERS_JOBS": "off",
        "DAILYPAPERS_WORKERS": str(web),
        "DAILYPAPERS_RATE_LIMITS": "0",
        "DAILYPAPERS_EMBED_BACKGROUND": "0",
        "DAILYPAPERS_JOB_SCHEDULES": "describe=0 0 1 1 *",
    }
    if port is not None:
        env |= {"DAILYPAPERS_PORT": str(port), "DAILYPAPERS_BASE_URL": f"http://127.0.0.1:{port}"}
    return env


def start_web(url: str, redis_url: str, tmp: Path, web: int, log: Path, procs: list[subprocess.Popen[bytes]]) -> str:
    """Start `dailypapers serve` with `web` processes (added to `procs`) and return its base URL once every
    process is ready; on a port that another program took meanwhile, once more on another."""
    from tests.support.postgres import free_port

    for attempt in range(2):
        port = free_port()
        server = start_group([*CLI, "serve"], deployment_env(url, redis_url, tmp, web, port), log)
        procs.append(server)
        try:
            wait_ready(f"http://127.0.0.1:{port}/readyz", server, times=8 * web)
            return f"http://127.0.0.1:{port}"
        except RuntimeError as exc:
            output = log.read_text()
            if attempt == 0 and "address already in use" in output:
                stop_group(server)
                continue
            raise RuntimeError(f"{exc}; its log ends:\n{output[-3000:]}") from exc
    raise AssertionError("unreachable")


def measure(
    url: str,
    redis_url: str,
    tmp: Path,
    web: int,
    workers: int,
    args: argparse.Namespace,
    load: list[int] | None,
    day: str,
    search: Path,
    label: str,
) -> Row:
    """Start the instance with `web` processes and `workers` workers, measure the four loads, stop it.
    `label` names this run's files and voters."""
    tokens = make_users(url, f"scale{label}_", VOTERS)  # fresh users: every vote of the script is a toggle
    threads = len(load) if load else 1
    procs: list[subprocess.Popen[bytes]] = []
    try:
        for k in range(workers):
            log = tmp / f"worker{label}_{k}.log"
            env = deployment_env(url, redis_url, tmp, web)
            procs.append(start_group([*CLI, "worker", "--log-level", "warning"], env, log))
        base = start_web(url, redis_url, tmp, web, tmp / f"serve{label}.log", procs)
        ids = day_papers(base, day)
        feed_url, api_url = f"{base}/", f"{base}/api/daily_papers?date={day}"
        for _ in range(8 * web):  # let every process render the two cached pages once
            httpx.get(feed_url)
            httpx.get(api_url)
        time.sleep(1)
        row: Row = {
            "feed": wrk(wrk_command(feed_url, args.duration, args.connections, threads, None, load)),
            "api": wrk(wrk_command(api_url, args.duration, args.connections, threads, None, load)),
            "search": wrk(wrk_command(f"{base}/", args.duration, args.connections, threads, search, load)),
        }
        votes = vote_script(tmp / f"votes{label}.lua", tokens, ids)
        row["votes"] = wrk(wrk_command(f"{base}/", args.duration, VOTERS, 1, votes, load))
        row["votes"]["papers"] = len(ids)
        return row
    finally:
        for proc in reversed(procs):
            stop_group(proc)


# -- the report -------------------------------------------------------------------------------------------------


def worker_jobs(url: str) -> dict[str, dict[str, float]]:
    """What the workers ran during the whole benchmark, from the job log: runs and seconds by job."""
    engine = make_engine(url)
    with read_tx(engine) as conn:
        rows = conn.execute(text("SELECT name, status, started_at, finished_at FROM job_log")).all()
    engine.dispose()
    jobs: dict[str, dict[str, float]] = {}
    for name, status, started, finished in rows:
        job = jobs.setdefault(name, {"runs": 0, "seconds": 0.0})
        job["runs"] += 1
        job[status] = job.get(status, 0) + 1
        job["seconds"] = round(job["seconds"] + ((finished - started).total_seconds() if finished else 0.0), 1)
    return dict(sorted(jobs.items()))


def machine() -> dict[str, object]:
    model = ""
    if shutil.which("lscpu"):
        found = re.search(r"Model name:\s*(.+)", subprocess.run(["lscpu"], capture_output=True, text=True).stdout)
        model = found[1].strip() if found else ""
    return {
        "platform": platform.platform(),
        "cpu_model": model,
        "cpus": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)),
        "python": platform.python_version(),
        "load_average_1m": round(os.getloadavg()[0], 2),  # other programs' load shows here (a shared machine)
    }


def source_state() -> str:
    """The commit measured, and whether the working tree had changes besides (figures then include them)."""
    root = Path(__file__).resolve().parent.parent
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root, capture_output=True)
    except OSError:
        return "unknown (no git)"
    changed = len(dirty.stdout.splitlines())
    return head.stdout.strip() + (f" with {changed} files changed" if changed else "")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--web", default="1,2,4", help="numbers of web processes (DAILYPAPERS_WORKERS), in turn")
    ap.add_argument("--workers-m", type=int, default=1, help="`dailypapers worker` processes beside them")
    ap.add_argument("--duration", type=int, default=10, help="seconds of each wrk measurement")
    ap.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="times each N is measured (in turn, every other round backwards); the report gives the medians",
    )
    ap.add_argument("--connections", type=int, default=32, help="wrk connections for feed, API and search")
    ap.add_argument("--papers", type=int, default=30_000, help="synthetic papers imported besides the demo")
    ap.add_argument("--queries", type=int, default=20_000, help="distinct search queries, asked in turn")
    ap.add_argument("--load-cpus", type=int, default=None, help="CPUs for wrk when pinning (default: a quarter)")
    ap.add_argument("--json", type=Path, default=None, help="also write the JSON report to this file")
    args = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # a TERM stops the servers too (finally blocks)
    for tool in ("wrk", "redis-server"):
        if not shutil.which(tool):
            sys.exit(f"bench_scale needs {tool} (apt-get install {tool})")
    webs = [int(n) for n in args.web.split(",")]
    split = split_cpus(args.load_cpus)
    if split:
        servers, load = split
        os.sched_setaffinity(0, servers)  # PostgreSQL, Redis, web processes and workers inherit it
        pinning = f"wrk on CPUs {load}, everything else on {servers} (taskset)"
    else:
        load = None
        pinning = f"not pinned: {len(os.sched_getaffinity(0))} CPUs are too few to split; wrk shares them"
    print(pinning, file=sys.stderr, flush=True)
    from tests.support.redis import start_redis

    before = machine()

    samples: dict[int, list[Row]] = {n: [] for n in webs}
    redis = start_redis()
    try:
        with (
            tempfile.TemporaryDirectory(prefix="bench-scale-") as tmpname,
            scratch_database("postgresql", Path(tmpname)) as url,
        ):
            tmp = Path(tmpname)
            t = time.perf_counter()
            load_data(url, tmp, args.papers)
            day = latest_day(url)
            queries = search_queries(stored_titles(url), args.queries)
            search = search_script(tmp / "search.lua", queries)
            setup_s = round(time.perf_counter() - t)
            print(f"data loaded in {setup_s} s; {len(queries)} queries; day {day}", file=sys.stderr, flush=True)
            for r in range(args.rounds):
                for n in webs if r % 2 == 0 else webs[::-1]:  # backwards every other round: drift evens out
                    row = measure(url, redis.url, tmp, n, args.workers_m, args, load, day, search, f"{n}_{r}")
                    samples[n].append(row)
                    print(json.dumps({"web": n, "round": r, **row}), file=sys.stderr, flush=True)
            counters = counters_exact(url)
            jobs = worker_jobs(url)
    finally:
        redis.stop()
    results = with_ratios({n: combine(rows) for n, rows in samples.items()})
    report = {
        "date": dt.date.today().isoformat(),
        "source": source_state(),
        "machine": before,
        "load_average_1m_after": round(os.getloadavg()[0], 2),
        "pinning": pinning,
        "workers_m": args.workers_m,
        "duration_s": args.duration,
        "rounds": args.rounds,
        "connections": args.connections,
        "synthetic_papers": args.papers,
        "distinct_queries": len(queries),
        "setup_s": setup_s,
        "counters": counters,
        "worker_jobs": jobs,
        "results": results,
    }
    text_report = json.dumps(report, indent=2)
    if args.json:
        args.json.write_text(text_report + "\n")
    print(text_report)
    print()
    print(markdown_table(results))


if __name__ == "__main__":
    main()
