"""The job log: one row per run of a background job (each attempt of a queued job), with its progress
and its error, for `/admin/jobs` and `dailypapers jobs list`. The queue itself is the job engine's."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from dailypapers.store.convert import utc_now
from dailypapers.store.schema import JobLog

log = JobLog.__table__
STATUSES = ("running", "succeeded", "failed", "interrupted")


@dataclass(frozen=True, slots=True)
class JobRunInfo:
    pk: int
    job_id: int
    attempt: int
    name: str
    args: str
    status: str
    worker: str
    started_at: dt.datetime
    updated_at: dt.datetime
    finished_at: dt.datetime | None
    done: int
    total: int | None
    note: str
    error: str | None

    @property
    def seconds(self) -> float:
        """How long it ran (so far, while running)."""
        return ((self.finished_at or self.updated_at) - self.started_at).total_seconds()


def _info(row: Any) -> JobRunInfo:
    return JobRunInfo(**{c: getattr(row, c) for c in JobRunInfo.__slots__})  # type: ignore[attr-defined]


def start_run(conn: Connection, job_id: int, attempt: int, name: str, args: str, worker: str) -> int:
    """Record that a worker started a job; returns the run's pk."""
    now = utc_now()
    values = {"job_id": job_id, "attempt": attempt, "name": name, "args": args, "status": "running"}
    values |= {"worker": worker[:120], "started_at": now, "updated_at": now, "done": 0, "note": ""}
    return int(conn.execute(insert(log).values(values).returning(log.c.pk)).scalar_one())


def report_progress(conn: Connection, pk: int, done: int, total: int | None, note: str = "") -> None:
    conn.execute(update(log).where(log.c.pk == pk).values(done=done, total=total, note=note, updated_at=utc_now()))


def finish_run(conn: Connection, pk: int, status: str, error: str | None = None) -> None:
    """Record how a run ended: succeeded, failed (with its error) or interrupted."""
    if status not in STATUSES:
        raise ValueError(f"status is one of {', '.join(STATUSES)}")
    now = utc_now()
    conn.execute(update(log).where(log.c.pk == pk).values(status=status, error=error, finished_at=now, updated_at=now))


def interrupt_runs(conn: Connection, job_ids: Iterable[int]) -> int:
    """Mark the unfinished runs of these jobs interrupted (their worker died; the job is retried)."""
    ids = list(job_ids)
    if not ids:
        return 0
    now = utc_now()
    done = conn.execute(
        update(log)
        .where(log.c.job_id.in_(ids), log.c.status == "running")
        .values(status="interrupted", error="the worker stopped during the run", finished_at=now, updated_at=now)
    )
    return int(done.rowcount or 0)


def runs(conn: Connection, *, status: str | None = None, name: str | None = None, limit: int = 50) -> list[JobRunInfo]:
    """The latest runs, newest first (of one status or job name, if given)."""
    query = select(log).order_by(log.c.pk.desc()).limit(limit)
    if status:
        query = query.where(log.c.status == status)
    if name:
        query = query.where(log.c.name == name)
    return [_info(r) for r in conn.execute(query)]


def latest_runs(conn: Connection, job_ids: Iterable[int]) -> dict[int, JobRunInfo]:
    """The latest run of each of these jobs that has one."""
    ids = list(job_ids)
    if not ids:
        return {}
    found: dict[int, JobRunInfo] = {}
    for row in conn.execute(select(log).where(log.c.job_id.in_(ids)).order_by(log.c.pk)):
        found[row.job_id] = _info(row)
    return found


def delete_finished_before(conn: Connection, when: dt.datetime) -> int:
    """Forget runs that ended before `when`; returns how many."""
    return int(conn.execute(delete(log).where(log.c.finished_at < when)).rowcount or 0)
