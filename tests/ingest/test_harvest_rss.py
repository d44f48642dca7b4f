"""RSS listings, auto-featuring, and the once-a-day scheduler, on both databases."""

from __future__ import annotations

import datetime as dt
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from dailypapers.ingest.harvest import harvest_rss
from dailypapers.ingest.harvest_scheduler import JOB, HarvestScheduler
from dailypapers.ingest.http import FetchError
from dailypapers.sources.record import SourceError
from tests.support.harvest import RSS, harvest_state, make_settings, paper_titles
from tests.support.replay import ReplayServer, status

CL = (RSS / "new2024_cs_cl_2026-04-27_3items_distill.xml").read_bytes()
AI = (RSS / "new2024_cs_ai_2026-04-27_3items_distill.xml").read_bytes()
WEEKEND = (RSS / "new2024_cs.CL_weekend_empty_All-News-AI.xml").read_bytes()
DAY = dt.date(2026, 4, 27)


def listings(engine: Engine) -> dict[str, tuple[dt.date, str]]:
    """Featured paper id -> (day, source)."""
    sql = "SELECT p.id, l.day, l.source FROM daily_listings l JOIN papers p ON p.pk = l.paper_pk"
    with engine.connect() as conn:
        rows = conn.execute(text(sql)).all()
    return {pid: (day if isinstance(day, dt.date) else dt.date.fromisoformat(day), src) for pid, day, src in rows}


def job_rows(engine: Engine) -> list[tuple[str, bool]]:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT period, finished_at FROM job_runs WHERE job = :j"), {"j": JOB}).all()
    return sorted((period, finished is not None) for period, finished in rows)


def test_auto_features_only_configured_categories(server: ReplayServer, tmp_path: Path, engine: Engine) -> None:
    server.add("/rss/cs.CL", CL)
    settings = make_settings(server, tmp_path, auto_feature=("cs.AI",))
    report = harvest_rss(engine, settings, ["cs.CL"])
    assert (report.new, report.featured, report.pages, report.requests) == (3, 1, 1, 1)
    assert set(paper_titles(engine)) == {"2604.22002", "2604.22027", "2604.22038"}
    # Only the cs.CL paper cross-listed in cs.AI, on its announcement day.
    assert listings(engine) == {"2604.22027": (DAY, "auto:arxiv-rss")}
    assert harvest_state(engine, "rss:cats=cs.CL") == ("2026-04-27", True)


def test_several_categories_are_one_request_and_nothing_featured_by_default(
    server: ReplayServer, tmp_path: Path, engine: Engine
) -> None:
    server.add("/rss/cs.AI+cs.CL", AI)
    report = harvest_rss(engine, make_settings(server, tmp_path), ["cs.AI", "cs.CL"])
    assert [r.path for r in server.log] == ["/rss/cs.AI+cs.CL"]
    assert report.new == 3 and report.featured == 0 and listings(engine) == {}
    assert paper_titles(engine)["2604.21937"].startswith("MolClaw: An Autonomous Agent")


def test_weekend_feed_is_empty_not_an_error(server: ReplayServer, tmp_path: Path, engine: Engine) -> None:
    server.add("/rss/cs.CL", WEEKEND)
    report = harvest_rss(engine, make_settings(server, tmp_path, auto_feature=("cs.CL",)), ["cs.CL"])
    assert (report.new, report.featured, report.rejected) == (0, 0, 0)


def test_malformed_feed_names_the_url(server: ReplayServer, tmp_path: Path, engine: Engine) -> None:
    server.add("/rss/cs.CL", CL[: len(CL) // 2])
    with pytest.raises(SourceError, match=rf"{server.url}/rss/cs.CL: malformed XML"):
        harvest_rss(engine, make_settings(server, tmp_path), ["cs.CL"])


def test_scheduler_waits_for_categories_and_the_hour(server: ReplayServer, tmp_path: Path, engine: Engine) -> None:
    server.add("/rss/cs.CL", CL)
    at_one = dt.datetime(2026, 4, 27, 1, 59, tzinfo=dt.UTC)
    assert not HarvestScheduler(engine, make_settings(server, tmp_path)).run_once(at_one.replace(hour=5))
    scheduler = HarvestScheduler(engine, make_settings(server, tmp_path, fetch_categories=("cs.CL",)))
    assert not scheduler.run_once(at_one)
    assert server.log == [] and job_rows(engine) == []
    # A naive time is taken as UTC; 02:00 UTC is the default hour.
    assert scheduler.run_once(dt.datetime(2026, 4, 27, 2, 0))
    assert job_rows(engine) == [("2026-04-27", True)]


def test_two_schedulers_claim_each_day_once(server: ReplayServer, tmp_path: Path, engine: Engine) -> None:
    server.add("/rss/cs.CL+cs.AI", CL)
    settings = make_settings(server, tmp_path, fetch_categories=("cs.CL", "cs.AI"), auto_feature=("cs.CL",))
    schedulers = [HarvestScheduler(engine, settings) for _ in range(2)]
    now = dt.datetime(2026, 4, 27, 9, 30, tzinfo=dt.UTC)
    barrier = threading.Barrier(2)
    results: list[bool] = []

    def tick(s: HarvestScheduler) -> None:
        barrier.wait()
        results.append(s.run_once(now))

    threads = [threading.Thread(target=tick, args=(s,)) for s in schedulers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [False, True]
    assert not any(s.run_once(now + dt.timedelta(hours=3)) for s in schedulers)
    assert len(server.log) == 1 and job_rows(engine) == [("2026-04-27", True)]
    assert set(listings(engine)) == {"2604.22002", "2604.22027", "2604.22038"}
    assert all(day == DAY for day, _ in listings(engine).values())
    # The next day is a new claim.
    assert schedulers[1].run_once(now + dt.timedelta(days=1))
    assert job_rows(engine) == [("2026-04-27", True), ("2026-04-28", True)]


def test_failed_day_is_retried_once_its_claim_is_stale(server: ReplayServer, tmp_path: Path, engine: Engine) -> None:
    server.add("/rss/cs.CL", CL)
    server.inject(1, status(404))
    settings = make_settings(server, tmp_path, fetch_categories=("cs.CL",))
    now = dt.datetime(2026, 4, 27, 3, 0, tzinfo=dt.UTC)
    with pytest.raises(FetchError, match="HTTP 404"):
        HarvestScheduler(engine, settings).run_once(now)
    assert job_rows(engine) == [("2026-04-27", False)]
    assert not HarvestScheduler(engine, settings).run_once(now)  # claimed an instant ago
    assert HarvestScheduler(engine, settings, stale_after=dt.timedelta(0)).run_once(now)
    assert job_rows(engine) == [("2026-04-27", True)] and len(paper_titles(engine)) == 3


def test_background_thread_runs_and_stops(server: ReplayServer, tmp_path: Path, engine: Engine) -> None:
    server.add("/rss/cs.LG", (RSS / "new2024_cs_lg_2026-04-27_3items_distill.xml").read_bytes())
    settings = make_settings(server, tmp_path, fetch_categories=("cs.LG",), auto_feature=("cs.LG",))
    clock = lambda: dt.datetime(2026, 4, 27, 6, 0, tzinfo=dt.UTC)  # noqa: E731
    scheduler = HarvestScheduler(engine, settings, interval=0.02, clock=clock)
    scheduler.start()
    deadline = time.monotonic() + 5
    while scheduler.last_report is None and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.1)  # a few more ticks: all find the day claimed
    scheduler.stop()
    assert scheduler.last_report is not None and scheduler.last_report.featured == 3
    assert len(server.log) == 1 and job_rows(engine) == [("2026-04-27", True)]
