"""The HTML pages and Atom feeds, over HTTP from the real server."""

from __future__ import annotations

import datetime as dt
import re

import httpx
from lxml import etree, html

from dailypapers.ingest.importer import ImportReport, ingest_items
from dailypapers.sources.record import Author, Listing, PaperRecord
from tests.support.server import serve_app

ATOM = "{http://www.w3.org/2005/Atom}"


def get(base: str, path: str) -> httpx.Response:
    return httpx.get(base + path, follow_redirects=False)


def titles(page: httpx.Response) -> list[str]:
    return [a.text_content().strip() for a in html.fromstring(page.text).cssselect("article.card h3 a")]


def test_front_page_shows_latest_day_with_header_and_banner(demo_server: str) -> None:
    r = get(demo_server, "/")
    assert r.status_code == 200
    for text in ("Daily Papers", "by AK and the research community", "Get trending papers in your email inbox!"):
        assert text in r.text
    assert "Friday, July 31, 2026" in r.text
    doc = html.fromstring(r.text)
    assert len(doc.cssselect("article.card")) == 30
    counts = [int(c.text) for c in doc.cssselect("article.card .votes .count")]
    assert counts == sorted(counts, reverse=True) and counts[0] == 292
    assert r.headers["content-security-policy"].startswith("default-src 'self'")


def test_previous_and_next_skip_empty_days(demo_server: str) -> None:
    doc = html.fromstring(get(demo_server, "/date/2026-07-31").text)
    assert doc.cssselect("a.prev")[0].get("href").startswith("/date/2026-07-13")
    assert not doc.cssselect("a.next")
    doc = html.fromstring(get(demo_server, "/date/2026-07-13").text)
    assert doc.cssselect("a.prev")[0].get("href").startswith("/date/2026-07-10")
    assert doc.cssselect("a.next")[0].get("href").startswith("/date/2026-07-31")
    doc = html.fromstring(get(demo_server, "/date/2026-06-12").text)
    assert not doc.cssselect("a.prev")
    assert doc.cssselect("a.next")[0].get("href").startswith("/date/2026-07-10")
    # A day with nothing featured still navigates to its neighbours.
    empty = get(demo_server, "/date/2026-07-20")
    assert "No papers were featured" in empty.text
    assert 'href="/date/2026-07-13' in empty.text and 'href="/date/2026-07-31' in empty.text


def test_week_and_month_views(demo_server: str) -> None:
    week = get(demo_server, "/week/2026-W29")
    assert len(titles(week)) == 14
    doc = html.fromstring(week.text)
    assert doc.cssselect("a.prev")[0].get("href").startswith("/week/2026-W28")
    assert doc.cssselect("a.next")[0].get("href").startswith("/week/2026-W31")
    month = get(demo_server, "/month/2026-07")
    assert len(titles(month)) == 50 and "Page 1 of 2" in month.text
    assert len(titles(get(demo_server, "/month/2026-07?p=1"))) == 5
    assert html.fromstring(month.text).cssselect("a.prev")[0].get("href").startswith("/month/2026-06")


def test_sort_new_orders_by_publication(demo_server: str) -> None:
    trending = titles(get(demo_server, "/date/2026-06-12?sort=trending"))
    new = titles(get(demo_server, "/date/2026-06-12?sort=new"))
    assert sorted(trending) == sorted(new) and trending != new


def test_bad_periods_and_params(demo_server: str) -> None:
    assert get(demo_server, "/date/2026-02-30").status_code == 404
    assert get(demo_server, "/week/2026-W99").status_code == 404
    assert get(demo_server, "/month/2026-13").status_code == 404
    bad = get(demo_server, "/date/2026-06-12?sort=<script>")
    assert bad.status_code == 400 and "<script>" not in bad.text


def test_paper_page(demo_server: str) -> None:
    r = get(demo_server, "/papers/2607.28618")
    assert r.status_code == 200
    doc = html.fromstring(r.text)
    assert doc.cssselect("h1")[0].text_content().startswith("AskChem")
    links = {a.text_content().strip(): a.get("href") for a in doc.cssselect(".paper-actions a")}
    assert links["arXiv page"] == "https://arxiv.org/abs/2607.28618"
    assert links["PDF"] == "https://arxiv.org/pdf/2607.28618"
    assert links["Code"].startswith("https://github.com/")
    assert "cs.CL" in r.text and "Jul 31, 2026" in r.text and "v1" in r.text
    assert get(demo_server, "/papers/2607.28618v1").headers["location"] == "/papers/2607.28618"
    assert get(demo_server, "/papers/2601.99999").status_code == 404


def test_old_style_and_local_ids(demo_server: str) -> None:
    old = get(demo_server, "/papers/0704.0001")
    assert old.status_code == 200 and "Calculation of prompt diphoton" in old.text
    seed = get(demo_server, "/api/papers/search?q=Attention Calibration Disentangled").json()
    local_id = seed[0]["paper"]["id"]
    assert local_id.startswith("local-")
    page = get(demo_server, f"/papers/{local_id}")
    assert "local id" in page.text and "arxiv.org/abs" not in page.text


def test_markdown_export(demo_server: str) -> None:
    r = get(demo_server, "/papers/2607.28618.md")
    assert r.headers["content-type"].startswith("text/markdown")
    assert r.text.startswith("# AskChem") and "## Abstract" in r.text


def test_atom_feeds_are_valid(demo_server: str) -> None:
    for path in ("/feed.atom", "/date/2026-06-12/feed.atom", "/week/2026-W29/feed.atom", "/month/2026-07/feed.atom"):
        r = get(demo_server, path)
        assert r.status_code == 200 and r.headers["content-type"].startswith("application/atom+xml")
        root = etree.fromstring(r.content)
        assert root.tag == f"{ATOM}feed"
        for required in ("id", "title", "updated"):
            assert root.find(f"{ATOM}{required}") is not None
        entries = root.findall(f"{ATOM}entry")
        assert entries
        for entry in entries:
            for required in ("id", "title", "updated", "author/" + ATOM + "name", "link"):
                assert entry.find(f"{ATOM}{required}") is not None, (path, required)
            dt.datetime.fromisoformat(entry.findtext(f"{ATOM}updated"))
    assert get(demo_server, "/date/2026-99-01/feed.atom").status_code == 404


def test_data_from_sources_is_escaped_and_new_listings_show(engine, tmp_path) -> None:
    evil = "<script>alert('x')</script><img src=x onerror=alert(1)>"
    rec = PaperRecord(
        id="2601.00001",
        source="test",
        title=f"Attack {evil}",
        abstract=f'Abstract {evil} https://github.com/a/b"onmouseover=alert(1)',
        authors=[Author(f"Mallory {evil}")],
        listing=Listing(day=dt.date(2026, 1, 5), source="test", upvotes=3),
    )
    ingest_items(engine, [rec], ImportReport())
    with serve_app(engine, tmp_path) as base:
        for path in ("/", "/date/2026-01-05", "/papers/2601.00001", "/feed.atom"):
            body = get(base, path).text
            assert "<script>alert" not in body and "<img src=x" not in body, path
            assert "&lt;script&gt;" in body or "&amp;lt;script" in body, path
        page = get(base, "/papers/2601.00001").text
        assert not re.search(r'href="[^"]*onmouseover', page)
