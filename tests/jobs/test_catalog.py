"""The catalog of jobs: names, schedules (and DAILYPAPERS_JOB_SCHEDULES), and the housekeeping job."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from croniter import croniter
from sqlalchemy import Engine, insert, select

from dailypapers.config import Settings
from dailypapers.jobs import catalog
from dailypapers.store import accounts, bookkeeping
from dailypapers.store import jobs as job_log
from dailypapers.store.db import read_tx, write_tx
from dailypapers.store.schema import ImportCheckpoint, JobLog, Session
from tests.support.accounts import make_user
from tests.support.jobs import run_job


def test_jobs_have_unique_names_and_valid_schedules() -> None:
    names = [j.name for j in catalog.jobs()]
    assert len(names) == len(set(names)) and {"embed-backlog", "send-digests", "import-file"} <= set(names)
    assert all(croniter.is_valid(cron) for cron in catalog.schedules(Settings()).values())
    with pytest.raises(ValueError, match="no job named 'nope'; the jobs are keyword-index, embed-backlog"):
        catalog.job("nope")


def test_schedules_can_be_changed_by_a_setting() -> None:
    crons = catalog.schedules(Settings(job_schedules=" harvest-rss=0 */2 * * * ; embed-backlog=*/5 * * * * "))
    assert crons["harvest-rss"] == "0 */2 * * *" and crons["embed-backlog"] == "*/5 * * * *"
    assert crons["send-digests"] == catalog.job("send-digests").cron
    with pytest.raises(ValueError, match="'import-file' is not a periodic job"):
        catalog.schedules(Settings(job_schedules="import-file=* * * * *"))
    with pytest.raises(ValueError, match="'every hour' \\(for housekeeping\\) is not a cron expression"):
        catalog.schedules(Settings(job_schedules="housekeeping=every hour"))


def test_housekeeping_forgets_what_is_old_and_keeps_the_rest(engine: Engine, tmp_path: Path) -> None:
    long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(days=45)
    user = make_user(engine, "ada")
    with write_tx(engine) as conn:
        accounts.create_session(conn, user.pk, "fresh", dt.timedelta(days=1))
        accounts.create_session(conn, user.pk, "expired", dt.timedelta(days=-1))
        bookkeeping.save_checkpoint(conn, "recent", "/a", 10, 1)
        conn.execute(
            insert(ImportCheckpoint.__table__).values(
                file_key="old", path="/b", position=1, line=1, updated_at=long_ago
            )
        )
        old = job_log.start_run(conn, 1, 0, "keyword-index", "{}", "w")
        job_log.finish_run(conn, old, "succeeded")
        conn.execute(JobLog.__table__.update().where(JobLog.__table__.c.pk == old).values(finished_at=long_ago))
    settings = Settings(data_dir=tmp_path, database_url=engine.url.render_as_string(hide_password=False))
    status, runs = run_job(engine, settings, "housekeeping")
    assert status == "succeeded"
    assert runs[-1].note == "removed 1 expired sessions, 1 stale import checkpoints, 1 old job runs"
    with read_tx(engine) as conn:
        assert conn.execute(select(Session.__table__.c.token_hash)).scalars().all() == [accounts.digest("fresh")]
        assert (
            bookkeeping.load_checkpoint(conn, "recent") == (10, 1) and bookkeeping.load_checkpoint(conn, "old") is None
        )
        assert [r.pk for r in job_log.runs(conn)] == [runs[-1].pk]
