"""Import checkpoints, harvest cursors and job claims: what lets work resume and run once."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Connection, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from dailypapers.store.convert import utc_now
from dailypapers.store.schema import HarvestState, ImportCheckpoint, JobRun

checkpoints = ImportCheckpoint.__table__
harvests = HarvestState.__table__
jobs = JobRun.__table__


def load_checkpoint(conn: Connection, file_key: str) -> tuple[int, int] | None:
    """`(byte_position, line)` where an interrupted import of this file stopped, if it did."""
    row = conn.execute(
        select(checkpoints.c.position, checkpoints.c.line).where(checkpoints.c.file_key == file_key)
    ).first()
    return (int(row.position), int(row.line)) if row else None


def save_checkpoint(conn: Connection, file_key: str, path: str, position: int, line: int) -> None:
    values = {"path": path, "position": position, "line": line, "updated_at": utc_now()}
    done = conn.execute(update(checkpoints).where(checkpoints.c.file_key == file_key).values(values))
    if done.rowcount == 0:
        conn.execute(insert(checkpoints).values(file_key=file_key, **values))


def clear_checkpoint(conn: Connection, file_key: str) -> None:
    conn.execute(delete(checkpoints).where(checkpoints.c.file_key == file_key))


def load_harvest(conn: Connection, key: str) -> tuple[str, bool] | None:
    """`(cursor, done)` of a harvest, if one was started under this key."""
    row = conn.execute(select(harvests.c.cursor, harvests.c.done).where(harvests.c.key == key)).first()
    return (row.cursor, bool(row.done)) if row else None


def save_harvest(conn: Connection, key: str, cursor: str, done: bool = False) -> None:
    values = {"cursor": cursor, "done": done, "updated_at": utc_now()}
    result = conn.execute(update(harvests).where(harvests.c.key == key).values(values))
    if result.rowcount == 0:
        conn.execute(insert(harvests).values(key=key, **values))


def claim_job(conn: Connection, job: str, period: str, stale_after: dt.timedelta | None = None) -> bool:
    """True for exactly one caller per (job, period), across processes: the primary key decides.

    With `stale_after`, a claim left unfinished for that long (its run failed or its process died) is
    taken over by the next caller, so the period is tried again.
    """
    try:
        with conn.begin_nested():
            conn.execute(insert(jobs).values(job=job, period=period, started_at=utc_now()))
        return True
    except IntegrityError:
        if stale_after is None:
            return False
    taken = conn.execute(
        update(jobs)
        .where(
            jobs.c.job == job,
            jobs.c.period == period,
            jobs.c.finished_at.is_(None),
            jobs.c.started_at <= utc_now() - stale_after,
        )
        .values(started_at=utc_now())
    )
    return taken.rowcount == 1


def finish_job(conn: Connection, job: str, period: str) -> None:
    conn.execute(update(jobs).where(jobs.c.job == job, jobs.c.period == period).values(finished_at=utc_now()))
