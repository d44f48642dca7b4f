"""The server's digest scheduler: sends each period once, even with several processes running it."""

from __future__ import annotations

import dataclasses
import datetime as dt
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from sqlalchemy import Engine

from dailypapers.digest.send_scheduler import DigestScheduler
from tests.support.digest import DAY, add_papers, confirmed, settings_for
from tests.support.smtp import smtp_server


def test_two_schedulers_send_the_day_once_and_only_after_the_hour(engine: Engine, tmp_path: Path) -> None:
    add_papers(engine, DAY, ("2601.00001", "Sparse retrieval", "cs.IR", 5))
    confirmed(engine, "a@example.org")
    confirmed(engine, "b@example.org")
    next_morning = dt.datetime.combine(DAY + dt.timedelta(days=1), dt.time(7, 30), tzinfo=dt.UTC)
    with smtp_server() as (url, smtp):
        settings = dataclasses.replace(settings_for(tmp_path, smtp_url=url), digest_hour=7)
        early = DigestScheduler(engine, settings)
        assert early.run_once(next_morning.replace(hour=6)) == []
        schedulers = [DigestScheduler(engine, settings) for _ in range(2)]
        with ThreadPoolExecutor(2) as pool:
            runs = list(pool.map(lambda s: s.run_once(next_morning), schedulers))
        assert sorted(len(r) for r in runs) == [0, 1] and f"daily:{DAY.isoformat()}" in runs[0] + runs[1]
        assert sorted(str(m["To"]) for m in smtp.messages) == ["a@example.org", "b@example.org"]
        assert DigestScheduler(engine, settings).run_once(next_morning + dt.timedelta(hours=2)) == []
        assert len(smtp.messages) == 2


def test_weekly_digests_are_due_on_mondays_in_the_configured_time_zone(tmp_path: Path, engine: Engine) -> None:
    settings = dataclasses.replace(settings_for(tmp_path), digest_hour=8, digest_timezone="America/New_York")
    s = DigestScheduler(engine, settings)
    monday_utc_noon = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)  # 07:00 in New York: too early
    assert s.due(monday_utc_noon) == []
    assert s.due(monday_utc_noon + dt.timedelta(hours=1)) == ["daily", "weekly"]
    assert s.due(monday_utc_noon + dt.timedelta(days=1, hours=1)) == ["daily"]
