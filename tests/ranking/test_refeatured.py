"""A paper featured again (a member re-submits a paper featured on an earlier day) shows one upvote count
everywhere, and its original submitter stays the one named. On the real server, SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import secrets
from pathlib import Path

import httpx
from huggingface_hub import HfApi
from lxml import html
from sqlalchemy import Engine

from dailypapers.config import Settings
from dailypapers.digest.compose import period_papers
from dailypapers.ingest.importer import ImportReport, ingest_items
from dailypapers.periods import parse_day
from dailypapers.ranking import order
from dailypapers.ranking.score import TrendingParams
from dailypapers.sources.record import Listing, PaperRecord, Submitter
from dailypapers.store import accounts, feed
from dailypapers.store.db import read_tx, write_tx
from tests.support.server import serve_app

ASKCHEM, OTHER = "2607.28618", "2607.30001"


def count_on_card(page: httpx.Response, paper_id: str) -> int:
    escaped = paper_id.replace(".", "\\.")
    card = html.fromstring(page.text).cssselect(f"#paper-{escaped}")[0]
    return int(card.cssselect(".count")[0].text_content())


def order_of(page: httpx.Response) -> list[str]:
    return [a.get("id").removeprefix("paper-") for a in html.fromstring(page.text).cssselect("article.card")]


def test_a_refeatured_paper_shows_one_count_and_its_original_submitter(engine: Engine, tmp_path: Path) -> None:
    today = dt.datetime.now(dt.UTC).date()
    first_day = today - dt.timedelta(days=3)
    ak = Submitter("akhaliq", "AK", "")
    ingest_items(
        engine,
        [
            PaperRecord(
                id=ASKCHEM,
                source="hf",
                title="AskChem",
                abstract="Chemistry.",
                listing=Listing(day=first_day, source="huggingface", submitter=ak, upvotes=292),
            ),
            PaperRecord(
                id=OTHER,
                source="hf",
                title="Other",
                abstract="Other.",
                listing=Listing(day=today, source="huggingface", upvotes=100),
            ),
        ],
        ImportReport(),
    )
    token = secrets.token_urlsafe(24)
    with write_tx(engine) as conn:
        ada = accounts.create_user(conn, "ada", "ada@example.org", None, active=True)
        accounts.create_token(conn, ada.pk, "tests", token)
    auth = {"Authorization": f"Bearer {token}"}
    with serve_app(engine, tmp_path, rate_limits=False) as base:
        r = httpx.post(f"{base}/api/papers/submit", json={"arxiv_id": ASKCHEM}, headers=auth)
        assert r.status_code == 201 and r.json()["featured_on"] == today.isoformat()

        def everywhere(expected: int) -> None:
            day_page = httpx.get(f"{base}/date/{today}")
            assert count_on_card(day_page, ASKCHEM) == expected
            assert count_on_card(httpx.get(f"{base}/date/{first_day}"), ASKCHEM) == expected
            assert order_of(day_page) == [ASKCHEM, OTHER]  # 292+ beats 100 today
            trending = httpx.get(f"{base}/trending")
            assert count_on_card(trending, ASKCHEM) == expected and order_of(trending)[0] == ASKCHEM
            items = httpx.get(f"{base}/api/daily_papers", params={"date": str(today), "sort": "trending"}).json()
            assert [(i["paper"]["id"], i["paper"]["upvotes"]) for i in items] == [(ASKCHEM, expected), (OTHER, 100)]
            info = httpx.get(f"{base}/api/papers/{ASKCHEM}").json()
            assert (info["upvotes"], info["hfUpvotes"]) == (expected, 292)
            page = html.fromstring(httpx.get(f"{base}/papers/{ASKCHEM}").text)
            assert page.cssselect(".paper-actions .count")[0].text_content().strip() == str(expected)
            with read_tx(engine) as conn:
                digest = period_papers(conn, parse_day(today.isoformat()), TrendingParams.from_settings(Settings()))
                history = order.ordered(conn, TrendingParams(), None, limit=None)
            assert [(p.id, p.upvotes) for p in digest] == [(ASKCHEM, expected), (OTHER, 100)]
            assert {e.upvotes for e in history if e.id == ASKCHEM} == {expected}  # both of its listings

        everywhere(292)
        # The card the member's submission made names them (they featured it today) ...
        with read_tx(engine) as conn:
            today_cards = feed.featured_between(conn, today, today)
        assert [c.submitter.name for c in today_cards if c.id == ASKCHEM] == ["ada"]
        # ... but the paper, on its page and to huggingface_hub, keeps its original submitter.
        info = HfApi(endpoint=base, token=False).paper_info(ASKCHEM)
        assert info.upvotes == 292 and info.submitted_by is not None and info.submitted_by.username == "akhaliq"
        assert info.submitted_at is not None and info.submitted_at.date() == first_day
        md = httpx.get(f"{base}/papers/{ASKCHEM}.md").text
        assert f"- {first_day.isoformat()} by akhaliq, 292 upvotes on Hugging Face" in md
        assert f"- {today.isoformat()} by ada, 0 upvotes" in md
        # A member's vote moves the one count everywhere.
        assert httpx.post(f"{base}/api/papers/{ASKCHEM}/upvote", headers=auth).json()["upvotes"] == 293
        everywhere(293)
