"""Curation learned from the community, on real data (tests/fixtures/curation: three days of arXiv's full
announcement lists and eight days of Hugging Face's picks), on SQLite and PostgreSQL: training from the
store, ranking a day, the day's auto picks with their reasons, curators' skips, the feed, Atom and the
admin page, and `dailypapers curate`."""

from __future__ import annotations

import dataclasses
import datetime as dt
import gzip
import json
from pathlib import Path

import httpx
import pytest
from lxml import etree, html
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from dailypapers.cli import main as cli
from dailypapers.config import Settings
from dailypapers.curation import auto, featuring
from dailypapers.digest.compose import period_papers
from dailypapers.ingest.importer import import_file
from dailypapers.periods import period_of
from dailypapers.ranking.score import TrendingParams
from dailypapers.store import accounts
from dailypapers.store.db import read_tx, write_tx
from tests.support.accounts import make_user, post, sign_in
from tests.support.fixtures import FIXTURES
from tests.support.harvest import make_settings
from tests.support.jobs import at, run_job
from tests.support.replay import ReplayServer
from tests.support.server import serve_app

DATA = FIXTURES / "curation"
DAY = dt.date(2026, 1, 28)  # ranked: its picking window is still open when "today" is TODAY
TODAY = dt.date(2026, 2, 7)  # so the model learns from 2026-01-23 and 2026-01-26
SETTINGS = Settings(data_dir=Path("/nonexistent"), auto_feature=("cs.CL", "cs.LG", "cs.CV", "cs.AI"))


def load(engine: Engine) -> None:
    """The history a synced instance would have: Hugging Face's picks, then arXiv's lists (both gzipped)."""
    for path in [*sorted((DATA / "hf_daily").glob("*.json.gz")), *sorted((DATA / "arxiv_days").glob("*.gz"))]:
        report = import_file(engine, path)
        assert report.rejected == 0, report.errors


def labels(day: dt.date) -> set[str]:
    """The papers of the day's list that Hugging Face featured from D-3 to D+10 (the data's own labels)."""
    return {f["id"] for f in json.loads((DATA / f"{day.isoformat()}.json").read_text())["featured_on_hf"]}


def average_precision(ranked: list[str], relevant: set[str]) -> float:
    hits, total = 0, 0.0
    for n, pid in enumerate(ranked, 1):
        if pid in relevant:
            hits += 1
            total += hits / n
    return total / len(relevant)


@pytest.fixture
def trained(engine: Engine) -> auto.TrainReport:
    load(engine)
    return auto.train_model(engine, SETTINGS, today=TODAY)


def test_trains_on_closed_days_and_ranks_a_new_day_well(engine: Engine, trained: auto.TrainReport) -> None:
    assert (trained.first_day, trained.last_day, trained.days) == (dt.date(2026, 1, 23), dt.date(2026, 1, 26), 2)
    assert trained.positives > 10 and trained.picks >= 100
    ranked = auto.rank_day(engine, SETTINGS, DAY)
    with read_tx(engine) as conn:
        pool = conn.execute(text("SELECT count(*) FROM papers WHERE announced = :d"), {"d": DAY}).scalar()
    assert len(ranked) == 261 <= pool  # the day's new papers of the four categories (the data's pool)
    assert [r.score for r in ranked] == sorted((r.score for r in ranked), reverse=True)
    assert all(r.reason.endswith(".") and (r.reason[0].isupper() or r.reason[0].isdigit()) for r in ranked)
    # Far better than chance (a random order's average precision is about 5 / 261) after only two days.
    relevant = labels(DAY)
    assert average_precision([r.id for r in ranked], relevant) > 4 * len(relevant) / len(ranked)
    # The model is stored: another process ranks the same.
    auto._cache.clear()
    assert [r.id for r in auto.rank_day(engine, SETTINGS, DAY)][:30] == [r.id for r in ranked][:30]
    only_cl = auto.rank_day(engine, SETTINGS, DAY, ["cs.CL"])
    assert 0 < len(only_cl) < len(ranked)


def test_picks_the_top_with_reasons_and_curators_can_skip(engine: Engine, trained: auto.TrainReport) -> None:
    settings = dataclasses.replace(SETTINGS, auto_feature_top=5)
    report = auto.pick_day(engine, settings, DAY)
    ranked = [r.id for r in auto.rank_day(engine, settings, DAY)]
    already = report.kept  # Hugging Face featured some on the day itself
    assert report.picked + already == 5 and report.candidates == 261
    picked = picks_of(engine)
    assert set(picked) | featured_by_others(engine) >= set(ranked[:5])
    assert all(reason for reason in picked.values())
    again = auto.pick_day(engine, settings, DAY)
    assert (again.picked, picks_of(engine)) == (0, picked)  # idempotent

    curator = make_user(engine, "cura", role="curator")
    first = next(pid for pid in ranked if pid in picked)
    featuring.skip(engine, curator, first, DAY)
    assert first not in picks_of(engine)
    topped = auto.pick_day(engine, settings, DAY)
    assert topped.picked == 1 and topped.skipped == 1 and first not in picks_of(engine)
    # Unfeaturing a pick skips it too; unskipping lets the next pick choose it again.
    second = next(iter(picks_of(engine)))
    featuring.unfeature(engine, curator, second, DAY)
    assert auto.pick_day(engine, settings, DAY).skipped == 2
    featuring.unskip(engine, curator, first, DAY)
    auto.pick_day(engine, dataclasses.replace(settings, auto_feature_top=6), DAY)
    assert first in picks_of(engine)
    with read_tx(engine) as conn:
        actions = [e.action for e in accounts.audit_entries(conn, limit=10)]
        # The day's digest follows the feed: the picks are in it, the skipped pick is not.
        digest = {p.id for p in period_papers(conn, period_of("day", DAY), TrendingParams.from_settings(settings))}
    assert {"skip", "unfeature", "unskip"} <= set(actions)
    assert set(picks_of(engine)) <= digest and second not in digest


def picks_of(engine: Engine) -> dict[str, str]:
    sql = (
        "SELECT p.id, l.reason FROM daily_listings l JOIN papers p ON p.pk = l.paper_pk "
        "WHERE l.day = :d AND l.source = 'auto:model'"
    )
    with read_tx(engine) as conn:
        return dict(conn.execute(text(sql), {"d": DAY}).all())


def featured_by_others(engine: Engine) -> set[str]:
    sql = (
        "SELECT p.id FROM daily_listings l JOIN papers p ON p.pk = l.paper_pk "
        "WHERE l.day = :d AND l.source <> 'auto:model'"
    )
    with read_tx(engine) as conn:
        return {r[0] for r in conn.execute(text(sql), {"d": DAY})}


def test_feed_atom_and_admin_page_show_the_picks(engine: Engine, trained: auto.TrainReport, tmp_path: Path) -> None:
    settings = dataclasses.replace(SETTINGS, auto_feature_top=5)
    auto.pick_day(engine, settings, DAY)
    picked = picks_of(engine)
    make_user(engine, "cura", role="curator")
    make_user(engine, "reader")
    fields = {"auto_feature": SETTINGS.auto_feature, "auto_feature_top": 5, "rate_limits": False}
    with serve_app(engine, tmp_path, **fields) as base:
        feed = html.fromstring(httpx.get(f"{base}/date/{DAY}").text)
        badges = {
            b.getparent().getparent().getparent().get("id").removeprefix("paper-"): b.get("title")
            for b in feed.cssselect("a.badge.picked")
        }
        assert badges == picked  # the badge's hover is the reason
        some = next(iter(picked))
        page = html.fromstring(httpx.get(f"{base}/papers/{some}").text)
        assert page.cssselect("#featured .pick-reason")[0].text_content() == picked[some]
        atom = etree.fromstring(httpx.get(f"{base}/date/{DAY}/feed.atom").content)
        ns = {"a": "http://www.w3.org/2005/Atom"}
        atom_ids = {e.findtext("a:link[@rel='alternate']", namespaces=ns) for e in atom.findall("a:entry", ns)}
        links = {e.get("href") for e in atom.findall("a:entry/a:link", ns)}
        assert {f"{base}/papers/{pid}" for pid in picked} <= links | atom_ids

        reader = sign_in(base, "reader")
        assert reader.get("/admin/curation").status_code == 403
        curator = sign_in(base, "cura")
        admin = html.fromstring(curator.get("/admin/curation").text)  # the latest announcement day
        rows = admin.cssselect("table.admin-table tbody tr")
        assert len(rows) == 261 and rows[0].cssselect("td")[0].text == "1"
        states = {r.get("id").removeprefix("paper-"): r.get("class") for r in rows}
        assert {pid for pid, state in states.items() if state == "state-picked"} == set(picked)
        r = post(curator, "/admin/curation/skip", {"paper_id": some, "day": DAY.isoformat()})
        assert r.status_code == 303 and r.headers["location"].startswith(f"/admin/curation?date={DAY}")
        assert some not in picks_of(engine)
        again = html.fromstring(curator.get(f"/admin/curation?date={DAY}").text)
        assert again.xpath(f"//tr[@id='paper-{some}']")[0].get("class") == "state-skipped"
        assert some not in httpx.get(f"{base}/date/{DAY}").text  # the feed follows
        assert curator.get("/admin/curation?date=2026-02-30").status_code == 400
        assert post(curator, "/admin/curation/explode", {"paper_id": some, "day": "2026-01-28"}).status_code == 404
        bad = post(curator, "/admin/curation/skip", {"paper_id": "nope", "day": "2026-01-28"})
        assert bad.status_code == 404
        empty = html.fromstring(curator.get("/admin/curation?date=2026-01-27").text)
        assert not empty.cssselect("table.admin-table tbody tr")


def test_no_history_says_what_to_do(engine: Engine) -> None:
    with pytest.raises(auto.NoHistory, match="fetch hf"):
        auto.train_model(engine, SETTINGS, today=TODAY)
    with pytest.raises(auto.NoHistory, match="curate train"):
        auto.rank_day(engine, SETTINGS, DAY)
    # A day's list alone, without the community's picks, teaches nothing either.
    import_file(engine, DATA / "arxiv_days" / "2026-01-23.rss.xml.gz")
    with pytest.raises(auto.NoHistory):
        auto.train_model(engine, SETTINGS, today=TODAY)


def test_curate_commands(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    load(engine)
    monkeypatch.setenv("DAILYPAPERS_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("DAILYPAPERS_AUTO_FEATURE", "cs.CL,cs.LG,cs.CV,cs.AI")
    runner = CliRunner()
    no_model = runner.invoke(cli.app, ["curate", "rank", "--date", DAY.isoformat()])
    assert no_model.exit_code == 1 and "curate train" in no_model.output
    trained = runner.invoke(cli.app, ["curate", "train"])
    assert trained.exit_code == 0, trained.output
    assert "Trained model" in trained.output and "announcement days" in trained.output
    out = runner.invoke(cli.app, ["curate", "rank", "--date", DAY.isoformat(), "--categories", "cs.CL", "--json"])
    assert out.exit_code == 0, out.output
    lines = [json.loads(line) for line in out.stdout.splitlines()]
    assert lines and all(set(obj) == {"id", "score", "reason"} for obj in lines)
    assert [o["score"] for o in lines] == sorted((o["score"] for o in lines), reverse=True)
    assert [o["id"] for o in lines] == [r.id for r in auto.rank_day(engine, SETTINGS, DAY, ["cs.CL"])]
    for args, words in (
        (["--date", "2026-02-30"], "not a YYYY-MM-DD date"),
        (["--date", DAY.isoformat(), "--categories", "cs.CL;DROP TABLE"], "not an arXiv category"),
    ):
        bad = runner.invoke(cli.app, ["curate", "rank", *args])
        assert bad.exit_code == 2 and words in bad.output
    needs_top = runner.invoke(cli.app, ["curate", "pick", "--date", DAY.isoformat()])
    assert needs_top.exit_code == 2 and "AUTO_FEATURE_TOP" in needs_top.output
    picked = runner.invoke(cli.app, ["curate", "pick", "--date", DAY.isoformat(), "--top", "3"])
    assert picked.exit_code == 0 and "newly picked" in picked.output
    with write_tx(engine) as conn:
        n = conn.execute(text("SELECT count(*) FROM daily_listings WHERE source = 'auto:model'")).scalar()
    assert 1 <= n <= 3


def test_the_harvest_job_picks_the_days_best_instead_of_all(
    engine: Engine, server: ReplayServer, tmp_path: Path
) -> None:
    """With AUTO_FEATURE_TOP, the day's harvest features the model's top few (training one first when
    there is none), not the 261 new papers AUTO_FEATURE alone would feature."""
    for path in [*sorted((DATA / "hf_daily").glob("*.json.gz")), *sorted((DATA / "arxiv_days").glob("2026-01-2[36]*"))]:
        import_file(engine, path)
    with gzip.open(DATA / "arxiv_days" / "2026-01-28.rss.xml.gz") as fp:
        server.add("/rss/cs.AI+cs.CL+cs.CV+cs.LG", fp.read())
    settings = make_settings(
        server,
        tmp_path,
        fetch_categories=("cs.AI", "cs.CL", "cs.CV", "cs.LG"),
        auto_feature=SETTINGS.auto_feature,
        auto_feature_top=7,
    )
    status, runs = run_job(engine, settings, "harvest-rss", timestamp=at(dt.datetime(2026, 2, 7, 3, tzinfo=dt.UTC)))
    assert status == "succeeded", runs[-1].note
    assert "picked for this community of 261" in runs[-1].note
    picked = picks_of(engine)
    assert 0 < len(picked) <= 7
    with read_tx(engine) as conn:
        auto_all = conn.execute(text("SELECT count(*) FROM daily_listings WHERE source LIKE 'auto:arxiv%'")).scalar()
    assert auto_all == 0  # nothing featured wholesale
