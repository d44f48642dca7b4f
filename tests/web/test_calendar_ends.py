"""Periods at the ends of the calendar, over HTTP on SQLite and PostgreSQL: outside the years 1900 to 2999
(periods.FIRST_YEAR, LAST_YEAR) pages and Atom feeds answer 404 and the API 422, naming the years; the first
and last periods inside them work, and so do search filters at those ends. None is a 500 (they once were:
the day after `/month/9999-12` overflowed Python's dates)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from lxml import html
from sqlalchemy import Engine

from tests.support.digest import add_papers
from tests.support.server import serve_app

REFUSED = "dates must lie in the years 1900 to 2999"
OUTSIDE = ["9999-12-31", "9999-W52", "9999-12", "0001-01-01", "0001-W01", "0001-01", "3000-01-01", "1899-12"]
KIND_OF = {10: "date", 8: "week", 7: "month"}  # by the length of the written period
API_KIND = {"date": "date", "week": "week", "month": "month"}


@pytest.fixture
def site(engine: Engine, tmp_path: Path) -> Iterator[str]:
    add_papers(engine, dt.date(1900, 1, 1), ("2601.00001", "The first day", "cs.CL", 1))
    add_papers(engine, dt.date(2999, 12, 31), ("2601.00002", "The last day", "cs.CL", 2))
    with serve_app(engine, tmp_path, rate_limits=False) as base:
        yield base


def test_periods_outside_the_years_are_refused_never_a_server_error(site: str) -> None:
    with httpx.Client(base_url=site) as client:
        for text in OUTSIDE:
            kind = KIND_OF[len(text)]
            page = client.get(f"/{kind}/{text}")
            assert page.status_code == 404 and REFUSED in page.text, (text, page.status_code)
            atom = client.get(f"/{kind}/{text}/feed.atom")
            assert atom.status_code == 404, (text, atom.status_code)
            api = client.get("/api/daily_papers", params={API_KIND[kind]: text})
            assert api.status_code == 422 and REFUSED in api.text, (text, api.status_code)


def test_the_first_and_last_periods_inside_the_years_work(site: str) -> None:
    with httpx.Client(base_url=site) as client:
        first = client.get("/date/1900-01-01")
        assert first.status_code == 200 and "The first day" in first.text
        assert html.fromstring(first.text).cssselect("a.next")[0].get("href").startswith("/date/2999-12-31")
        last = client.get("/date/2999-12-31")
        assert last.status_code == 200 and "The last day" in last.text
        assert html.fromstring(last.text).cssselect("a.prev")[0].get("href").startswith("/date/1900-01-01")
        for path in ("/week/2999-W52", "/month/2999-12", "/week/1900-W01", "/month/1900-01"):
            page = client.get(path)
            assert page.status_code == 200, path
            assert client.get(f"{path}/feed.atom").status_code == 200, path
        week = client.get("/api/daily_papers", params={"week": "3000-W01"})  # Dec 30, 2999 to Jan 5, 3000
        assert week.status_code == 422
        month = client.get("/api/daily_papers", params={"month": "2999-12"})
        assert month.status_code == 200 and [p["paper"]["id"] for p in month.json()] == ["2601.00002"]


@pytest.mark.parametrize(
    "q",
    ["until:9999", "date:9999-12-31", "after:2999-12-31", "before:1900-01-01", "since:0001 until:2999", "year:2999"],
)
def test_search_filters_at_the_ends_of_the_calendar_answer(site: str, q: str) -> None:
    with httpx.Client(base_url=site) as client:
        assert client.get("/search", params={"q": q, "mode": "keyword"}).status_code == 200
        found = client.get("/api/papers/search", params={"q": q + " day", "mode": "keyword"})
        assert found.status_code == 200 and isinstance(found.json(), list)


def test_days_stored_before_the_limits_do_not_break_the_pages_that_start_from_the_latest(
    engine: Engine, tmp_path: Path
) -> None:
    add_papers(engine, dt.date(2026, 7, 31), ("2607.00001", "A real day", "cs.CL", 3))
    add_papers(engine, dt.date(9999, 12, 31), ("2607.00002", "Stored long ago by a bad import", "cs.CL", 1))
    with serve_app(engine, tmp_path, rate_limits=False) as base, httpx.Client(base_url=base) as client:
        for path in ("/", "/feed.atom", "/trending", "/api/daily_papers"):
            r = client.get(path)
            assert r.status_code == 200, (path, r.status_code)
        assert "A real day" in client.get("/").text
