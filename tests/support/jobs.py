"""Running background jobs in tests: one job through the real engine in this process, and worker processes
(`dailypapers worker`) to start and kill."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from sqlalchemy import Engine

from dailypapers.config import Settings
from dailypapers.jobs.engine import JobSystem
from dailypapers.store import jobs as job_log
from dailypapers.store.db import read_tx
from dailypapers.store.jobs import JobRunInfo

ROOT = Path(__file__).resolve().parents[2]


def at(when: dt.datetime) -> int:
    """A periodic job's `timestamp` argument for a tick at `when`."""
    return int(when.timestamp())


def run_job(
    engine: Engine, settings: Settings, name: str, prepare: Callable[[JobSystem], None] | None = None, **args: object
) -> tuple[str, list[JobRunInfo]]:
    """Queue job `name` and let a worker in this process run it (no periodic jobs beside it): its final
    status ("succeeded", "failed", "retrying") and its runs in the job log, oldest first.

    Only runs logged after this call began count: SQLite's in-memory queue numbers jobs from 1 again in each
    job system, so an earlier call's job may have had the same id."""
    before = max((r.pk for r in runs_of(engine, None)), default=0)
    system = JobSystem(settings, engine, worker=True, periodic=False)
    if prepare:
        prepare(system)
    system.start()
    try:
        job_id = system.defer(name, **args)
        status = system.wait(job_id, timeout=120)
    finally:
        system.stop()
    return status, [r for r in runs_of(engine, job_id) if r.pk > before]


def runs_of(engine: Engine, job_id: int | None) -> list[JobRunInfo]:
    """The job log's runs of job `job_id` (of every job when None), oldest first."""
    with read_tx(engine) as conn:
        runs = job_log.runs(conn, limit=1000)
    return sorted((r for r in runs if job_id is None or r.job_id == job_id), key=lambda r: r.pk)


def wait_for(condition: Callable[[], bool], timeout: float = 60.0, what: str = "the condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


@contextlib.contextmanager
def workers(count: int, env: dict[str, str], log_dir: Path, boot: str = "") -> Iterator[list[subprocess.Popen[bytes]]]:
    """`count` worker processes (`dailypapers worker`) with `env`; `boot` is Python run before the command
    (e.g. to register a test model). Stopped with SIGTERM afterwards, if still alive."""
    code = f"{boot}\nfrom dailypapers.cli.main import app\napp(['worker'])"
    procs = []
    for n in range(count):
        out = (log_dir / f"worker{n}.log").open("wb")
        procs.append(
            subprocess.Popen(
                [sys.executable, "-c", code], cwd=ROOT, env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT
            )
        )
    try:
        yield procs
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()
