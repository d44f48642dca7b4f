"""The `send-digests` job: the latest day's digest (and on Mondays the latest week's) once the configured
local hour has come, to every subscriber exactly once, however often it runs."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

from sqlalchemy import Engine

from tests.support.digest import DAY, add_papers, confirmed, settings_for
from tests.support.jobs import at, run_job
from tests.support.smtp import smtp_server


def test_the_day_is_sent_once_and_only_after_the_hour(engine: Engine, tmp_path: Path) -> None:
    add_papers(engine, DAY, ("2601.00001", "Sparse retrieval", "cs.IR", 5))
    confirmed(engine, "a@example.org")
    confirmed(engine, "b@example.org")
    next_morning = dt.datetime.combine(DAY + dt.timedelta(days=1), dt.time(7, 30), tzinfo=dt.UTC)
    with smtp_server() as (url, smtp):
        settings = dataclasses.replace(settings_for(tmp_path, smtp_url=url), digest_hour=7)
        status, runs = run_job(engine, settings, "send-digests", timestamp=at(next_morning.replace(hour=6)))
        assert status == "succeeded" and runs[-1].note == "not due yet" and smtp.messages == []
        status, runs = run_job(engine, settings, "send-digests", timestamp=at(next_morning))
        assert status == "succeeded" and f"daily:{DAY.isoformat()}: 2 sent" in runs[-1].note
        assert sorted(str(m["To"]) for m in smtp.messages) == ["a@example.org", "b@example.org"]
        later = at(next_morning + dt.timedelta(hours=2))
        status, runs = run_job(engine, settings, "send-digests", timestamp=later)
        assert status == "succeeded" and "done already" in runs[-1].note and len(smtp.messages) == 2


def test_weekly_digests_are_due_on_mondays_in_the_configured_time_zone(tmp_path: Path, engine: Engine) -> None:
    settings = dataclasses.replace(settings_for(tmp_path), digest_hour=8, digest_timezone="America/New_York")
    monday_utc_noon = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)  # 07:00 in New York: too early
    assert run_job(engine, settings, "send-digests", timestamp=at(monday_utc_noon))[1][-1].note == "not due yet"
    note = run_job(engine, settings, "send-digests", timestamp=at(monday_utc_noon + dt.timedelta(hours=1)))[1][-1].note
    assert note.startswith("daily:2026-11-29: 0 sent") and "weekly:2026-W48: 0 sent" in note
    tuesday = at(monday_utc_noon + dt.timedelta(days=1, hours=1))
    note = run_job(engine, settings, "send-digests", timestamp=tuesday)[1][-1].note
    assert note.startswith("daily:2026-11-30") and "weekly" not in note
