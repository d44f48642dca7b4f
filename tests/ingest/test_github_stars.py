"""GitHub stars of papers' code (`dailypapers fetch github`, the `github-stars` job) against a local server
replaying GitHub's real recorded answers (PyGithub's ReplayData: a 200, a 304, a 404, 301s for moved
repositories, rate-limit 403s and 502s), with injected faults: stars, last push and renames stored for each
repository and its papers, ETags, the refresh schedule, the rate limit, resuming after failures."""

from __future__ import annotations

import datetime as dt
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from dailypapers.cli.main import app
from dailypapers.config import Settings
from dailypapers.ingest import github_stars
from dailypapers.ingest.github_stars import StarsReport, refresh_interval, sync_stars
from dailypapers.ingest.http import FetchError, PoliteClient
from dailypapers.ingest.importer import ImportReport, ingest_items
from dailypapers.sources.record import Listing, PaperRecord
from dailypapers.store import code_repos
from dailypapers.store.db import read_tx, write_tx
from tests.support.fixtures import FIXTURES
from tests.support.harvest import FakeTime, make_settings
from tests.support.jobs import at, run_job
from tests.support.replay import CUT, TRUNCATE, Exchange, ReplayServer, load_replay_data, status

RECORDED = FIXTURES / "github_api" / "pygithub"
TOKEN = "ghp_not-a-real-token-0123456789"


def recorded(name: str) -> list[Exchange]:
    return load_replay_data(RECORDED / f"{name}.txt")


PYGITHUB = recorded("Requester.testApiVersion")[1]  # 200, 7701 stars, 45 of 60 requests left
MOVED, RENAMED = recorded("PullRequest2408.setUp")  # 301 -> /repositories/146139403: ReDASers/PhishBench
TRANSFERRED = recorded("Repository.testGetRepositoryWith301Redirect")  # 301 -> padima2/protoncoin
MISSING = recorded("LazyRepository.testGetVulnerabilityAlert")[2]  # 404 /repos/random/vulnerability-alerts
ETAG_FIRST, ETAG_304, ETAG_CHANGED = (
    recorded(f"ConditionalRequestUpdate.{n}")[0] for n in ("setUp", "testDidNotUpdate", "testDidUpdate")
)
LIMIT_SPENT = recorded("SpecificExceptions.testRateLimitExceeded")[1]  # 403, X-RateLimit-Remaining 0, no reset
TOO_FAST = recorded("SpecificExceptions.testAuthenticatedRateLimitExceeded")[1]  # 403 with Retry-After: 60
BAD_GATEWAY = recorded("Retry.testRaisesRetryErrorAfterMaxRetries")[0]  # 502


def when(answer: Exchange) -> dt.datetime:
    """The moment GitHub answered (its Date header)."""
    return parsedate_to_datetime(answer.header("Date") or "").astimezone(dt.UTC)


NOW = when(PYGITHUB)  # 2026-04-24 09:35:49 UTC


def paper(pid: str, published: dt.date, *urls: str, featured: dt.date | None = None) -> PaperRecord:
    return PaperRecord(
        id=pid,
        source="test",
        title=f"Paper {pid}",
        published=dt.datetime(published.year, published.month, published.day, tzinfo=dt.UTC),
        code_urls=list(urls),
        listing=Listing(featured, "test") if featured else None,
    )


def store_papers(engine: Engine, *records: PaperRecord) -> None:
    ingest_items(engine, records, ImportReport())


def settings_for(server: ReplayServer, tmp_path: Path, **more: object) -> Settings:
    return make_settings(server, tmp_path, github_api_url=server.url, github_token=TOKEN, **more)


def client(settings: Settings, fake_time: FakeTime) -> PoliteClient:
    return PoliteClient(settings, clock=fake_time.clock, sleep=fake_time.sleep)


def serve(server: ReplayServer, *answers: Exchange) -> None:
    """Each recorded answer at its recorded path (a redirect's Location pointing at the server)."""
    for answer in answers:
        server.add(answer.path, answer.reply(server.url))


def stars_of(engine: Engine) -> dict[str, tuple[Any, ...]]:
    """Each paper's (stars, stars_growth, code_pushed_at)."""
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT id, stars, stars_growth, code_pushed_at FROM papers")).all()
    return {r[0]: (r[1], r[2], code_repos.aware(r[3])) for r in rows}


def state(engine: Engine, name: str) -> code_repos.RepoState:
    with read_tx(engine) as conn:
        found = code_repos.repo_state(conn, name)
    assert found is not None, name
    return found


def history(engine: Engine, name: str) -> list[tuple[dt.date, int]]:
    with read_tx(engine) as conn:
        return code_repos.star_history(conn, state(engine, name).pk)


def all_text(engine: Engine) -> str:
    """Every value the sync wrote, as text (to look for the token in)."""
    with engine.connect() as conn:
        rows = [*conn.execute(text("SELECT * FROM code_repos")), *conn.execute(text("SELECT * FROM harvest_state"))]
    return repr(rows)


def test_stars_pushes_and_renames_are_stored_for_repositories_and_papers(
    server: ReplayServer, tmp_path: Path, engine: Engine, fake_time: FakeTime
) -> None:
    store_papers(
        engine,
        paper("2604.00001", dt.date(2026, 4, 20), "https://github.com/PyGithub/PyGithub"),
        paper(
            "2301.00002",
            dt.date(2023, 1, 10),
            "https://github.com/ReDASers/Phishing-Detection",
            "https://github.com/random/vulnerability-alerts",
        ),
        paper(
            "1810.00003",
            dt.date(2018, 10, 1),
            "https://github.com/protoncoin/protoncoin",
            "https://github.com/pygithub/pygithub/tree/main/tests",
            featured=dt.date(2026, 3, 1),
        ),
        paper("2604.00004", dt.date(2026, 4, 21), "https://gitlab.com/owner/repo"),
    )
    serve(server, PYGITHUB, MOVED, RENAMED, MISSING, *TRANSFERRED)
    server.add("/repos/pygithub/pygithub", PYGITHUB.reply())  # GitHub's names ignore case; the newest link's
    settings = settings_for(server, tmp_path)
    report = sync_stars(engine, settings, client=client(settings, fake_time), now=NOW)
    assert (report.linked, report.repos, report.updated, report.not_modified) == (4, 4, 3, 0)
    assert (report.missing, report.renamed, report.papers, report.requests) == (1, 2, 4, 4)  # 1810.00003 twice
    assert report.remaining is not None and report.paused_until is None and report.errors == []
    # What GitHub was asked, as its API wants it; the token goes along the redirects on the same host.
    assert len(server.log) == 6
    for request in server.log:
        assert request.headers["Authorization"] == f"Bearer {TOKEN}"
        assert request.headers["Accept"] == "application/vnd.github+json"
        assert request.headers["X-GitHub-Api-Version"] == "2022-11-28"
        assert request.headers["User-Agent"].startswith("dailypapers/")
        assert "If-None-Match" not in request.headers
    pushed = dt.datetime(2026, 4, 14, 7, 25, 38, tzinfo=dt.UTC)
    assert stars_of(engine) == {
        "2604.00001": (7701, None, pushed),  # no growth before a second day's count
        "2301.00002": (6, None, dt.datetime(2022, 11, 21, 23, 43, 4, tzinfo=dt.UTC)),  # 404 beside: the other
        "1810.00003": (7701, None, pushed),  # the most starred of its two
        "2604.00004": (None, None, None),
    }
    moved = state(engine, "redasers/phishing-detection")
    assert (moved.full_name, moved.stars, moved.status, moved.github_id) == ("ReDASers/PhishBench", 6, "ok", 146139403)
    assert moved.etag == RENAMED.header("ETag") and moved.next_check_at == NOW + dt.timedelta(days=7)  # old paper
    assert state(engine, "protoncoin/protoncoin").full_name == "padima2/protoncoin"
    gone = state(engine, "random/vulnerability-alerts")
    assert (gone.status, gone.stars, gone.error) == ("missing", None, "HTTP 404 Not Found")
    assert gone.next_check_at == NOW + dt.timedelta(days=30)
    # A paper of 4 days ago makes its repository a hot one, even if older papers link to it as well.
    assert state(engine, "pygithub/pygithub").next_check_at == NOW + dt.timedelta(hours=6)
    assert history(engine, "pygithub/pygithub") == [(NOW.date(), 7701)]
    assert TOKEN not in repr(settings) and TOKEN not in repr(report) and TOKEN not in all_text(engine)
    # Nothing is due any more: a second run asks nothing. Renamed repositories are asked for by their new name.
    again = sync_stars(engine, settings, client=client(settings, fake_time), now=NOW + dt.timedelta(hours=1))
    assert (again.repos, again.requests, again.linked) == (0, 0, 0)
    server.add("/repos/ReDASers/PhishBench", RENAMED.reply())
    later = sync_stars(engine, settings, client=client(settings, fake_time), now=NOW + dt.timedelta(days=8), limit=1)
    assert later.repos == 1 and server.log[-1].path == "/repos/PyGithub/PyGithub"  # as GitHub spells it
    assert server.log[-1].headers["If-None-Match"] == PYGITHUB.header("ETag")


def test_unchanged_repositories_cost_a_304_and_still_count_for_the_day(
    server: ReplayServer, tmp_path: Path, engine: Engine, fake_time: FakeTime
) -> None:
    first = when(ETAG_FIRST)  # 2013-08-22 02:13:08 UTC
    store_papers(engine, paper("1308.00001", dt.date(2013, 8, 20), "https://github.com/akfish/PyGithub"))
    server.add("/repos/akfish/PyGithub", ETAG_FIRST.reply(), ETAG_304.reply(), ETAG_CHANGED.reply())
    settings = settings_for(server, tmp_path)

    def run(at: dt.datetime) -> StarsReport:
        return sync_stars(engine, settings, client=client(settings, fake_time), now=at)

    assert run(first).updated == 1
    assert state(engine, "akfish/pygithub").etag == '"8600bedcb7fed1d8065e1693e05529ce"'
    assert run(first + dt.timedelta(hours=5)).requests == 0  # not due before 6 hours
    second = run(first + dt.timedelta(days=1))
    assert (second.not_modified, second.updated, second.requests) == (1, 0, 1)
    assert server.log[-1].headers["If-None-Match"] == '"8600bedcb7fed1d8065e1693e05529ce"'
    assert history(engine, "akfish/pygithub") == [(dt.date(2013, 8, 22), 0), (dt.date(2013, 8, 23), 0)]
    assert stars_of(engine)["1308.00001"][:2] == (0, 0)  # a second day's count: a growth of 0
    third = run(first + dt.timedelta(days=2))
    assert third.updated == 1 and state(engine, "akfish/pygithub").etag == '"ef281ef0e821c18f80da36902727160b"'
    assert server.log[-1].headers["If-None-Match"] == '"8600bedcb7fed1d8065e1693e05529ce"'


def test_growth_over_a_week_and_the_paper_follows_its_most_starred_repository(engine: Engine) -> None:
    store_papers(
        engine, paper("2604.00001", dt.date(2026, 4, 1), "https://github.com/a/one", "https://github.com/b/two")
    )
    day0 = dt.datetime(2026, 4, 1, 12, tzinfo=dt.UTC)
    report = StarsReport()
    github_stars.discover(engine, day0, report)
    assert report.linked == 2
    one, two = state(engine, "a/one").pk, state(engine, "b/two").pk

    def found(pk: int, stars: int, day: int) -> int:
        at = day0 + dt.timedelta(days=day)
        with write_tx(engine) as conn:
            return code_repos.save_found(
                conn, pk, full_name="x/y", github_id=None, stars=stars, pushed_at=at, etag="", now=at, next_check_at=at
            )

    assert found(one, 100, 0) == 1 and stars_of(engine)["2604.00001"] == (100, None, day0)
    assert found(two, 50, 0) == 0  # less starred: the paper keeps the first
    found(one, 110, 3)
    assert stars_of(engine)["2604.00001"][:2] == (110, 10)  # from the oldest count of the week
    found(one, 130, 8)
    assert stars_of(engine)["2604.00001"][:2] == (130, 130 - 100)  # from the latest count a week old (day 0)
    found(one, 131, 10)
    assert stars_of(engine)["2604.00001"][:2] == (131, 131 - 110)  # day 3 is the latest a week old
    found(two, 500, 10)
    assert stars_of(engine)["2604.00001"][:2] == (500, 450)  # the other is the most starred now
    found(one, 140, 30)
    with write_tx(engine) as conn:
        assert code_repos.save_missing(conn, two, error="HTTP 404", now=day0, next_check_at=day0) == 1
    assert stars_of(engine)["2604.00001"][:2] == (140, None)  # counts a month old measure no week
    # The paper drops a link: it follows what is left.
    with write_tx(engine) as conn:
        conn.execute(text("UPDATE papers SET code_urls = '[]'"))
    github_stars.discover(engine, day0 + dt.timedelta(days=31), StarsReport())
    assert stars_of(engine)["2604.00001"] == (None, None, None)


def test_refresh_interval() -> None:
    today = dt.date(2026, 4, 24)
    assert refresh_interval(today, today) == dt.timedelta(hours=6)
    assert refresh_interval(today - dt.timedelta(days=14), today) == dt.timedelta(hours=6)
    assert refresh_interval(today - dt.timedelta(days=15), today) == dt.timedelta(days=1)
    assert refresh_interval(today - dt.timedelta(days=91), today) == dt.timedelta(days=7)
    assert refresh_interval(None, today) == dt.timedelta(days=7)


def three_repos(engine: Engine, server: ReplayServer) -> None:
    store_papers(
        engine,
        paper(
            "2604.00001",
            dt.date(2026, 4, 20),
            "https://github.com/PyGithub/PyGithub",
            "https://github.com/random/vulnerability-alerts",
            "https://github.com/protoncoin/protoncoin",
        ),
    )
    serve(server, PYGITHUB, MISSING, *TRANSFERRED)


def test_a_spent_rate_limit_stops_the_run_and_a_later_run_goes_on(
    server: ReplayServer, tmp_path: Path, engine: Engine, fake_time: FakeTime
) -> None:
    three_repos(engine, server)
    server.inject(2, LIMIT_SPENT.reply())  # GitHub's own answer: no requests left (and no reset time)
    settings = settings_for(server, tmp_path)
    report = sync_stars(engine, settings, client=client(settings, fake_time), now=NOW)
    assert (report.repos, report.updated, report.requests, report.remaining) == (1, 1, 2, 0)
    assert report.paused_until == NOW + dt.timedelta(hours=1)
    assert "paused until 2026-04-24 10:35:49 UTC" in report.note
    assert state(engine, "random/vulnerability-alerts").status == "new"  # untouched, still due
    assert fake_time.sleeps == []  # no retrying a rate limit
    soon = sync_stars(engine, settings, client=client(settings, fake_time), now=NOW + dt.timedelta(minutes=30))
    assert (soon.requests, soon.paused_until) == (0, NOW + dt.timedelta(hours=1))
    later = sync_stars(engine, settings, client=client(settings, fake_time), now=NOW + dt.timedelta(minutes=61))
    assert (later.repos, later.updated, later.missing, later.paused_until) == (2, 1, 1, None)
    assert [r.path for r in server.log[2:]] == [
        "/repos/random/vulnerability-alerts",
        "/repos/protoncoin/protoncoin",
        "/repositories/112116543",
    ]


def test_a_secondary_limit_waits_retry_after_then_longer_each_time(
    server: ReplayServer, tmp_path: Path, engine: Engine, fake_time: FakeTime
) -> None:
    three_repos(engine, server)
    server.inject(1, TOO_FAST.reply())  # "You have triggered an abuse detection mechanism", Retry-After: 60
    server.inject(2, status(429))  # no headers at all: a minute, then two, ...
    server.inject(3, status(429))
    settings = settings_for(server, tmp_path)

    def run(at: dt.datetime) -> StarsReport:
        return sync_stars(engine, settings, client=client(settings, fake_time), now=at)

    assert run(NOW).paused_until == NOW + dt.timedelta(seconds=60)
    t = NOW + dt.timedelta(seconds=60)
    assert run(t).paused_until == t + dt.timedelta(minutes=2)
    t += dt.timedelta(minutes=2)
    assert run(t).paused_until == t + dt.timedelta(minutes=4)
    t += dt.timedelta(minutes=4)
    done = run(t)
    assert (done.repos, done.paused_until) == (3, None)
    with read_tx(engine) as conn:
        assert code_repos.count_due(conn, t) == 0


def test_the_budget_keeps_a_reserve(server: ReplayServer, tmp_path: Path, engine: Engine, fake_time: FakeTime) -> None:
    three_repos(engine, server)
    settings = settings_for(server, tmp_path)
    report = sync_stars(engine, settings, client=client(settings, fake_time), now=NOW, reserve=45)
    reset = dt.datetime.fromtimestamp(int(PYGITHUB.header("X-RateLimit-Reset") or 0), dt.UTC)
    assert (report.repos, report.remaining, report.paused_until) == (1, 45, reset)  # 45 left: stop at once


def test_faults_are_retried_and_a_failed_run_leaves_nothing_half_written(
    server: ReplayServer, tmp_path: Path, engine: Engine, fake_time: FakeTime, monkeypatch: pytest.MonkeyPatch
) -> None:
    three_repos(engine, server)
    server.inject(1, CUT)
    server.inject(2, TRUNCATE)
    bad = BAD_GATEWAY.reply()
    for n in range(3, 6):
        server.inject(n, bad)  # a real 502, then three more tries: more than the client retries
    settings = settings_for(server, tmp_path, max_retries=3, request_interval=1.0)
    with pytest.raises(FetchError, match="HTTP 502"):
        sync_stars(engine, settings, client=client(settings, fake_time), now=NOW)
    assert len(fake_time.sleeps) == 3 and len(server.log) == 4  # backed off, then gave up
    first = state(engine, "pygithub/pygithub")  # put back an hour, so that it holds up nobody
    assert (first.status, first.stars, first.next_check_at) == ("new", None, NOW + dt.timedelta(hours=1))
    assert "HTTP 502" in first.error
    assert history(engine, "pygithub/pygithub") == [] and stars_of(engine)["2604.00001"] == (None, None, None)
    # A crash while an answer is being stored (here: while the papers follow) rolls all of it back.
    calls = []

    def crash(conn: Any, pks: Any) -> int:
        calls.append(pks)
        raise RuntimeError("killed")

    monkeypatch.setattr(code_repos, "refresh_papers", crash)
    with pytest.raises(RuntimeError):
        sync_stars(engine, settings, client=client(settings, fake_time), now=NOW + dt.timedelta(minutes=10))
    assert calls and state(engine, "random/vulnerability-alerts").status == "new"
    monkeypatch.undo()
    # The next runs go on: the two not asked yet now, the one put back after its hour.
    rerun = sync_stars(engine, settings, client=client(settings, fake_time), now=NOW + dt.timedelta(minutes=20))
    assert (rerun.repos, rerun.missing, rerun.updated) == (2, 1, 1)
    last = sync_stars(engine, settings, client=client(settings, fake_time), now=NOW + dt.timedelta(minutes=61))
    assert (last.repos, last.updated) == (1, 1)
    assert stars_of(engine)["2604.00001"][0] == 7701 and state(engine, "pygithub/pygithub").error == ""


def test_a_refused_token_stops_with_a_clear_error(
    server: ReplayServer, tmp_path: Path, engine: Engine, fake_time: FakeTime
) -> None:
    three_repos(engine, server)
    server.inject_from(1, status(401, body=b'{"message": "Bad credentials"}'))
    settings = settings_for(server, tmp_path)
    with pytest.raises(FetchError, match="GitHub refused DAILYPAPERS_GITHUB_TOKEN") as caught:
        sync_stars(engine, settings, client=client(settings, fake_time), now=NOW)
    assert TOKEN not in str(caught.value) and len(server.log) == 1
    assert state(engine, "pygithub/pygithub").next_check_at == NOW  # still due


def test_the_github_stars_job(server: ReplayServer, tmp_path: Path, engine: Engine) -> None:
    store_papers(engine, paper("2604.00001", dt.date(2026, 4, 20), "https://github.com/PyGithub/PyGithub"))
    serve(server, PYGITHUB)
    settings = settings_for(server, tmp_path, sync_github=True)
    status_, runs = run_job(engine, settings, "github-stars", timestamp=at(NOW))
    assert status_ == "succeeded" and (runs[-1].done, runs[-1].total) == (1, 1)
    assert runs[-1].note == "1 repositories (0 unchanged, 0 missing), 1 new: 1 papers changed"
    assert stars_of(engine)["2604.00001"][0] == 7701


def test_fetch_github_command(server: ReplayServer, tmp_path: Path, db_url: str, engine: Engine) -> None:
    store_papers(
        engine,
        paper("2604.00001", dt.date(2026, 4, 20), "https://github.com/PyGithub/PyGithub"),
        paper("2604.00002", dt.date(2026, 4, 21), "https://github.com/random/vulnerability-alerts"),
    )
    serve(server, PYGITHUB, MISSING)
    env = {
        "DAILYPAPERS_DATA_DIR": str(tmp_path),
        "DAILYPAPERS_DATABASE_URL": db_url,
        "DAILYPAPERS_GITHUB_API_URL": server.url,
        "DAILYPAPERS_GITHUB_TOKEN": TOKEN,
        "DAILYPAPERS_MAX_RETRIES": "1",
    }
    result = CliRunner().invoke(app, ["fetch", "github", "--limit", "1"], env=env)
    assert result.exit_code == 0, result.output
    assert "GitHub stars" in result.output and TOKEN not in result.output
    assert len(server.log) == 1  # the newest paper's repository first
    assert server.log[0].path == "/repos/random/vulnerability-alerts"
    server.inject_from(2, status(401))
    failed = CliRunner().invoke(app, ["fetch", "github"], env=env)
    assert failed.exit_code == 1 and "GitHub refused DAILYPAPERS_GITHUB_TOKEN" in " ".join(failed.output.split())
    assert TOKEN not in failed.output
