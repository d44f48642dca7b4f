"""The server as `dailypapers serve` runs it: its background jobs started and stopped with it, and its
liveness and readiness endpoints."""

from __future__ import annotations

import threading
from pathlib import Path

import httpx
from sqlalchemy import Engine

from dailypapers.store import jobs as job_log
from dailypapers.store.db import make_engine, read_tx
from tests.support.jobs import wait_for
from tests.support.server import serve_app


def _runs(engine: Engine) -> list[job_log.JobRunInfo]:
    with read_tx(engine) as conn:
        return job_log.runs(conn)


def _jobs_threads() -> int:
    return sum(1 for t in threading.enumerate() if t.name == "jobs" and t.is_alive())


def test_the_server_runs_the_jobs_and_answers_liveness_and_readiness(engine: Engine, tmp_path: Path) -> None:
    before = _jobs_threads()
    with serve_app(engine, tmp_path, background=True, job_schedules="keyword-index=* * * * * */1") as base:
        assert _jobs_threads() == before + 1
        assert httpx.get(f"{base}/healthz").json() == {"status": "ok"}
        wait_for(lambda: httpx.get(f"{base}/readyz").status_code == 200, what="readiness")
        assert httpx.get(f"{base}/readyz").json() == {"status": "ready", "waiting_for": []}
        assert httpx.get(f"{base}/").status_code == 200
        wait_for(lambda: bool(_runs(engine)), what="a run of a periodic job")
    assert _jobs_threads() == before


def test_jobs_off_serves_without_running_jobs(engine: Engine, tmp_path: Path) -> None:
    before = _jobs_threads()
    with serve_app(engine, tmp_path, background=True, jobs="off") as base:
        assert _jobs_threads() == before + 1  # the engine's handle, for the admin page: no worker in it
        assert httpx.get(f"{base}/healthz").status_code == 200


def test_a_database_with_pending_migrations_is_not_ready(tmp_path: Path) -> None:
    bare = make_engine(f"sqlite:///{tmp_path / 'new.db'}")
    with serve_app(bare, tmp_path) as base:
        answer = httpx.get(f"{base}/readyz")
    bare.dispose()
    assert answer.status_code == 503
    (waiting,) = answer.json()["waiting_for"]
    assert waiting.startswith("migrations 0001, 0002, 0003, 0004, 0005, ") and waiting.endswith(
        " (run `dailypapers migrate`)"
    )
