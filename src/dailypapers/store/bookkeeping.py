"""Import checkpoints, harvest cursors and the periods a periodic job has done: what lets work resume and
happen once."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Connection, delete, insert, select, update

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


def period_done(conn: Connection, job: str, period: str) -> bool:
    """Whether `job`'s work for `period` (a day's harvest, a day's digest) is done."""
    found = conn.execute(select(jobs.c.finished_at).where(jobs.c.job == job, jobs.c.period == period)).first()
    return found is not None and found.finished_at is not None


def mark_period_done(conn: Connection, job: str, period: str) -> None:
    """Record that `job`'s work for `period` is done (again: the first time counts)."""
    now = utc_now()
    finished = conn.execute(
        update(jobs)
        .where(jobs.c.job == job, jobs.c.period == period, jobs.c.finished_at.is_(None))
        .values(finished_at=now)
    )
    if finished.rowcount == 0 and not period_done(conn, job, period):
        conn.execute(insert(jobs).values(job=job, period=period, started_at=now, finished_at=now))


def delete_checkpoints_before(conn: Connection, when: dt.datetime) -> int:
    """Forget import checkpoints last written before `when` (imports given up long ago); returns how many."""
    return int(conn.execute(delete(checkpoints).where(checkpoints.c.updated_at < when)).rowcount or 0)
