"""Code signals on the feed: GitHub stars on cards and pages, the has-code filter, sorting by stars and by
star growth, on pages and in the API (the sync that fills them in: tests/ingest/test_github_stars.py)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import httpx
from lxml import html
from sqlalchemy import Engine, text

from dailypapers.ingest.importer import ImportReport, ingest_items
from dailypapers.sources.record import Listing, PaperRecord
from dailypapers.store.db import write_tx
from tests.support.server import serve_app

DAY = dt.date(2026, 3, 6)
NEXT = DAY + dt.timedelta(days=1)
# id: (upvotes, code link, stars, growth)
PAPERS = {
    "2603.00001": (50, None, None, None),
    "2603.00002": (5, "https://github.com/a/small", 40, 2),
    "2603.00003": (1, "https://github.com/a/big", 12_345, 10),
    "2603.00004": (9, "https://github.com/a/rising", 900, 300),
    "2603.00005": (3, "https://gitlab.com/a/elsewhere", None, None),
}


def setup(engine: Engine) -> None:
    records = [
        PaperRecord(
            id=pid,
            source="test",
            title=f"Paper {pid}",
            abstract="An abstract.",
            code_urls=[code] if code else [],
            listing=Listing(day=DAY, source="t", upvotes=up),
        )
        for pid, (up, code, _, _) in PAPERS.items()
    ]
    records.append(PaperRecord(id="2603.00006", source="test", title="Plain", listing=Listing(day=NEXT, source="t")))
    ingest_items(engine, records, ImportReport())
    pushed = dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC)
    with write_tx(engine) as conn:
        for pid, (_, _, stars, growth) in PAPERS.items():
            conn.execute(
                text("UPDATE papers SET stars = :s, stars_growth = :g, code_pushed_at = :at WHERE id = :id"),
                {"s": stars, "g": growth, "at": pushed if stars is not None else None, "id": pid},
            )


def ids(base: str, **params: str) -> list[str]:
    r = httpx.get(f"{base}/api/daily_papers", params={"date": DAY.isoformat(), "sort": "trending", **params})
    assert r.status_code == 200, r.text
    return [item["paper"]["id"] for item in r.json()]


def card_ids(page: str) -> list[str]:
    return [a.get("href").rsplit("/", 1)[1] for a in html.fromstring(page).cssselect("article.card h3 a")]


def test_sort_by_stars_and_growth_and_the_has_code_filter(engine: Engine, tmp_path: Path) -> None:
    setup(engine)
    with serve_app(engine, tmp_path, rate_limits=False) as base:
        assert ids(base) == ["2603.00001", "2603.00004", "2603.00002", "2603.00005", "2603.00003"]
        # Papers with no known repository last, by upvotes among themselves.
        assert ids(base, sort="stars") == ["2603.00003", "2603.00004", "2603.00002", "2603.00001", "2603.00005"]
        assert ids(base, sort="starGrowth")[:3] == ["2603.00004", "2603.00003", "2603.00002"]
        assert ids(base, hasCode="true") == ["2603.00004", "2603.00002", "2603.00005", "2603.00003"]
        assert ids(base, hasCode="true", sort="stars")[-1] == "2603.00005"  # GitLab: code, no stars
        info = httpx.get(f"{base}/api/papers/2603.00003").json()
        assert info["githubStars"] == 12_345 and info["githubStarsGrowth"] == 10
        assert info["githubPushedAt"] == "2026-03-01T12:00:00.000Z"
        assert "githubStars" not in httpx.get(f"{base}/api/papers/2603.00001").json()
        assert httpx.get(f"{base}/api/daily_papers", params={"sort": "forks"}).status_code == 422

        page = httpx.get(f"{base}/date/{DAY}", params={"sort": "stars", "code": "1"})
        assert card_ids(page.text) == ["2603.00003", "2603.00004", "2603.00002", "2603.00005"]
        doc = html.fromstring(page.text)
        active = [a.text_content().strip() for a in doc.cssselect(".sorts a.active")]
        assert active == ["Most stars", "Has code"]
        # The other sorts keep the filter; the filter's own link takes it off.
        hrefs = {a.text_content().strip(): a.get("href") for a in doc.cssselect(".sorts a")}
        assert hrefs["New"] == f"/date/{DAY}?sort=new&code=1"
        assert hrefs["Has code"] == f"/date/{DAY}?sort=stars"
        code = doc.cssselect("#paper-2603\\.00003 a.code")[0]
        assert code.cssselect(".stars")[0].text_content() == "★ 12k"
        assert code.get("title") == "12,345 GitHub stars, +10 in the last 7 days; last push Mar 1, 2026"
        assert not doc.cssselect("#paper-2603\\.00005 a.code .stars")
        rising = html.fromstring(httpx.get(f"{base}/date/{DAY}", params={"sort": "star-growth"}).text)
        assert card_ids(html.tostring(rising).decode())[0] == "2603.00004"
        paper = html.fromstring(httpx.get(f"{base}/papers/2603.00004").text)
        assert paper.cssselect(".star-facts")[0].text_content().startswith("900 GitHub stars, +300 in the last 7")
        assert httpx.get(f"{base}/date/{DAY}", params={"sort": "forks"}).status_code == 400
        empty = html.fromstring(httpx.get(f"{base}/date/{NEXT}", params={"code": "1"}).text)
        assert not empty.cssselect("article.card")
        assert empty.cssselect("p.empty")[0].text_content().startswith("No paper with a code link was featured")
        assert empty.cssselect("p.empty a")[0].get("href") == f"/date/{NEXT}?sort=trending"
