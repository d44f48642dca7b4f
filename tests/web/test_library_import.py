"""Importing a library over HTTP (web/library.py): the settings page's upload form (CSRF-checked), the API
with a bearer token (multipart and raw bodies), the larger body limit of the import routes, bad files.
Real server, both databases."""

from __future__ import annotations

import contextlib
from pathlib import Path

import httpx
from lxml import html
from sqlalchemy import Engine

from dailypapers.accounts import membership
from dailypapers.ingest.importer import ImportReport, ingest_items
from dailypapers.sources.record import PaperRecord
from dailypapers.store import search_index
from tests.support.accounts import csrf, make_user, sign_in
from tests.support.server import serve_app

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "library"
ASTROPY = (FIXTURES / "astropy_citation.bib").read_bytes()
CSL = (FIXTURES / "zotero_style_arxiv.csl.json").read_bytes()


def add_papers(engine: Engine) -> None:
    records = [
        PaperRecord(id="1801.02634", source="test", title="The Astropy Project", abstract="Astropy."),
        PaperRecord(id="2306.13455", source="test", title="DreamEditor", abstract="Editing neural fields."),
    ]
    ingest_items(engine, records, ImportReport())
    search_index.index_pending(engine)


def summary_of(page: httpx.Response) -> dict[str, str]:
    doc = html.fromstring(page.text)
    items = doc.cssselect("#import-summary > ul > li")
    return {li.text_content().split(":")[0].strip(): li.cssselect("strong")[0].text_content() for li in items}


def upload(client: httpx.Client, data: bytes, name: str = "library.bib", fmt: str = "") -> httpx.Response:
    return client.post(
        "/settings/library/import",
        data={"csrf_token": csrf(client), "format": fmt},
        files={"file": (name, data, "application/octet-stream")},
    )


def test_the_settings_page_imports_shows_and_removes(engine: Engine, tmp_path: Path) -> None:
    add_papers(engine)
    make_user(engine, "ada")
    with serve_app(engine, tmp_path, rate_limits=False) as base:
        anonymous = httpx.get(f"{base}/settings/library")
        assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/signin")
        with contextlib.closing(sign_in(base, "ada")) as client:
            settings = client.get("/settings")
            assert 'href="/settings/library"' in settings.text
            empty = client.get("/settings/library")
            assert empty.status_code == 200 and "Nothing yet." in empty.text
            assert html.fromstring(empty.text).cssselect('form[enctype="multipart/form-data"] input[type=file]')

            # Without the CSRF token: refused, nothing imported.
            forged = client.post("/settings/library/import", files={"file": ("a.bib", ASTROPY)})
            assert forged.status_code == 403

            done = upload(client, ASTROPY)
            assert done.status_code == 200
            assert summary_of(done) == {
                "Matched by arXiv id": "1",
                "Matched by DOI": "0",
                "Matched by title": "0",
                "Kept without a match (their title and abstract still count)": "1",
                "Duplicates skipped (already in your library or twice in the file)": "0",
                "Refused": "0",
            }
            assert "Read 2 entries (BibTeX); added 2 to your library." in done.text
            assert 'href="/papers/1801.02634"' in done.text

            again = upload(client, ASTROPY)
            assert summary_of(again)["Duplicates skipped (already in your library or twice in the file)"] == "2"

            csl = upload(client, CSL, "zotero.json", "csl-json")
            doc = html.fromstring(csl.text)
            assert summary_of(csl)["Matched by arXiv id"] == "1" and summary_of(csl)["Refused"] == "2"
            refused = [li.text_content() for li in doc.cssselect("#import-summary details li")]
            assert refused == ["4 (item 4): 'title' is a list, not text", "(item 5): text, not an item object"]
            assert "5 entries: 2 matched to papers here, 3 kept by their text" in " ".join(doc.text_content().split())

            bad = upload(client, b"\x89PNG\r\n\x1a\n not a library", "picture.png")
            assert bad.status_code == 400
            assert "This is not a BibTeX file" in html.fromstring(bad.text).cssselect("p.error")[0].text_content()

            removed = client.post("/settings/library/remove", data={"csrf_token": csrf(client)})
            assert removed.status_code == 200 and "Your library is removed (5 entries)." in removed.text
            assert "Nothing yet." in removed.text


def test_the_api_with_a_token(engine: Engine, tmp_path: Path) -> None:
    add_papers(engine)
    ada = make_user(engine, "ada")
    token = membership.create_api_token(engine, ada, "script")
    auth = {"Authorization": f"Bearer {token}"}
    with serve_app(engine, tmp_path, rate_limits=False) as base, httpx.Client(base_url=base, headers=auth) as api:
        assert httpx.post(f"{base}/api/library/import", content=ASTROPY).status_code == 401
        assert httpx.get(f"{base}/api/library").status_code == 401

        raw = api.post("/api/library/import", content=ASTROPY, headers={"Content-Type": "application/x-bibtex"})
        assert raw.status_code == 200, raw.text
        body = raw.json()
        assert body["format"] == "bibtex" and body["read"] == 2 and body["added"] == 2
        assert body["matched"] == {"arxiv_id": 1, "doi": 0, "title": 0} and body["unmatched"] == 1

        csl_type = {"Content-Type": "application/vnd.citationstyles.csl+json"}
        csl = api.post("/api/library/import", content=CSL, headers=csl_type).json()
        assert csl["format"] == "csl-json" and csl["added"] == 3 and csl["refused"] == 2
        assert csl["errors"][0] == {"key": "4", "item": 4, "problem": "'title' is a list, not text"}

        multipart = api.post("/api/library/import", files={"file": ("x.json", CSL)}, data={"format": "csl-json"})
        assert multipart.status_code == 200 and multipart.json()["duplicates"] == 3

        as_json = api.post("/api/library/import", content=CSL, headers={"Content-Type": "application/json"})
        assert as_json.json()["added"] == 0
        forced = api.post("/api/library/import?format=bibtex", content=CSL, headers={"Content-Type": "text/x-bibtex"})
        assert forced.status_code == 422 and "No BibTeX entries" in forced.json()["error"]

        listed = api.get("/api/library", params={"per_page": 2, "page": 2}).json()
        assert (listed["total"], listed["matched"], listed["unmatched"]) == (5, 2, 3)
        assert [e["paper_id"] for e in listed["entries"]] == ["2306.13455", None]
        assert listed["entries"][0]["arxiv_id"] == "2306.13455"

        for content, content_type in [
            (b"", "application/x-bibtex"),
            (b"just words", "application/x-bibtex"),
            (b'{"name": "not csl"}', "application/json"),
            (b"[1, 2, 3]", "application/json"),
            (b"\xff\xfe\x00garbage", "application/octet-stream"),
        ]:
            refused = api.post("/api/library/import", content=content, headers={"Content-Type": content_type})
            assert refused.status_code == 422, (content, refused.text)
            assert refused.json()["error"]
        unsupported = api.post("/api/library/import", content=b"x", headers={"Content-Type": "image/png"})
        assert unsupported.status_code == 422 and "Unsupported Content-Type" in unsupported.json()["error"]
        assert api.post("/api/library/import?format=ris", content=ASTROPY).status_code == 422
        deep = api.post("/api/library/import", content=b"[" * 5000, headers={"Content-Type": "application/json"})
        assert deep.status_code == 400  # the JSON depth limit, before any parser

        deleted = api.delete("/api/library")
        assert deleted.status_code == 200 and deleted.json() == {"removed": 5}
        assert api.get("/api/library").json()["total"] == 0


def test_uploads_may_be_larger_than_other_bodies_but_not_unbounded(engine: Engine, tmp_path: Path) -> None:
    ada = make_user(engine, "ada")
    token = membership.create_api_token(engine, ada, "script")
    auth = {"Authorization": f"Bearer {token}", "Content-Type": "application/x-bibtex"}
    # 3 MiB of real entries (one entry repeated under new keys): over the site's 1 MiB, under 16 MiB.
    entry = ASTROPY.split(b"Recommended BibTeX entries for the above citations are:\n")[1]
    big = b"".join(
        entry.replace(b"2018AJ....156..123T", f"k{i}".encode()) for i in range(3 * 1024 * 1024 // len(entry))
    )
    assert len(big) > 2 << 20
    with serve_app(engine, tmp_path, rate_limits=False) as base, httpx.Client(base_url=base, timeout=120) as client:
        accepted = client.post("/api/library/import", content=big, headers=auth)
        assert accepted.status_code == 200, accepted.text[:300]
        assert accepted.json()["added"] == 2 and accepted.json()["duplicates"] > 500
        too_big = client.post("/api/library/import", content=b"@" * ((16 << 20) + (65 << 10)), headers=auth)
        assert too_big.status_code == 413
        elsewhere = client.post("/api/papers/1801.02634/upvote", content=b"x" * (2 << 20), headers=auth)
        assert elsewhere.status_code == 413  # the site's own limit still holds on every other path

        def chunks():  # streamed, no Content-Length: counted as it arrives
            for _ in range(17):
                yield b"%" * (1 << 20)

        streamed = client.post("/api/library/import", content=chunks(), headers=auth)
        assert streamed.status_code == 413
