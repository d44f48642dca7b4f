"""A digest lists the papers of its period in the feed's own order for that period (ranking.order): the
same ranking code, pinned papers and ties included; each paper once, withdrawn papers left out."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import httpx
from sqlalchemy import Engine

from dailypapers.digest.compose import digest_period, period_papers
from dailypapers.ingest.importer import ImportReport, ingest_items
from dailypapers.ranking.score import TrendingParams
from dailypapers.sources.record import Listing, PaperRecord
from dailypapers.store import feed, listings
from dailypapers.store.db import read_tx, write_tx
from tests.support.digest import DAY, add_papers
from tests.support.server import serve_app

LATER = DAY + dt.timedelta(days=2)


def _week(engine: Engine) -> None:
    # Featured first, so its listing comes first; its id sorts after its tie's.
    add_papers(engine, DAY, ("2601.00009", "Tied, featured first", "cs.CL", 10))
    add_papers(engine, DAY, ("2601.00001", "Tied, featured second", "cs.CL", 10), ("2601.00003", "Pinned", "cs.CL", 3))
    withdrawn = PaperRecord(
        id="2601.00004", source="test", title="Withdrawn", withdrawn=True, listing=Listing(DAY, "test", upvotes=50)
    )
    ingest_items(engine, [withdrawn], ImportReport())
    add_papers(engine, LATER, ("2601.00005", "Later", "cs.LG", 10), ("2601.00009", "Tied, featured first", "cs.CL", 2))
    add_papers(engine, LATER + dt.timedelta(days=2), ("2601.00006", "Last", "cs.LG", 1))
    with write_tx(engine) as conn:
        pk = feed.paper_pk_of(conn, "2601.00003")
        assert pk is not None and listings.set_pinned(conn, pk, DAY, True)


def _feed(base: str, **period: str) -> list[str]:
    answer = httpx.get(f"{base}/api/daily_papers", params={**period, "sort": "trending", "limit": 100})
    assert answer.status_code == 200
    return [item["paper"]["id"] for item in answer.json()]


def _once_without(ids: list[str], withdrawn: str) -> list[str]:
    return [i for n, i in enumerate(ids) if i not in ids[:n] and i != withdrawn]


def test_digests_follow_the_feed_of_their_period(engine: Engine, tmp_path: Path) -> None:
    _week(engine)
    with serve_app(engine, tmp_path) as base:
        day_feed = _feed(base, date=DAY.isoformat())
        week_feed = _feed(base, week="2026-W02")
    params = TrendingParams()
    with read_tx(engine) as conn:
        daily = [p.id for p in period_papers(conn, digest_period("daily", DAY.isoformat()), params)]
        weekly = [p.id for p in period_papers(conn, digest_period("weekly", "2026-W02"), params)]
    # The day's feed: pinned first, then by upvotes, ties in the order they were featured.
    assert day_feed == ["2601.00003", "2601.00004", "2601.00009", "2601.00001"]
    assert daily == ["2601.00003", "2601.00009", "2601.00001"] == _once_without(day_feed, "2601.00004")
    # The week's feed ranks by the trending score and lists 2601.00009 twice (two days): the digest once.
    assert week_feed.count("2601.00009") == 2 and len(week_feed) == 7
    assert weekly == _once_without(week_feed, "2601.00004") and len(weekly) == 5
