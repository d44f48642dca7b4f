"""Upvotes (form, script and API; exact counters under concurrency) and the trending order.

Everything that touches the database runs against the real server, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import random
import secrets
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from lxml import html
from sqlalchemy import Engine, text

from dailypapers.ingest.importer import ImportReport, ingest_items
from dailypapers.ranking import order
from dailypapers.ranking.score import (
    TrendingParams,
    featured_at,
    hours_since_featured,
    rank,
    reference_time,
    score,
    window_start,
)
from dailypapers.sources.record import Listing, PaperRecord
from dailypapers.store import accounts, feed
from dailypapers.store.db import read_tx, write_tx
from dailypapers.store.feed import Entry
from tests.support.server import serve_app

DAY = dt.date(2026, 3, 6)
PARAMS = TrendingParams(gravity=1.5, offset_hours=2.0)


def add_papers(engine: Engine, *items: tuple[str, dt.date, int]) -> None:
    """Papers `(id, featured day, imported upvotes)`, titled "Paper <id>"."""
    records = [
        PaperRecord(
            id=pid,
            source="test",
            title=f"Paper {pid}",
            abstract="An abstract.",
            listing=Listing(day=day, source="t", upvotes=up),
        )
        for pid, day, up in items
    ]
    ingest_items(engine, records, ImportReport())


def new_user(engine: Engine, name: str) -> tuple[accounts.Account, str, str]:
    """An active account with an API token and a session token."""
    api_token, session = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    with write_tx(engine) as conn:
        account = accounts.create_user(conn, name, f"{name}@example.org", None, active=True)
        accounts.create_token(conn, account.pk, "tests", api_token)
        accounts.create_session(conn, account.pk, session, dt.timedelta(days=1))
    return account, api_token, session


def browser(base: str, session: str | None, page: str) -> tuple[httpx.Client, str]:
    """A cookie-keeping client that opened `page`, and the CSRF token of that page's forms."""
    client = httpx.Client(base_url=base, cookies={"dp_session": session} if session else None)
    doc = html.fromstring(client.get(page).text)
    return client, doc.cssselect("input[name=csrf_token]")[0].get("value")


def api_upvotes(base: str, paper_id: str) -> int:
    return int(httpx.get(f"{base}/api/papers/{paper_id}").json()["upvotes"])


def counters(engine: Engine) -> dict[str, tuple[int, int]]:
    """Per paper id: (papers.votes, rows in votes)."""
    sql = "SELECT p.id, p.votes, (SELECT count(*) FROM votes v WHERE v.paper_pk = p.pk) FROM papers p"
    with read_tx(engine) as conn:
        return {r[0]: (int(r[1]), int(r[2])) for r in conn.execute(text(sql))}


# Voting over HTTP


def test_form_votes_without_and_with_javascript(engine: Engine, tmp_path: Path) -> None:
    add_papers(engine, ("2603.00001", DAY, 5))
    _, _, session = new_user(engine, "ada")
    with serve_app(engine, tmp_path, rate_limits=False) as base:
        client, token = browser(base, session, "/papers/2603.00001")
        back = f"{base}/date/{DAY}"
        # No JavaScript: the form posts and the browser goes back where it was.
        r = client.post("/papers/2603.00001/upvote", data={"csrf_token": token, "on": "1"}, headers={"Referer": back})
        assert r.status_code == 303 and r.headers["location"] == f"/date/{DAY}"  # the same page, as a path on this site
        assert api_upvotes(base, "2603.00001") == 6
        doc = html.fromstring(client.get(f"/date/{DAY}").text)
        assert doc.cssselect("button.vote-button")[0].get("aria-pressed") == "true"
        assert doc.cssselect("input[name=on]")[0].get("value") == "0"  # the next click takes it back
        r = client.post("/papers/2603.00001/upvote", data={"csrf_token": token, "on": "0"})
        assert r.status_code == 303 and r.headers["location"] == "/papers/2603.00001"
        assert api_upvotes(base, "2603.00001") == 5
        # With JavaScript (app.js asks for JSON): the new state, no redirect.
        js = {"Accept": "application/json"}
        r = client.post("/papers/2603.00001/upvote", data={"csrf_token": token, "on": "1"}, headers=js)
        assert r.status_code == 200 and r.json() == {"id": "2603.00001", "upvoted": True, "upvotes": 6}
        again = client.post("/papers/2603.00001/upvote", data={"csrf_token": token, "on": "1"}, headers=js)
        assert again.json()["upvotes"] == 6  # idempotent
        off = client.post("/papers/2603.00001/upvote", data={"csrf_token": token, "on": "0"}, headers=js)
        assert off.json() == {"id": "2603.00001", "upvoted": False, "upvotes": 5}
        # The same header works instead of the form field.
        r = client.post("/papers/2603.00001/upvote", data={"on": "1"}, headers={**js, "X-CSRF-Token": token})
        assert r.json()["upvoted"] is True
    assert counters(engine)["2603.00001"] == (1, 1)


def test_votes_need_csrf_and_a_signed_in_user(engine: Engine, tmp_path: Path) -> None:
    add_papers(engine, ("2603.00001", DAY, 5))
    _, _, session = new_user(engine, "ada")
    with serve_app(engine, tmp_path, rate_limits=False) as base:
        client, token = browser(base, session, "/papers/2603.00001")
        assert client.post("/papers/2603.00001/upvote", data={"on": "1"}).status_code == 403
        forged = client.post("/papers/2603.00001/upvote", data={"on": "1", "csrf_token": "0" * 64})
        assert forged.status_code == 403
        # A token from another browser (another CSRF cookie) is refused too.
        other = httpx.post(f"{base}/papers/2603.00001/upvote", data={"on": "1", "csrf_token": token})
        assert other.status_code == 403
        # Signed out (or session expired) with a valid form: off to sign in, nothing recorded.
        anon, anon_token = browser(base, None, "/signin")
        r = anon.post("/papers/2603.00001/upvote", data={"on": "1", "csrf_token": anon_token})
        assert r.status_code == 303 and r.headers["location"].startswith("/signin")
        assert api_upvotes(base, "2603.00001") == 5
    assert counters(engine)["2603.00001"] == (0, 0)


def test_api_upvote_with_token_and_hf_shapes(engine: Engine, tmp_path: Path) -> None:
    add_papers(engine, ("2603.00001", DAY, 5), ("2603.00002", DAY, 9))
    _, api_token, _ = new_user(engine, "ada")
    auth = {"Authorization": f"Bearer {api_token}"}
    with serve_app(engine, tmp_path, rate_limits=False) as base:
        url = f"{base}/api/papers/2603.00001/upvote"
        r = httpx.post(url, headers=auth)
        assert r.status_code == 200 and r.json() == {"id": "2603.00001", "upvoted": True, "upvotes": 6}
        assert httpx.post(url, headers=auth).json()["upvotes"] == 6
        assert api_upvotes(base, "2603.00001") == 6
        daily = httpx.get(f"{base}/api/daily_papers", params={"date": str(DAY), "sort": "trending"}).json()
        assert [(i["paper"]["id"], i["paper"]["upvotes"]) for i in daily] == [("2603.00002", 9), ("2603.00001", 6)]
        r = httpx.delete(url, headers=auth)
        assert r.status_code == 200 and r.json() == {"id": "2603.00001", "upvoted": False, "upvotes": 5}
        assert httpx.delete(url, headers=auth).json()["upvotes"] == 5
        assert api_upvotes(base, "2603.00001") == 5
        missing = httpx.post(f"{base}/api/papers/2603.99999/upvote", headers=auth)
        assert missing.status_code == 404 and "not found" in missing.json()["error"]
        assert httpx.delete(f"{base}/api/papers/2603.99999/upvote", headers=auth).status_code == 404
        bad = httpx.post(url, headers={"Authorization": "Bearer nope"})
        assert bad.status_code == 401 and bad.json()["error"]
    assert counters(engine)["2603.00001"] == (0, 0)


def test_concurrent_toggles_keep_counters_exact(engine: Engine, tmp_path: Path) -> None:
    ids = ["2603.00001", "2603.00002", "2603.00003"]
    add_papers(engine, *((pid, DAY, 10 * i) for i, pid in enumerate(ids)))
    users = [new_user(engine, f"user{i}") for i in range(50)]
    start = threading.Barrier(len(users))
    with serve_app(engine, tmp_path, rate_limits=False) as base:

        def toggle(n: int) -> dict[str, bool]:
            """Eight random votes: even users by API token, odd ones through the form (as app.js)."""
            _, api_token, session = users[n]
            rng = random.Random(n)
            last: dict[str, bool] = {}
            if n % 2:
                client, csrf = browser(base, session, "/")
                client.headers.update({"Accept": "application/json", "X-CSRF-Token": csrf})
            else:
                client = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {api_token}"})
            start.wait(timeout=60)
            for _ in range(8):
                pid, on = rng.choice(ids), rng.random() < 0.6
                if n % 2:
                    r = client.post(f"/papers/{pid}/upvote", data={"on": "1" if on else "0"}, timeout=60)
                else:
                    r = client.request("POST" if on else "DELETE", f"/api/papers/{pid}/upvote", timeout=60)
                assert r.status_code == 200, r.text
                assert r.json()["upvoted"] is on
                last[pid] = on
            client.close()
            return last

        with ThreadPoolExecutor(len(users)) as pool:
            finals = list(pool.map(toggle, range(len(users))))
        expected = {pid: sum(1 for f in finals if f.get(pid)) for pid in ids}
        assert sum(expected.values()) > 0
        for i, pid in enumerate(ids):
            assert api_upvotes(base, pid) == 10 * i + expected[pid]
    found = counters(engine)
    assert {pid: found[pid] for pid in ids} == {pid: (n, n) for pid, n in expected.items()}


# The trending score


def test_score_arithmetic() -> None:
    assert score(0, 0, PARAMS) == pytest.approx(1 / 2**1.5)
    assert score(10, 22, PARAMS) == pytest.approx(11 / 24**1.5)
    assert score(10, 22, TrendingParams(gravity=1.8, offset_hours=2)) == pytest.approx(11 / 24**1.8)
    assert score(5, 1, PARAMS) > score(5, 2, PARAMS) and score(6, 1, PARAMS) > score(5, 1, PARAMS)
    assert featured_at(DAY) == dt.datetime(2026, 3, 6, tzinfo=dt.UTC)
    assert hours_since_featured(DAY, dt.datetime(2026, 3, 7, 6, tzinfo=dt.UTC)) == 30
    assert hours_since_featured(DAY, dt.datetime(2026, 3, 5, tzinfo=dt.UTC)) == 0  # never negative
    now = dt.datetime(2026, 3, 11, 15, 30, tzinfo=dt.UTC)
    assert reference_time(dt.date(2026, 3, 8), now) == dt.datetime(2026, 3, 9, tzinfo=dt.UTC)  # a past week
    assert reference_time(dt.date(2026, 3, 15), now) == now  # the current week
    assert reference_time(None, now) == now
    assert window_start(now, 7) == dt.date(2026, 3, 5)


def entry(pk: int, day: dt.date, upvotes: int) -> Entry:
    return Entry(pk, f"p{pk}", True, "", "", [], None, [], "", [], [], {}, 1, day=day, upvotes=upvotes)


def test_rank_trades_votes_for_age() -> None:
    now = dt.datetime(2026, 3, 9, tzinfo=dt.UTC)  # end of ISO week 2026-W10
    old_popular, fresh, tie_a, tie_b = (
        entry(1, dt.date(2026, 3, 2), 10),  # 168 h: 11 / 170^1.5 ≈ 0.0050
        entry(2, dt.date(2026, 3, 8), 6),  # 24 h: 7 / 26^1.5 ≈ 0.0528
        entry(3, dt.date(2026, 3, 4), 8),
        entry(4, dt.date(2026, 3, 4), 8),
    )
    ranked = rank([tie_b, old_popular, tie_a, fresh], now, PARAMS)
    assert [s.item.pk for s in ranked] == [2, 3, 4, 1]
    assert ranked[0].score == pytest.approx(7 / 26**1.5) and ranked[0].hours == 24
    assert ranked[-1].score == pytest.approx(11 / 170**1.5)


def test_open_ended_trending_matches_ranking_everything(engine: Engine) -> None:
    rng = random.Random(3)
    first = dt.date(2025, 1, 1)
    days = [first + dt.timedelta(days=rng.randrange(400)) for _ in range(300)]
    add_papers(engine, *((f"2501.{i:05d}", day, rng.randrange(500)) for i, day in enumerate(days)))
    now = featured_at(first + dt.timedelta(days=401))
    with read_tx(engine) as conn:
        everything = rank(feed.listings_between(conn, None, None), now, PARAMS)
        assert len(everything) == 300
        for offset, limit in ((0, 5), (0, 50), (40, 30), (280, 50)):
            page = order.trending_between(conn, None, None, now, PARAMS, limit=limit, offset=offset)
            assert [s.item.id for s in page] == [s.item.id for s in everything[offset : offset + limit]]


# Trending order on the site


def titles(page: httpx.Response) -> list[str]:
    return [a.text_content().strip() for a in html.fromstring(page.text).cssselect("article.card h3 a")]


def test_week_trending_ranks_by_score_not_raw_upvotes(engine: Engine, tmp_path: Path) -> None:
    # ISO week 2026-W10 runs from Monday March 2 to Sunday March 8; it ranks as at March 9, 00:00 UTC.
    add_papers(
        engine,
        ("2603.00001", dt.date(2026, 3, 2), 10),
        ("2603.00002", dt.date(2026, 3, 4), 8),
        ("2603.00003", dt.date(2026, 3, 8), 6),
    )
    with serve_app(engine, tmp_path, rate_limits=False) as base:
        week = titles(httpx.get(f"{base}/week/2026-W10", params={"sort": "trending"}))
        assert week == ["Paper 2603.00003", "Paper 2603.00002", "Paper 2603.00001"]
        api = httpx.get(f"{base}/api/daily_papers", params={"week": "2026-W10", "sort": "trending"}).json()
        assert [i["paper"]["id"] for i in api] == ["2603.00003", "2603.00002", "2603.00001"]
        raw = [i["paper"]["upvotes"] for i in api]
        assert raw != sorted(raw, reverse=True)  # an older day had more votes, and ranks lower
        # The month ranks as at April 1: age differences matter less there, and the order is the score's.
        with read_tx(engine) as conn:
            listed = feed.listings_between(conn, dt.date(2026, 3, 1), dt.date(2026, 3, 31))
        expected = [s.item.id for s in rank(listed, featured_at(dt.date(2026, 4, 1)), PARAMS)]
        month = httpx.get(f"{base}/api/daily_papers", params={"month": "2026-03", "sort": "trending"}).json()
        assert [i["paper"]["id"] for i in month] == expected
        assert titles(httpx.get(f"{base}/month/2026-03")) == [f"Paper {pid}" for pid in expected]
        # "new" still orders by publication.
        by_new = titles(httpx.get(f"{base}/week/2026-W10", params={"sort": "new"}))
        assert sorted(by_new) == sorted(week)


def test_trending_page_lists_the_last_seven_days(engine: Engine, tmp_path: Path) -> None:
    today = dt.datetime.now(dt.UTC).date()
    ago = [0, 3, 6, 7, 30]
    add_papers(engine, *((f"2699.0000{n}", today - dt.timedelta(days=n), 40 * n + 1) for n in ago))
    _, _, session = new_user(engine, "ada")
    with serve_app(engine, tmp_path, rate_limits=False) as base:
        r = httpx.get(f"{base}/trending")
        assert r.status_code == 200 and "vote-form" not in r.text
        shown = titles(r)
        assert sorted(shown) == ["Paper 2699.00000", "Paper 2699.00003", "Paper 2699.00006"]
        with read_tx(engine) as conn:
            recent = feed.listings_between(conn, today - dt.timedelta(days=6), today)
        assert shown == [f"Paper {s.item.id}" for s in rank(recent, dt.datetime.now(dt.UTC), PARAMS)]
        doc = html.fromstring(r.text)
        ranks = doc.cssselect("article.card .rank[title]")
        assert [s.text for s in ranks] == ["#1", "#2", "#3"]
        assert all(s.get("title").startswith("score ") and "h + 2)^1.5" in s.get("title") for s in ranks)
        assert doc.cssselect("a[href='#how-ranking-works']") and doc.cssselect("#how-ranking-works")
        assert "DAILYPAPERS_" not in r.text  # settings are for operators, in docs/ranking.md
        # Anonymous visitors share a cached page; a vote makes it fresh.
        assert httpx.get(f"{base}/trending", headers={"If-None-Match": r.headers["etag"]}).status_code == 304
        client, token = browser(base, session, "/trending")
        mine = client.get("/trending")
        assert mine.headers["cache-control"] == "private, no-store" and "vote-form" in mine.text
        client.post("/papers/2699.00000/upvote", data={"csrf_token": token, "on": "1"})
        assert 'aria-pressed="true"' in client.get("/trending").text
        fresh = httpx.get(f"{base}/trending", headers={"If-None-Match": r.headers["etag"]})
        assert fresh.status_code == 200 and "(2 + 1) /" in fresh.text
        # The HF-shaped API without a period, sorted by trending, uses the same score over everything featured.
        api = httpx.get(f"{base}/api/daily_papers", params={"sort": "trending"}).json()
        with read_tx(engine) as conn:
            everything = rank(feed.listings_between(conn, None, None), dt.datetime.now(dt.UTC), PARAMS)
        assert [i["paper"]["id"] for i in api] == [s.item.id for s in everything]
        assert len(api) == 5


def test_a_quiet_week_shows_the_latest_trending_days_and_says_so(engine: Engine, tmp_path: Path) -> None:
    old = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=40)
    add_papers(engine, ("2699.00001", old, 5), ("2699.00002", old - dt.timedelta(days=2), 50))
    add_papers(engine, ("2699.00003", old - dt.timedelta(days=30), 99))  # outside that week
    with serve_app(engine, tmp_path, rate_limits=False) as base:
        r = httpx.get(f"{base}/trending")
        assert sorted(titles(r)) == ["Paper 2699.00001", "Paper 2699.00002"]
        tagline = html.fromstring(r.text).cssselect(".hero .tagline")[0].text_content()
        assert tagline.startswith("Nothing was featured in the last 7 days") and old.strftime("%b") in tagline


def test_hugging_face_upvotes_are_kept_apart_from_ours(engine: Engine, tmp_path: Path) -> None:
    add_papers(engine, ("2603.00001", DAY, 12))
    _, _, session = new_user(engine, "ada")
    with serve_app(engine, tmp_path, rate_limits=False) as base:
        client, token = browser(base, session, "/papers/2603.00001")
        client.post("/papers/2603.00001/upvote", data={"csrf_token": token, "on": "1"})
        info = httpx.get(f"{base}/api/papers/2603.00001").json()
        assert (info["upvotes"], info["hfUpvotes"], info["localUpvotes"]) == (13, 12, 1)
        item = httpx.get(f"{base}/api/daily_papers", params={"date": DAY.isoformat()}).json()[0]["paper"]
        assert (item["upvotes"], item["hfUpvotes"], item["localUpvotes"]) == (13, 12, 1)
        # One total on the card, both parts on hover; the paper page spells them out.
        card = html.fromstring(httpx.get(f"{base}/date/{DAY}").text).cssselect("#paper-2603\\.00001 .votes")[0]
        assert card.cssselect(".count")[0].text == "13"
        assert card.get("title") == "Sign in to upvote (13 upvotes: 12 on Hugging Face, 1 here)"
        page = html.fromstring(client.get("/papers/2603.00001").text)
        assert page.cssselect(".upvote-parts")[0].text_content() == "13 upvotes: 12 on Hugging Face, 1 here"
        md = httpx.get(f"{base}/papers/2603.00001.md").text
        assert "**Upvotes:** 13 (12 on Hugging Face, 1 here)" in md
