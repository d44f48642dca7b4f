"""RSS listings, auto-featuring, and the once-a-day `harvest-rss` job, on both databases."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from dailypapers.ingest.harvest import harvest_rss
from dailypapers.sources.record import SourceError
from tests.support.harvest import RSS, harvest_state, make_settings, paper_titles
from tests.support.jobs import at, run_job
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
        rows = conn.execute(text("SELECT period, finished_at FROM job_runs WHERE job = 'harvest-rss'")).all()
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


def test_the_job_waits_for_categories_and_the_hour(server: ReplayServer, tmp_path: Path, engine: Engine) -> None:
    server.add("/rss/cs.CL", CL)
    at_one = dt.datetime(2026, 4, 27, 1, 59, tzinfo=dt.UTC)
    status, runs = run_job(engine, make_settings(server, tmp_path), "harvest-rss", timestamp=at(at_one.replace(hour=5)))
    assert status == "succeeded" and runs[-1].note == "not due yet"  # no categories to harvest
    settings = make_settings(server, tmp_path, fetch_categories=("cs.CL",))
    status, runs = run_job(engine, settings, "harvest-rss", timestamp=at(at_one))
    assert status == "succeeded" and runs[-1].note == "not due yet"
    assert server.log == [] and job_rows(engine) == []
    # 02:00 UTC is the default hour.
    status, runs = run_job(engine, settings, "harvest-rss", timestamp=at(at_one.replace(hour=2, minute=0)))
    assert status == "succeeded" and runs[-1].note == "2026-04-27: 3 new, 0 featured"
    assert job_rows(engine) == [("2026-04-27", True)]


def test_each_day_is_harvested_once(server: ReplayServer, tmp_path: Path, engine: Engine) -> None:
    server.add("/rss/cs.CL+cs.AI", CL)
    settings = make_settings(server, tmp_path, fetch_categories=("cs.CL", "cs.AI"), auto_feature=("cs.CL",))
    now = dt.datetime(2026, 4, 27, 9, 30, tzinfo=dt.UTC)
    assert run_job(engine, settings, "harvest-rss", timestamp=at(now))[0] == "succeeded"
    status, runs = run_job(engine, settings, "harvest-rss", timestamp=at(now + dt.timedelta(hours=3)))
    assert status == "succeeded" and runs[-1].note == "2026-04-27: done already"
    assert len(server.log) == 1 and job_rows(engine) == [("2026-04-27", True)]
    assert set(listings(engine)) == {"2604.22002", "2604.22027", "2604.22038"}
    assert all(day == DAY for day, _ in listings(engine).values())
    # The next day is harvested again.
    assert run_job(engine, settings, "harvest-rss", timestamp=at(now + dt.timedelta(days=1)))[0] == "succeeded"
    assert job_rows(engine) == [("2026-04-27", True), ("2026-04-28", True)] and len(server.log) == 2


def test_a_failed_harvest_is_retried_and_its_error_kept(server: ReplayServer, tmp_path: Path, engine: Engine) -> None:
    server.add("/rss/cs.CL", CL)
    server.inject(1, status(404))
    settings = make_settings(server, tmp_path, fetch_categories=("cs.CL",), job_retry_seconds=600)
    now = dt.datetime(2026, 4, 27, 3, 0, tzinfo=dt.UTC)
    status_, runs = run_job(engine, settings, "harvest-rss", timestamp=at(now))
    assert status_ == "retrying" and [r.status for r in runs] == ["failed"] and "HTTP 404" in (runs[0].error or "")
    assert job_rows(engine) == []
    # The retry (here: the next run) harvests the day.
    status_, runs = run_job(engine, settings, "harvest-rss", timestamp=at(now))
    assert status_ == "succeeded" and job_rows(engine) == [("2026-04-27", True)] and len(paper_titles(engine)) == 3
