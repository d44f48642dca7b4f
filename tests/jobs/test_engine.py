"""The job engine in one process, on both databases: failed jobs are retried with growing waits and end
visibly failed; a failed job runs again on request; the mail server down at the digest hour and back
later still gives every subscriber exactly one digest."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from dailypapers.config import Settings
from dailypapers.jobs.engine import JobSystem
from tests.support.digest import DAY, add_papers, confirmed, settings_for
from tests.support.jobs import at, runs_of, wait_for
from tests.support.postgres import free_port
from tests.support.smtp import smtp_server


@pytest.fixture
def jobs_of() -> Iterator[list[JobSystem]]:
    started: list[JobSystem] = []
    yield started
    for system in started:
        system.stop()


def _system(engine: Engine, settings: Settings, started: list[JobSystem]) -> JobSystem:
    system = JobSystem(settings, engine, worker=True, periodic=False).start()
    started.append(system)
    return system


def test_a_failing_job_is_retried_with_growing_waits_then_fails_visibly(
    engine: Engine, tmp_path: Path, jobs_of: list[JobSystem]
) -> None:
    url = engine.url.render_as_string(hide_password=False)
    settings = Settings(data_dir=tmp_path, database_url=url, job_retry_seconds=1.0)
    system = _system(engine, settings, jobs_of)
    missing = tmp_path / "later.jsonl"
    job_id = system.defer("import-file", path=str(missing))
    wait_for(lambda: job_id in {j.id for j in system.jobs("failed")}, timeout=60, what="the job to fail for good")
    runs = runs_of(engine, job_id)
    assert [r.status for r in runs] == ["failed"] * 4  # the first try and 3 retries
    assert all("no such file" in (r.error or "") for r in runs)
    gaps = [(b.started_at - a.finished_at).total_seconds() for a, b in zip(runs, runs[1:], strict=False)]  # type: ignore[operator]
    assert gaps[0] >= 0.9 and gaps[2] > gaps[0]  # waits of 1, 2, 3 s
    # Asked to run it again (the admin page's button) once the file is there, it succeeds.
    missing.write_bytes(
        (Path(__file__).parents[1] / "fixtures/hf_papers_api/fastpaper_api_papers_2608.09888_pretty.json").read_bytes()
    )
    system.retry(job_id)
    wait_for(lambda: runs_of(engine, job_id)[-1].status == "succeeded", what="the retried job")
    assert "1 new" in runs_of(engine, job_id)[-1].note


def test_the_mail_server_down_at_the_digest_hour_and_back_later(
    engine: Engine, tmp_path: Path, jobs_of: list[JobSystem]
) -> None:
    add_papers(engine, DAY, ("2601.00001", "Sparse retrieval", "cs.IR", 5))
    emails = ["a@example.org", "b@example.org", "c@example.org"]
    for email in emails:
        confirmed(engine, email)
    port = free_port()  # nothing listens there yet
    settings = dataclasses.replace(settings_for(tmp_path, smtp_url=f"smtp://127.0.0.1:{port}"), job_retry_seconds=1.0)
    system = _system(engine, settings, jobs_of)
    eight = at(dt.datetime.combine(DAY + dt.timedelta(days=1), dt.time(8), tzinfo=dt.UTC))
    job_id = system.defer("send-digests", timestamp=eight)
    wait_for(lambda: any(r.status == "failed" for r in runs_of(engine, job_id)), what="a failed try")
    assert "cannot reach the mail server" in (runs_of(engine, job_id)[0].error or "")
    with smtp_server(port=port) as (_, smtp):  # the server is back
        wait_for(lambda: runs_of(engine, job_id)[-1].status == "succeeded", what="the retry to send")
        assert sorted(str(m["To"]) for m in smtp.messages) == emails  # each exactly once
        later = system.defer("send-digests", timestamp=eight + 3600)
        assert system.wait(later) == "succeeded" and "done already" in runs_of(engine, later)[-1].note
        assert len(smtp.messages) == 3


def test_the_embedded_queue_keeps_nothing_of_finished_jobs(tmp_path: Path, jobs_of: list[JobSystem]) -> None:
    """It ticks every minute for months: finished jobs leave no trace in memory (the job log keeps them)."""
    from dailypapers.store.db import make_engine, migrate

    engine = make_engine(f"sqlite:///{tmp_path / 'embedded.db'}")
    migrate(engine)
    settings = Settings(data_dir=tmp_path, database_url=str(engine.url), job_schedules="keyword-index=* * * * * */1")
    system = JobSystem(settings, engine, worker=True).start()
    jobs_of.append(system)
    wait_for(lambda: len(runs_named(engine, "keyword-index")) >= 4, what="four ticks")
    connector = system.app.connector
    assert set(connector.events) <= set(connector.jobs) and len(connector.jobs) <= 4  # type: ignore[attr-defined]
    engine.dispose()


def runs_named(engine: Engine, name: str) -> list[object]:
    from dailypapers.store import jobs as job_log
    from dailypapers.store.db import read_tx

    with read_tx(engine) as conn:
        return list(job_log.runs(conn, name=name))
