"""What `/admin/jobs` shows: each job with its schedule and latest run, the queue (when this process has the
engine's handle), what runs now with its progress, what failed with its error, and the recent runs."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from croniter import croniter

from dailypapers.config import Settings
from dailypapers.jobs import catalog
from dailypapers.jobs.engine import JobSystem, QueuedJob
from dailypapers.store import jobs as job_log
from dailypapers.store.jobs import JobRunInfo

if TYPE_CHECKING:
    from sqlalchemy import Connection


@dataclass(frozen=True, slots=True)
class Scheduled:
    name: str
    summary: str
    cron: str | None  # None: runs when queued
    enabled: bool
    next_run: dt.datetime | None
    last: JobRunInfo | None


@dataclass(frozen=True, slots=True)
class Failed:
    job: QueuedJob
    last: JobRunInfo | None


@dataclass(frozen=True, slots=True)
class Overview:
    mode: str  # what runs jobs for this site, in words
    queue_visible: bool
    scheduled: list[Scheduled]
    queued: list[QueuedJob]
    running: list[JobRunInfo]
    failed: list[Failed]
    recent: list[JobRunInfo]


def overview(conn: Connection, settings: Settings, jobs: JobSystem | None, now: dt.datetime | None = None) -> Overview:
    now = now or dt.datetime.now(dt.UTC)
    crons = catalog.schedules(settings)
    latest = {r.name: r for r in reversed(job_log.runs(conn, limit=500))}
    scheduled = []
    for j in catalog.jobs():
        cron = crons.get(j.name)
        enabled = cron is not None and j.enabled(settings)
        next_run = croniter(cron, now).get_next(dt.datetime) if enabled and cron else None
        scheduled.append(Scheduled(j.name, j.summary, cron, enabled, next_run, latest.get(j.name)))
    queued, failed = [], []
    if jobs is not None:
        queued = jobs.jobs("todo")
        failures = jobs.jobs("failed")
        last_runs = job_log.latest_runs(conn, [f.id for f in failures])
        failed = [Failed(f, last_runs.get(f.id)) for f in failures]
    if settings.jobs == "embedded":
        mode = "this server runs the jobs itself" + (" (its queue lives in this process)" if settings.is_sqlite else "")
    else:
        mode = "`dailypapers worker` processes run the jobs"
    return Overview(
        mode=mode,
        queue_visible=jobs is not None,
        scheduled=scheduled,
        queued=queued,
        running=job_log.runs(conn, status="running", limit=50),
        failed=failed,
        recent=job_log.runs(conn, limit=50),
    )
