"""Saves and collections over HTTP, on a real server and both databases: the forms, the API, the exports, and
what other readers and anonymous visitors may see (never a private collection, by any road)."""

from __future__ import annotations

import concurrent.futures
import contextlib
import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path

import bibtexparser
import httpx
import pytest
from lxml import html
from sqlalchemy import Engine, text

from dailypapers.accounts import membership
from dailypapers.ingest.importer import ImportReport, ingest_items
from dailypapers.sources.record import Author, Listing, PaperRecord
from dailypapers.store import accounts
from dailypapers.store.db import read_tx
from tests.support.accounts import csrf, make_user, post, sign_in
from tests.support.server import serve_app

DAY = dt.date(2026, 3, 6)
X, Y, OLD = "2603.00001", "2603.00002", "hep-th/9901001"
TEX_TITLE = r"Erd\H{o}s meets $O(n^2)$: 100% & #1 of_the {sparse} Ünïcode"
SECRET_NAME = "Zyxwv secret reading list"


def add_papers(engine: Engine) -> None:
    records = [
        PaperRecord(
            id=pid,
            source="test",
            title=title,
            abstract="An abstract about sparse attention.",
            authors=[Author("Paul Erdős"), Author("Ada Lovelace")],
            published=dt.datetime(2026, 3, 5, tzinfo=dt.UTC),
            primary_category="cs.LG",
            categories=["cs.LG"],
            doi="10.1000/xyz" if pid == X else "",
            listing=Listing(day=DAY, source="t", upvotes=3),
        )
        for pid, title in ((X, TEX_TITLE), (Y, "Plain title"), (OLD, "Old style id"))
    ]
    ingest_items(engine, records, ImportReport())


@pytest.fixture
def site(engine: Engine, tmp_path: Path) -> Iterator[str]:
    add_papers(engine)
    for name in ("ada", "bob"):
        make_user(engine, name)
    with serve_app(engine, tmp_path, rate_limits=False) as base:
        yield base


def bearer(engine: Engine, name: str) -> dict[str, str]:
    with read_tx(engine) as conn:
        account = accounts.account_by_login(conn, name)
    assert account is not None
    return {"Authorization": f"Bearer {membership.create_api_token(engine, account, 'test')}"}


def save_state(page: httpx.Response, paper_id: str) -> str | None:
    escaped = paper_id.replace(".", "\\.").replace("/", "\\/")
    buttons = html.fromstring(page.text).cssselect(f"#paper-{escaped} button.save-button")
    return buttons[0].get("aria-pressed") if buttons else None


def count(engine: Engine, table: str) -> int:
    with read_tx(engine) as conn:
        return int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar() or 0)


def test_save_with_the_form_and_json(site: str, engine: Engine) -> None:
    with contextlib.closing(sign_in(site, "ada")) as ada:
        assert save_state(ada.get(f"/date/{DAY}"), X) == "false"
        r = post(ada, f"/papers/{X}/save", {"on": "1", "back": f"/date/{DAY}"})
        assert r.status_code == 303 and r.headers["location"] == f"/date/{DAY}"
        assert save_state(ada.get(f"/date/{DAY}"), X) == "true" and save_state(ada.get(f"/date/{DAY}"), Y) == "false"
        paper = html.fromstring(ada.get(f"/papers/{X}").text)
        assert paper.cssselect(".paper-actions button.save-button")[0].get("aria-pressed") == "true"
        # The JS path: JSON back, and unsaving.
        token = csrf(ada)
        r = ada.post(f"/papers/{X}/save", data={"on": "0", "csrf_token": token}, headers={"Accept": "application/json"})
        assert r.status_code == 200 and r.json() == {"id": X, "saved": False}
        # Without the CSRF token: refused.
        assert ada.post(f"/papers/{X}/save", data={"on": "1"}).status_code == 403
        # An old-style id with a slash, and an unknown paper.
        assert post(ada, f"/papers/{OLD}/save", {"on": "1"}).status_code == 303
        assert post(ada, "/papers/2603.99999/save", {"on": "1"}).status_code == 404
        saved = html.fromstring(ada.get("/saved").text)
        assert [a.get("href") for a in saved.cssselect(".saved-papers h3.title a")] == [f"/papers/{OLD}"]
    assert count(engine, "saves") == 1


def test_signed_out_save_link_goes_through_signing_in(site: str) -> None:
    with httpx.Client(base_url=site) as anon:
        page = html.fromstring(anon.get(f"/date/{DAY}").text)
        link = page.cssselect(f"#paper-{X.replace('.', chr(92) + '.')} a.save-link")[0].get("href")
        assert link == f"/papers/{X}/save"
        r = anon.get(link, headers={"Referer": f"{site}/date/{DAY}"})
        assert r.status_code == 303 and r.headers["location"].startswith("/signin?next=%2Fpapers%2F")
        assert anon.get("/saved").status_code == 303  # to sign in
        assert anon.post(f"/api/papers/{X}/save").status_code == 401
    with contextlib.closing(sign_in(site, "ada")) as ada:
        ask = html.fromstring(ada.get(f"/papers/{X}/save?back=/date/{DAY}").text)
        assert ask.cssselect("h1")[0].text == "Save this paper?"  # a GET changes nothing
        fields = {i.get("name"): i.get("value") for i in ask.cssselect("form[action$='/save'] input")}
        done = ada.post(f"/papers/{X}/save", data=fields)
        assert done.status_code == 303 and done.headers["location"] == f"/date/{DAY}"
        assert html.fromstring(ada.get(f"/papers/{X}/save").text).cssselect("h1")[0].text == "You saved this paper"


def test_concurrent_double_clicks_are_idempotent(site: str, engine: Engine) -> None:
    headers = bearer(engine, "ada")

    def click(_: int) -> int:
        return httpx.post(f"{site}/api/papers/{Y}/save", headers=headers, timeout=30).status_code

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        assert set(pool.map(click, range(16))) == {200}
    assert count(engine, "saves") == 1
    r = httpx.delete(f"{site}/api/papers/{Y}/save", headers=headers)
    assert r.json() == {"id": Y, "saved": False}
    assert httpx.delete(f"{site}/api/papers/{Y}/save", headers=headers).json()["saved"] is False
    assert count(engine, "saves") == 0
    assert httpx.post(f"{site}/api/papers/2603.99999/save", headers=headers).status_code == 404


def test_collections_through_the_api(site: str, engine: Engine) -> None:
    ada, bob = bearer(engine, "ada"), bearer(engine, "bob")
    api = httpx.Client(base_url=site, headers=ada)
    made = api.post("/api/collections", json={"title": "Sparse attention", "description": "Reading.", "private": False})
    assert made.status_code == 201
    c = made.json()
    slug = c["slug"]
    assert re.fullmatch(r"sparse-attention-[a-z0-9]{6}", slug)
    assert c["visibility"] == "public" and c["private"] is False and c["owner"] == {"name": "ada"}
    assert api.post(f"/api/collections/{slug}/papers/{X}", json={"note": "Start here"}).json()["papers"] == 1
    assert api.post(f"/api/collections/{slug}/papers/{OLD}").json() == {
        "slug": slug,
        "id": OLD,
        "added": True,
        "papers": 2,
    }
    got = httpx.get(f"{site}/api/collections/{slug}").json()  # public: anyone
    assert [i["id"] for i in got["items"]] == [X, OLD] and got["items"][0]["note"] == {"text": "Start here"}
    assert got["items"][0]["paper"]["title"] == TEX_TITLE and got["numItems"] == 2
    assert [i["id"] for i in httpx.get(f"{site}/api/collections/{slug}?limit=1&p=1").json()["items"]] == [OLD]
    # Bob may see it but not change it.
    assert httpx.post(f"{site}/api/collections/{slug}/papers/{Y}", headers=bob).status_code == 403
    assert httpx.delete(f"{site}/api/collections/{slug}/papers/{X}", headers=bob).status_code == 403
    assert httpx.patch(f"{site}/api/collections/{slug}", json={"name": "x"}, headers=bob).status_code == 403
    assert httpx.delete(f"{site}/api/collections/{slug}", headers=bob).status_code == 403
    # Bad input.
    assert api.post("/api/collections", json={"name": "   "}).status_code == 422
    assert api.post("/api/collections", json={"name": "x" * 101}).status_code == 422
    assert api.post("/api/collections", json={"name": "ok", "description": "d" * 2001}).status_code == 422
    assert api.post("/api/collections", json={"name": "ok", "visibility": "secret"}).status_code == 422
    assert api.post("/api/collections", json={"description": "no name"}).status_code == 422
    assert api.post("/api/collections", json={"name": "ok", "unknown": 1}).status_code == 422
    assert api.post(f"/api/collections/{slug}/papers/2603.99999").status_code == 404
    assert api.post(f"/api/collections/{slug}/papers/{Y}", json={"note": "n" * 2001}).status_code == 422
    for odd in ("nope", "..%2F..%2Fetc", "A" * 300, "%00", "%E2%98%83"):
        assert api.get(f"/api/collections/{odd}").status_code == 404, odd
        assert api.post(f"/api/collections/{odd}/papers/{X}").status_code == 404, odd
    assert httpx.post(f"{site}/api/collections", json={"name": "anon"}).status_code == 401
    # Change, list, take out, delete.
    changed = api.patch(f"/api/collections/{slug}", json={"name": "Renamed", "visibility": "private"}).json()
    assert changed["name"] == "Renamed" and changed["visibility"] == "private" and changed["slug"] == slug
    assert [x["slug"] for x in api.get("/api/collections").json()] == [slug]
    assert api.delete(f"/api/collections/{slug}/papers/{X}").json()["papers"] == 1
    assert api.delete(f"/api/collections/{slug}/papers/{X}").json()["added"] is False
    assert api.delete(f"/api/collections/{slug}").json() == {"slug": slug, "deleted": True}
    assert api.get(f"/api/collections/{slug}").status_code == 404
    assert count(engine, "collection_papers") == 0


def test_private_collections_are_never_shown_to_others(site: str, engine: Engine) -> None:
    ada_api = httpx.Client(base_url=site, headers=bearer(engine, "ada"))
    bob_api = httpx.Client(base_url=site, headers=bearer(engine, "bob"))
    secret = ada_api.post("/api/collections", json={"name": SECRET_NAME, "description": "hidden words"}).json()
    public = ada_api.post("/api/collections", json={"name": "Open list", "visibility": "public"}).json()
    unlisted = ada_api.post("/api/collections", json={"name": "Link only", "visibility": "unlisted"}).json()
    for c in (secret, public, unlisted):
        ada_api.post(f"/api/collections/{c['slug']}/papers/{X}")
    s = secret["slug"]
    with contextlib.closing(sign_in(site, "bob")) as bob, httpx.Client(base_url=site) as anon:
        for client in (bob, anon):
            for path in (
                f"/collections/{s}",
                f"/collections/{s}.bib",
                f"/collections/{s}.md",
                f"/collections/{s}.json",
            ):
                r = client.get(path)
                assert r.status_code == 404 and SECRET_NAME not in r.text, path
            assert client.get(f"/api/collections/{s}").status_code == 404
            assert client.get("/api/collections", params={"owner": "ada"}).json()[0]["slug"] == public["slug"]
            assert len(client.get("/api/collections", params={"owner": "ada"}).json()) == 1
            profile = client.get("/users/ada").text
            assert "Open list" in profile and SECRET_NAME not in profile and "Link only" not in profile
            for path in (f"/papers/{X}", f"/date/{DAY}", "/"):
                assert SECRET_NAME not in client.get(path).text, path
            search = client.get("/search", params={"q": SECRET_NAME, "mode": "keyword"})
            assert search.status_code == 200 and s not in search.text
            api_search = client.get("/api/papers/search", params={"q": SECRET_NAME, "mode": "keyword"})
            assert api_search.status_code == 200 and SECRET_NAME not in api_search.text
            # The unlisted one: with its link, yes.
            assert client.get(f"/collections/{unlisted['slug']}").status_code == 200
        # Bob's forms on Ada's private collection: as if it did not exist.
        assert post(bob, f"/papers/{Y}/collections", {"slug": s}).status_code == 404
        assert post(bob, f"/collections/{s}/edit", {"name": "mine", "visibility": "public"}).status_code == 404
        assert post(bob, f"/collections/{s}/delete").status_code == 404
        assert bob_api.get("/api/collections").json() == []
        assert bob_api.delete(f"/api/collections/{s}").status_code == 404
    # Ada sees all three, on her own pages only.
    with contextlib.closing(sign_in(site, "ada")) as ada:
        saved = ada.get("/saved").text
        assert SECRET_NAME in saved and "Open list" in saved and "Link only" in saved
        assert ada.get(f"/collections/{s}").status_code == 200
        mine = {x["slug"] for x in ada_api.get("/api/collections", params={"owner": "ada"}).json()}
        assert mine == {s, public["slug"], unlisted["slug"]}


def test_forms_and_pages(site: str, engine: Engine) -> None:
    with contextlib.closing(sign_in(site, "ada")) as ada:
        # Create from /saved: errors are shown on the form, the values kept.
        bad = post(ada, "/collections", {"name": "x" * 101, "description": "kept", "visibility": "public"})
        assert bad.status_code == 400
        doc = html.fromstring(bad.text)
        assert "at most 100" in doc.cssselect("#new-collection .error")[0].text_content()
        assert doc.cssselect("#new-collection textarea")[0].text == "kept"
        r = post(ada, "/collections", {"name": "Ünïcode — reading", "description": "Para one.\n\nPara two."})
        assert r.status_code == 303
        slug = r.headers["location"].removeprefix("/collections/")
        assert re.fullmatch(r"unicode-reading-[a-z0-9]{6}", slug)
        # The paper page: add to it, then take it out; or create one with the paper in it.
        page = html.fromstring(ada.get(f"/papers/{X}").text)
        assert [o.get("value") for o in page.cssselect(".add-to-collection select option")] == [slug]
        r = post(ada, f"/papers/{X}/collections", {"slug": slug, "back": f"/papers/{X}"})
        assert r.status_code == 303 and r.headers["location"] == f"/papers/{X}"
        page = html.fromstring(ada.get(f"/papers/{X}").text)
        assert [a.get("href") for a in page.cssselect(".in-collections a")] == [f"/collections/{slug}"]
        r = post(ada, "/collections", {"name": "From the paper page", "paper_id": Y, "back": f"/papers/{Y}"})
        assert r.status_code == 303 and r.headers["location"] == f"/papers/{Y}"
        assert len(html.fromstring(ada.get(f"/papers/{Y}").text).cssselect(".in-collections li")) == 1
        # A note, then the collection page shows it; edit with a bad visibility; then for real.
        post(ada, f"/papers/{X}/collections", {"slug": slug, "note": "Read <b>this</b> first"})
        shown = ada.get(f"/collections/{slug}")
        doc = html.fromstring(shown.text)
        assert doc.cssselect(".item-note")[0].text_content().endswith("Read <b>this</b> first")  # escaped
        assert doc.cssselect("h1")[0].text == "Ünïcode — reading"
        assert {a.get("href") for a in doc.cssselect(".exports a")} == {
            f"/collections/{slug}.bib",
            f"/collections/{slug}.md",
            f"/collections/{slug}.json",
        }
        assert post(ada, f"/collections/{slug}/edit", {"name": "N", "visibility": "everyone"}).status_code == 400
        assert post(ada, f"/collections/{slug}/edit", {"name": "Now public", "visibility": "public"}).status_code == 303
        assert "Now public" in httpx.get(f"{site}/users/ada").text
        r = post(ada, f"/papers/{X}/collections", {"slug": slug, "on": "0"})
        assert r.status_code == 303 and r.headers["location"] == f"/collections/{slug}"
        assert post(ada, f"/collections/{slug}/delete").headers["location"] == "/saved#collections"
        assert ada.get(f"/collections/{slug}").status_code == 404
        assert ada.get("/collections").headers["location"] == "/saved#collections"


def test_exports(site: str, engine: Engine) -> None:
    api = httpx.Client(base_url=site, headers=bearer(engine, "ada"))
    slug = api.post("/api/collections", json={"name": "Export me", "visibility": "unlisted"}).json()["slug"]
    for pid in (X, Y, OLD):
        api.post(f"/api/collections/{slug}/papers/{pid}", json={"note": "Über {note} 100%"})
    with httpx.Client(base_url=site) as anon:
        bib = anon.get(f"/collections/{slug}.bib")
        assert bib.status_code == 200 and bib.headers["content-type"] == "application/x-bibtex; charset=utf-8"
        assert bib.headers["content-disposition"] == f'attachment; filename="{slug}.bib"'
        library = bibtexparser.parse_string(bib.text)
        assert library.failed_blocks == []
        keys = [e.key for e in library.entries]
        assert len(set(keys)) == 3 and all(k.isascii() for k in keys)
        first = library.entries[0]
        assert first["title"] == r"Erd\H{o}s meets $O(n^2)$: 100\% \& \#1 of\_the {sparse} Ünïcode"
        assert first["eprint"] == X and first["archivePrefix"] == "arXiv" and first["primaryClass"] == "cs.LG"
        assert first["doi"] == "10.1000/xyz" and first["url"] == f"https://arxiv.org/abs/{X}"
        assert first["author"] == "Paul Erdős and Ada Lovelace" and first["annote"] == r"Über {note} 100\%"
        assert library.entries[2]["eprint"] == OLD
        md = anon.get(f"/collections/{slug}.md")
        assert md.headers["content-type"] == "text/markdown; charset=utf-8"
        assert (
            md.text.startswith("# Export me\n") and "Erdős meets O(n²): 100% & \\#1 of\\_the sparse Ünïcode" in md.text
        )
        js = anon.get(f"/collections/{slug}.json")
        assert js.headers["content-type"] == "application/json"
        assert [p["id"] for p in js.json()["papers"]] == [X, Y, OLD] and js.json()["collection"]["name"] == "Export me"
        assert anon.get(f"/collections/{slug}.pdf").status_code == 404
        assert anon.get("/collections/nope-abcdef.bib").status_code == 404
