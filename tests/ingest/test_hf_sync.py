"""Following Hugging Face's Daily Papers (`dailypapers fetch hf`, the `hf-sync` job) against a local server
replaying its real answers, with injected faults: picks stored as featured with their submitter, links,
AI summary, keywords, thumbnail and media, their upvotes kept apart from ours; conditional requests, one
request a second, Retry-After, resuming a range, idempotence."""

from __future__ import annotations

import datetime as dt
import gzip
from pathlib import Path

import orjson
import pytest
from sqlalchemy import Engine, text

from dailypapers.ingest.hf_sync import days_between, sync_days
from dailypapers.ingest.http import FetchError, PoliteClient
from dailypapers.sources.record import SourceError
from dailypapers.store import feed
from dailypapers.store.db import read_tx
from tests.support.fixtures import FIXTURES
from tests.support.harvest import FakeTime, make_settings
from tests.support.jobs import at, run_job
from tests.support.replay import ReplayServer, Reply, status

ARCHIVE = FIXTURES / "hf_daily_papers" / "curation_archive"
OLD, DAY1, DAY2 = dt.date(2024, 5, 27), dt.date(2026, 1, 27), dt.date(2026, 1, 28)


def answer(day: dt.date) -> bytes:
    return gzip.decompress((ARCHIVE / f"{day.isoformat()}.json.gz").read_bytes())


def serve_days(server: ReplayServer, *days: dt.date) -> None:
    for day in days:
        etag = f'W/"{day.isoformat()}-v1"'
        server.add("/api/daily_papers", Reply(answer(day), headers=(("ETag", etag),)), date=day.isoformat())


def settings_for(server: ReplayServer, tmp_path: Path, **more: object):  # type: ignore[no-untyped-def]
    return make_settings(server, tmp_path, hf_api_url=server.url, **more)


def listings(engine: Engine) -> dict[str, tuple[dt.date, int, str | None]]:
    sql = (
        "SELECT p.id, l.day, l.upvotes, u.name FROM daily_listings l JOIN papers p ON p.pk = l.paper_pk "
        "LEFT JOIN users u ON u.pk = l.submitter_pk"
    )
    with engine.connect() as conn:
        return {
            r[0]: (r[1] if isinstance(r[1], dt.date) else dt.date.fromisoformat(r[1]), r[2], r[3])
            for r in conn.execute(text(sql))
        }


def test_a_day_is_stored_with_everything_hugging_face_says(
    server: ReplayServer, tmp_path: Path, engine: Engine
) -> None:
    serve_days(server, DAY1)
    report = sync_days(engine, settings_for(server, tmp_path), [DAY1], today=DAY2)
    items = orjson.loads(answer(DAY1))
    assert (report.new, report.featured, report.rejected, report.requests) == (22, 22, 0, 1)
    stored = listings(engine)
    assert len(stored) == 22
    for item in items:
        paper = item["paper"]
        day, upvotes, submitter = stored[paper["id"]]
        assert day == DAY1 and upvotes == paper["upvotes"]
        by = paper["submittedOnDailyBy"]
        assert submitter == (by.get("name") or by.get("user"))
    with read_tx(engine) as conn:
        rich = next(i for i in items if i["paper"].get("mediaUrls"))
        detail = feed.paper_detail(conn, rich["paper"]["id"])
    assert detail is not None
    e = detail.entry
    assert e.extra["thumbnail"] == rich["thumbnail"] and e.extra["mediaUrls"] == rich["paper"]["mediaUrls"]
    for key in ("ai_summary", "ai_keywords", "githubStars"):
        if key in rich["paper"]:
            assert e.extra[key] == rich["paper"][key]
    if rich["paper"].get("githubRepo"):
        assert e.code_urls[0] == rich["paper"]["githubRepo"]
    assert e.upvotes == rich["paper"]["upvotes"]  # Hugging Face's upvotes, none of ours yet


def test_the_older_answer_shape_is_featured_on_the_day_asked_for(
    server: ReplayServer, tmp_path: Path, engine: Engine
) -> None:
    serve_days(server, OLD)
    report = sync_days(engine, settings_for(server, tmp_path), [OLD], today=DAY2)
    assert report.featured == 13 and {day for day, _, _ in listings(engine).values()} == {OLD}


def test_unchanged_days_cost_a_304_and_old_days_are_not_asked_again(
    server: ReplayServer, tmp_path: Path, engine: Engine
) -> None:
    serve_days(server, DAY1, DAY2)
    settings = settings_for(server, tmp_path, sync_hf_days=1)
    first = sync_days(engine, settings, [DAY1, DAY2], today=DAY2)
    assert (first.featured, first.not_modified) == (31, 0)
    again = sync_days(engine, settings, [DAY1, DAY2], today=DAY2 + dt.timedelta(days=1))  # DAY1 is old now
    assert (again.new, again.updated, again.featured, again.not_modified, again.skipped) == (0, 0, 0, 1, 1)
    assert server.requests("/api/daily_papers")[-1].headers.get("If-None-Match") == f'W/"{DAY2.isoformat()}-v1"'
    later = sync_days(engine, settings, [DAY1, DAY2], today=DAY2 + dt.timedelta(days=5))
    assert later.skipped == 2 and later.requests == 0 and len(server.log) == 3


def test_upvotes_that_grew_are_updated_and_ours_stay_apart(
    server: ReplayServer, tmp_path: Path, engine: Engine
) -> None:
    items = orjson.loads(answer(DAY2))
    grown = [{**i, "paper": {**i["paper"], "upvotes": i["paper"]["upvotes"] + 10}} for i in items]
    server.add(
        "/api/daily_papers",
        Reply(answer(DAY2), headers=(("ETag", '"a"'),)),
        Reply(orjson.dumps(grown), headers=(("ETag", '"b"'),)),  # later in the day: more upvotes
        date=DAY2.isoformat(),
    )
    settings = settings_for(server, tmp_path)
    sync_days(engine, settings, [DAY2], today=DAY2)
    second = sync_days(engine, settings, [DAY2], today=DAY2)
    assert second.featured == 9 and second.new == 0
    assert {pid: up for pid, (_, up, _) in listings(engine).items()} == {
        i["paper"]["id"]: i["paper"]["upvotes"] + 10 for i in items
    }


def test_faults_are_retried_politely_and_a_range_resumes(
    server: ReplayServer, tmp_path: Path, engine: Engine, fake_time: FakeTime
) -> None:
    serve_days(server, DAY1, DAY2)
    server.inject(1, status(429, retry_after="7"))
    server.inject(2, status(503))
    server.inject(4, Reply(kind="truncate"))
    settings = settings_for(server, tmp_path, max_retries=3, request_interval=3.0)
    client = PoliteClient(settings, clock=fake_time.clock, sleep=fake_time.sleep)
    report = sync_days(engine, settings, [DAY1, DAY2], today=DAY2, client=client)
    assert report.featured == 31 and report.requests == 5
    assert 7.0 in fake_time.sleeps  # Retry-After honoured
    # A day that cannot be read stops the range; the days before it are kept, and a rerun goes on from it.
    later = DAY2 + dt.timedelta(days=30)
    with ReplayServer() as broken:
        broken.add("/api/daily_papers", b"[]", date="2026-01-25")
        broken.add("/api/daily_papers", b'[{"paper": ', date="2026-01-26")
        with pytest.raises(SourceError, match="malformed JSON"):
            sync_days(engine, settings_for(broken, tmp_path), days_between(dt.date(2026, 1, 25), DAY2), today=later)
        broken.routes.pop()
        broken.add("/api/daily_papers", b"[]", date="2026-01-26")
        rerun = sync_days(engine, settings_for(broken, tmp_path), days_between(dt.date(2026, 1, 25), DAY2), today=later)
    assert (rerun.skipped, rerun.requests) == (3, 1)  # only the day that failed is asked for again
    with pytest.raises(FetchError):
        sync_days(engine, settings_for(server, tmp_path, max_retries=0), [dt.date(2026, 1, 29)], today=DAY2)


def test_the_hf_sync_job_checks_today_and_the_last_days(server: ReplayServer, tmp_path: Path, engine: Engine) -> None:
    serve_days(server, DAY1, DAY2)
    server.add("/api/daily_papers", b"[]", date="2026-01-26")
    server.add("/api/daily_papers", b"[]", date="2026-01-25")
    settings = settings_for(server, tmp_path, sync_hf=True)
    status_, runs = run_job(engine, settings, "hf-sync", timestamp=at(dt.datetime(2026, 1, 28, 9, 20, tzinfo=dt.UTC)))
    assert status_ == "succeeded" and (runs[-1].done, runs[-1].total) == (4, 4)
    assert runs[-1].note == "4 days (0 unchanged): 31 new, 0 updated, 31 listings changed"
    assert [r.query["date"] for r in server.requests("/api/daily_papers")] == [
        "2026-01-25",
        "2026-01-26",
        "2026-01-27",
        "2026-01-28",
    ]


def test_days_between() -> None:
    assert days_between(DAY1, DAY2) == [DAY1, DAY2]
    with pytest.raises(ValueError, match="is before"):
        days_between(DAY2, DAY1)
