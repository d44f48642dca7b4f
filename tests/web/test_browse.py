"""What readers browse by, over HTTP from the real server on the demo data (both databases): an
organization's papers, an author's (whichever way the name is written), and the category filter of the
feed pages, their Atom feeds and the API."""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import quote

import httpx
import orjson
import pytest
from lxml import etree, html
from sqlalchemy import Engine

from dailypapers.ingest.importer import ImportReport, ingest_items
from dailypapers.sources.kaggle import record_from_object
from tests.support.fixtures import recording
from tests.support.hostile import HOSTILE_QUERIES
from tests.support.server import serve_app

ATOM = "{http://www.w3.org/2005/Atom}"
PAGE = 2  # papers per page here, so that a few papers make several pages


@pytest.fixture(scope="module")
def site(demo_engine: Engine) -> Iterator[str]:
    """The demo, plus 0704.0001 as the Kaggle snapshot's `authors` text writes it (TeX: `C. Bal\\'azs`)
    under another id, then served with PAGE papers per page."""
    path = recording("kaggle_arxiv_snapshot", "head200_Sharath-1736_Embedding-VecSearch.jsonl")
    obj = orjson.loads(path.read_bytes().splitlines()[0])
    del obj["authors_parsed"]  # the parser falls back on the TeX text
    obj["id"] = "0704.9999"
    tex = record_from_object(obj)
    assert tex.authors[0].name == "C. Bal\\'azs"
    ingest_items(demo_engine, [tex], ImportReport())
    with serve_app(demo_engine, feed_page_size=PAGE) as base:
        yield base


def get(base: str, path: str) -> httpx.Response:
    return httpx.get(base + path, follow_redirects=False, timeout=30)


def ids(page: httpx.Response) -> list[str]:
    return [a.get("id").removeprefix("paper-") for a in html.fromstring(page.text).cssselect("article.card")]


def heading(page: httpx.Response) -> str:
    return html.fromstring(page.text).cssselect("h1")[0].text_content().strip()


def test_org_page_lists_its_papers_latest_featured_first_in_pages(site: str) -> None:
    first = get(site, "/orgs/muset-ai")
    assert first.status_code == 200 and heading(first) == "muset.ai"
    assert "3 papers" in first.text and "Page 1 of 2" in first.text
    doc = html.fromstring(first.text)
    assert doc.cssselect("nav.pager a[rel=next]")[0].get("href") == "?p=1"
    assert doc.cssselect("link[rel=alternate]")[0].get("href") == "/orgs/muset-ai/feed.atom"
    second = get(site, "/orgs/muset-ai?p=1")
    assert sorted(ids(first) + ids(second)) == ["2607.26497", "2607.27616", "2607.27816"]
    assert get(site, "/orgs/MUSET-AI").text == first.text  # names of organizations ignore case
    assert get(site, "/orgs/muset-ai?p=9").status_code == 200  # past the end: empty, with a way back

    hkust = get(site, "/orgs/hkust")
    assert heading(hkust) == "HKUST" and ids(hkust) == ["2607.08393", "2606.08788"]  # Jul 13 before Jun 12
    mit = get(site, "/orgs/MIT")
    assert heading(mit) == "Massachusetts Institute of Technology" and ids(mit) == ["2606.13681"]


def test_org_atom_feed(site: str) -> None:
    r = get(site, "/orgs/hkust/feed.atom")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/atom+xml")
    root = etree.fromstring(r.content)
    assert root.find(f"{ATOM}title").text == "Daily Papers: HKUST"
    links = [e.find(f"{ATOM}id").text for e in root.findall(f"{ATOM}entry")]
    assert links == [f"{site}/papers/2607.08393", f"{site}/papers/2606.08788"]
    assert get(site, "/orgs/no-such-org/feed.atom").status_code == 404


def test_author_page_meets_every_spelling(site: str) -> None:
    spellings = ["C. Balázs", "C. Bal\\'azs", "c balazs", "C.Balazs", "C.  BALÁZS", "c. bal\\'{a}zs"]
    pages = [get(site, "/authors/" + quote(s)) for s in spellings]
    for s, page in zip(spellings, pages, strict=True):
        assert page.status_code == 200, s
        assert heading(page) == "C. Balázs"  # the TeX spelling counts as the Unicode one
        assert sorted(ids(page)) == ["0704.0001", "0704.9999"]
    # The authors of the Kaggle snapshot's TeX strings, as the importer stored them from authors_parsed.
    for tex, shown in (("Mikkel {\\O}bro", "Mikkel Øbro"), ("Rastislav \\v{S}r\\'amek", "Rastislav Šrámek")):
        for name in (tex, shown, shown.lower()):
            page = get(site, "/authors/" + quote(name))
            assert page.status_code == 200 and heading(page) == shown, name


def test_author_pages_page_newest_first(site: str) -> None:
    first = get(site, "/authors/" + quote("I. Grabec"))
    assert "6 papers" in first.text and "Page 1 of 3" in first.text
    every = ids(first) + ids(get(site, "/authors/I.%20Grabec?p=1")) + ids(get(site, "/authors/I.%20Grabec?p=2"))
    assert len(set(every)) == 6
    published = [get(site, f"/api/papers/{i}").json()["publishedAt"] for i in every]
    assert published == sorted(published, reverse=True)
    search = html.fromstring(first.text).cssselect(".browse-facts a")[0].get("href")
    assert search.startswith("/search?q=author%3A")


ODD = [
    "nobody",
    "%2E%2E%2F%2E%2E%2Fetc%2Fpasswd",
    "..%2F..%2Fetc",
    "%00",
    "a%0Ab",
    "%E2%80%AE",
    "x" * 5000,
    *(quote(q, safe="") for q in HOSTILE_QUERIES if q.strip() and len(q) < 2000),
]


@pytest.mark.parametrize("prefix", ["/authors/", "/orgs/"])
def test_unknown_and_odd_names_answer_404(site: str, prefix: str) -> None:
    for name in ODD:
        r = get(site, prefix + name)
        assert r.status_code == 404, (prefix, name[:60], r.status_code)
        assert "<html" in r.text
    assert get(site, "/orgs/%00/feed.atom").status_code == 404
    assert get(site, "/authors/").status_code == 404


def test_category_filter_on_feed_pages(site: str) -> None:
    day = get(site, "/date/2026-07-31?cat=cs.CL")
    assert day.status_code == 200 and ids(day) == ["2607.28618", "2607.28568"]
    doc = html.fromstring(day.text)
    assert "Only cs.CL" in doc.cssselect(".cat-filter")[0].text_content()
    assert doc.cssselect(".cat-filter a")[0].get("href") == "/date/2026-07-31?sort=trending"
    # Every link that stays on the feed keeps the filter: tabs, neighbours, sorts, "Has code", Atom.
    for selector in (".tabs a", "a.prev", ".sorts a", "link[type='application/atom+xml']"):
        for a in doc.cssselect(selector):
            assert "cat=cs.CL" in a.get("href"), (selector, a.get("href"))
    assert ids(get(site, "/date/2026-07-31?cat=cs.CL&cat=cs.LG&sort=new")) == ["2607.28618", "2607.28582"]

    first = get(site, "/date/2026-07-31?cat=cs")  # an archive: all of cs.*, on two pages
    assert "Page 1 of 2" in first.text
    more = html.fromstring(first.text).cssselect("nav.pager a")[-1].get("href")
    assert more == "/date/2026-07-31?sort=trending&cat=cs&p=1"
    assert len(ids(first) + ids(get(site, more))) == 3

    assert ids(get(site, "/week/2026-W29?cat=cs.CV")) == ["2607.09657"]
    assert len(ids(get(site, "/month/2026-07?cat=cs.CL&sort=new&p=1"))) == 1  # 3 papers: 2607.09424 too
    assert ids(get(site, "/month/2026-07?cat=cs.CL&code=1&sort=new")) == ["2607.28618", "2607.28568"]
    assert ids(get(site, "/?cat=cs.LG")) == ["2607.28618", "2607.28582"]  # the latest day
    empty = get(site, "/date/2026-07-31?cat=q-bio.NC")
    assert empty.status_code == 200 and "No paper in q-bio.NC was featured on this day" in empty.text

    # /trending too (the demo is old: its latest week), its cards' chips and pager keeping the filter.
    trending = get(site, "/trending?cat=cs.CL")
    assert trending.status_code == 200 and "Only cs.CL" in trending.text
    shown = ids(trending)
    assert shown
    for paper in shown:  # each one is in cs.CL (its page lists its categories)
        tags = html.fromstring(get(site, f"/papers/{paper}").text).cssselect(".facts a.tag")
        assert "cs.CL" in [a.text_content() for a in tags], paper
    chips = html.fromstring(trending.text).cssselect("article.card a.tag.cat")
    assert chips and all(a.get("href").startswith("/trending?cat=") for a in chips)
    assert get(site, "/trending?cat=bad!").status_code == 400


def test_bad_categories_are_refused_with_a_message(site: str) -> None:
    for value in ("bad!", "cs..CL", "' OR 1=1 --", "../etc", "x" * 300, "日本"):
        for path in ("/", "/date/2026-07-31", "/feed.atom", "/week/2026-W31/feed.atom"):
            r = get(site, f"{path}?cat={quote(value)}")
            assert r.status_code == 400 and "is not an arXiv category" in r.text, (path, value)
        api = get(site, f"/api/daily_papers?cat={quote(value)}")
        assert api.status_code == 422 and "is not an arXiv category" in api.json()["error"]


def test_category_filter_in_atom_and_api(site: str) -> None:
    r = get(site, "/date/2026-07-31/feed.atom?cat=cs.LG")
    root = etree.fromstring(r.content)
    entries = [e.find(f"{ATOM}id").text.rsplit("/", 1)[1] for e in root.findall(f"{ATOM}entry")]
    assert entries == ["2607.28618", "2607.28582"]
    assert root.find(f"{ATOM}title").text.endswith("(cs.LG)")
    assert root.find(f"{ATOM}link[@rel='self']").get("href").endswith("/date/2026-07-31/feed.atom?cat=cs.LG")
    assert etree.fromstring(get(site, "/feed.atom?cat=cs.CV").content).findall(f"{ATOM}entry") == []

    def api(query: str) -> list[str]:
        r = get(site, "/api/daily_papers?" + query)
        assert r.status_code == 200
        return [item["paper"]["id"] for item in r.json()]

    assert api("date=2026-07-31&cat=cs.CL") == ["2607.28618", "2607.28568"]
    assert api("date=2026-07-31&cat=cs.CL&cat=cs.LG") == api("date=2026-07-31&cat=cs.CL,cs.LG")
    assert len(api("date=2026-07-31&cat=cs.CL,cs.LG")) == 3
    assert api("month=2026-07&cat=cs.CV&sort=publishedAt") == ["2607.09657"]
    assert api("date=2026-07-31&cat=cs.LG&hasCode=true") == ["2607.28618"]
    assert api("date=2026-07-31&cat=hep-th") == []


def test_cards_on_these_pages_link_back(site: str) -> None:
    """The cards of an organization's page link to it (the card is _card.html's, as on the feed)."""
    doc = html.fromstring(get(site, "/orgs/muset-ai").text)
    hrefs = {a.get("href") for a in doc.cssselect("article.card a")}
    assert any(re.fullmatch(r"/orgs/muset-ai", h or "") for h in hrefs)
