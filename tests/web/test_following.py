"""Follows over HTTP (real server, both databases): the follow buttons on author, organization and search
pages, the Following page (what you follow, and the new papers from it with their reasons, not older ones),
its forms, and /api/follows with its refusals."""

from __future__ import annotations

import datetime as dt
import re
import secrets
from collections.abc import Iterator
from urllib.parse import quote

import httpx
import pytest
from lxml import html
from sqlalchemy import Engine

from dailypapers.ingest.importer import ImportReport, ingest_items
from dailypapers.personal import follows
from dailypapers.sources.record import Author, PaperRecord
from dailypapers.store import accounts, search_index
from dailypapers.store.convert import utc_today
from dailypapers.store.db import make_engine, write_tx
from tests.support.accounts import make_user, sign_in
from tests.support.databases import new_database
from tests.support.server import serve_app

TODAY = utc_today()
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def ago(n: int) -> dt.date:
    return TODAY - dt.timedelta(days=n)


def record(
    pid: str, title: str, authors: tuple[str, ...], cats: tuple[str, ...], day: dt.date, **kw: object
) -> PaperRecord:
    return PaperRecord(
        id=pid,
        source="test",
        title=title,
        abstract="We study things.",
        authors=[Author(a) for a in authors],
        categories=list(cats),
        primary_category=cats[0],
        announced=day,
        published=dt.datetime.combine(day - dt.timedelta(days=1), dt.time(9), tzinfo=dt.UTC),
        **kw,  # type: ignore[arg-type]
    )


PAPERS = [
    record("2612.10001", "Sparse attention at scale", ("Csaba Bal\\'azs", "Ann Other"), ("cs.CL",), ago(1)),
    record("2610.10002", "Diffusion models revisited, long ago", ("Csaba Balázs",), ("cs.CV",), ago(45)),
    record(
        "2612.10003",
        "Diffusion models for proteins",
        ("Bob Builder",),
        ("q-bio.BM",),
        ago(2),
        extra={"organization": {"name": "Qwen", "fullname": "Qwen Team"}},
    ),
    record("2612.10004", "Robots that fold laundry", ("Carol Crane",), ("cs.RO",), ago(0)),
]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    eng = make_engine(new_database(request.param, request, tmp_path_factory.mktemp("following")))
    ingest_items(eng, PAPERS, ImportReport())
    search_index.index_pending(eng)
    yield eng
    eng.dispose()


@pytest.fixture(scope="module")
def site(engine: Engine) -> Iterator[str]:
    with serve_app(engine, rate_limits=False) as base:
        yield base


@pytest.fixture
def reader(engine: Engine, site: str) -> Iterator[httpx.Client]:
    """A new reader, signed in."""
    name = "r" + secrets.token_hex(4)
    make_user(engine, name)
    client = sign_in(site, name)
    yield client
    client.close()


def token_of(client: httpx.Client, path: str = "/following") -> str:
    match = CSRF.search(client.get(path).text)
    assert match, f"no CSRF field on {path}"
    return match.group(1)


def form(client: httpx.Client, path: str, data: dict[str, str], page: str = "/following") -> httpx.Response:
    return client.post(path, data={**data, "csrf_token": token_of(client, page)})


def listed(page: httpx.Response) -> dict[str, list[str]]:
    """The Following page's papers: id to its reasons."""
    doc = html.fromstring(page.text)
    return {
        item.cssselect("article.card")[0].get("id").removeprefix("paper-"): [
            li.text_content() for li in item.cssselect(".reasons .reason")
        ]
        for item in doc.cssselect(".followed-item")
    }


def followed_labels(page: httpx.Response) -> list[str]:
    return [a.text_content() for a in html.fromstring(page.text).cssselect("ul.follow-list li > a")]


def test_signed_out_readers_are_sent_to_sign_in(site: str) -> None:
    r = httpx.get(f"{site}/following")
    assert r.status_code == 303 and r.headers["location"] == "/signin?next=/following"
    assert httpx.get(f"{site}/api/follows").status_code == 401
    assert httpx.post(f"{site}/api/follows", json={"kind": "author", "value": "x"}).status_code == 401
    page = httpx.get(f"{site}/authors/{quote('Csaba Balázs')}")
    link = html.fromstring(page.text).cssselect("a.follow-link")[0]
    assert link.get("href") == "/signin?next=" + quote("/authors/" + quote("Csaba Balázs", safe=""))
    search = httpx.get(f"{site}/search", params={"q": "diffusion models", "mode": "keyword"})
    assert html.fromstring(search.text).cssselect("a.follow-link")[0].text_content() == "Follow this search"


def test_follow_an_author_from_the_author_page(reader: httpx.Client) -> None:
    path = "/authors/" + quote("Csaba Bal\\'azs", safe="")
    page = reader.get(path)
    button = html.fromstring(page.text).cssselect("form.follow-form")[0]
    assert button.get("action") == "/following/follow"
    fields = {i.get("name"): i.get("value") for i in button.cssselect("input")}
    assert fields["kind"] == "author" and fields["value"] == "Csaba Balázs"
    r = reader.post("/following/follow", data=fields)
    assert r.status_code == 303 and r.headers["location"] == fields["back"]
    again = html.fromstring(reader.get(path).text).cssselect("form.follow-form")[0]
    assert again.get("action") == "/following/unfollow"
    assert again.cssselect("button")[0].get("aria-pressed") == "true"

    following = reader.get("/following")
    assert following.status_code == 200 and following.headers["cache-control"] == "private, no-store"
    assert followed_labels(following) == ["Csaba Balázs"]
    # The new paper (written in TeX), not the one announced 45 days ago.
    assert listed(following) == {"2612.10001": ["by an author you follow: Csaba Balázs"]}
    assert "2610.10002" in listed(reader.get("/following?days=60"))

    fields = {i.get("name"): i.get("value") for i in again.cssselect("input")}
    assert reader.post("/following/unfollow", data=fields).status_code == 303
    assert followed_labels(reader.get("/following")) == []


def test_follow_an_organization_a_category_and_a_search(reader: httpx.Client) -> None:
    org = html.fromstring(reader.get("/orgs/qwen").text).cssselect("form.follow-form")[0]
    assert (
        reader.post(
            "/following/follow", data={i.get("name"): i.get("value") for i in org.cssselect("input")}
        ).status_code
        == 303
    )
    search = reader.get("/search", params={"q": "diffusion models", "mode": "keyword"})
    button = html.fromstring(search.text).cssselect("form.follow-form")[0]
    fields = {i.get("name"): i.get("value") for i in button.cssselect("input")}
    assert fields["kind"] == "search" and fields["value"] == "diffusion models"
    assert reader.post("/following/follow", data=fields).status_code == 303
    assert form(reader, "/following/follow", {"kind": "category", "value": "cs.RO"}).status_code == 303
    assert form(reader, "/following/follow", {"kind": "category", "value": "cs.RO"}).status_code == 303  # again

    page = reader.get("/following")
    assert followed_labels(page) == ["Qwen", "cs.RO", "diffusion models"]
    assert list(listed(page).items()) == [
        ("2612.10004", ["in cs.RO, a category you follow"]),
        (
            "2612.10003",
            ["from an organization you follow: Qwen", "matches your search 'diffusion models'"],
        ),
    ]
    doc = html.fromstring(page.text)
    assert [a.get("href") for a in doc.cssselect("ul.follow-list li > a")] == [
        "/orgs/Qwen",
        "/?cat=cs.RO",
        "/search?q=diffusion+models",
    ]
    pressed = html.fromstring(reader.get("/search", params={"q": "diffusion models"}).text)
    assert pressed.cssselect("form.follow-form button")[0].get("aria-pressed") == "true"


def test_the_page_pages_and_bounds_its_days(reader: httpx.Client, monkeypatch: pytest.MonkeyPatch) -> None:
    from dailypapers.web import following

    monkeypatch.setattr(following, "PAGE_SIZE", 1)
    assert form(reader, "/following/follow", {"kind": "category", "value": "cs"}).status_code == 303
    first = reader.get("/following")
    assert list(listed(first)) == ["2612.10004"]
    assert html.fromstring(first.text).cssselect("nav.pager a[rel=next]")[0].get("href") == "/following?days=7&p=1"
    assert list(listed(reader.get("/following?days=7&p=1"))) == ["2612.10001"]
    assert listed(reader.get("/following?days=7&p=2")) == {}
    assert list(listed(reader.get("/following?days=1"))) == ["2612.10004"]
    for bad in ("0", "91", "-1", "x", "9" * 30):
        assert reader.get(f"/following?days={bad}").status_code == 400


def test_the_form_shows_its_errors(reader: httpx.Client) -> None:
    r = form(reader, "/following/follow", {"kind": "category", "value": "not a category!"})
    assert r.status_code == 400
    assert "is not an arXiv category" in html.fromstring(r.text).cssselect("p.error")[0].text_content()
    r = form(reader, "/following/follow", {"kind": "people", "value": "Hinton"})
    assert r.status_code == 400 and "kind: one of author, org, category, search" in r.text
    assert reader.post("/following/follow", data={"kind": "author", "value": "X"}).status_code == 403  # no token
    assert followed_labels(reader.get("/following")) == []


@pytest.fixture
def api(engine: Engine, site: str) -> Iterator[httpx.Client]:
    """A reader's API client (a bearer token)."""
    name = "a" + secrets.token_hex(4)
    user = make_user(engine, name)
    token = secrets.token_urlsafe(32)
    with write_tx(engine) as conn:
        accounts.create_token(conn, user.pk, "script", token)
    with httpx.Client(base_url=site, headers={"Authorization": f"Bearer {token}"}) as client:
        yield client


def test_the_api(api: httpx.Client) -> None:
    assert api.get("/api/follows").json() == []
    made = api.post("/api/follows", json={"kind": "author", "value": "C. Bal\\'azs"})
    assert made.status_code == 200
    body = made.json()
    assert (body["kind"], body["key"], body["label"]) == ("author", "c balazs", "C. Balázs")
    assert body["url"] == "/authors/C.%20Bal%C3%A1zs"
    assert api.post("/api/follows", json={"kind": "author", "value": "c balazs"}).json()["id"] == body["id"]
    balazs = api.post("/api/follows", json={"kind": "author", "value": "Csaba Balázs"}).json()
    cat = api.post("/api/follows", json={"kind": "category", "value": "cs.CL"}).json()
    assert [f["id"] for f in api.get("/api/follows").json()] == [body["id"], balazs["id"], cat["id"]]

    papers = api.get("/api/follows/papers", params={"days": 7}).json()
    assert [(p["id"], p["reasons"]) for p in papers] == [
        ("2612.10001", ["by an author you follow: Csaba Balázs", "in cs.CL, a category you follow"])
    ]
    assert [p["id"] for p in api.get("/api/follows/papers", params={"days": 90}).json()] == ["2612.10001", "2610.10002"]

    assert api.delete("/api/follows", params={"kind": "category", "value": "CS.CL"}).json() == {"removed": True}
    assert api.delete("/api/follows", params={"kind": "category", "value": "cs.CL"}).json() == {"removed": False}
    assert api.delete(f"/api/follows/{balazs['id']}").json()["label"] == "Csaba Balázs"
    gone = api.delete(f"/api/follows/{balazs['id']}")
    assert gone.status_code == 404 and "error" in gone.json()
    assert api.delete(f"/api/follows/{2**63}").status_code == 422
    assert [f["id"] for f in api.get("/api/follows").json()] == [body["id"]]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "people", "value": "Hinton"}, "kind"),
        ({"kind": "author", "value": ""}, "value"),
        ({"kind": "author", "value": "x" * 10_000}, "value"),
        ({"kind": "search", "value": "diffusion " * 1000}, "value"),
        ({"kind": "category", "value": "cs.CL' OR '1'='1"}, "value"),
        ({"kind": "org", "value": "<script>alert(1)</script>\x00"}, "value"),
        ({"kind": "author"}, "value"),
        ({"kind": "author", "value": "x", "extra": 1}, "extra"),
        ({"kind": ["author"], "value": "x"}, "kind"),
    ],
)
def test_the_api_refuses_bad_follows_naming_the_field(api: httpx.Client, body: dict[str, object], field: str) -> None:
    r = api.post("/api/follows", json=body)
    assert r.status_code == 422, r.text
    assert field in r.json()["error"]
    assert api.get("/api/follows").json() == []


def test_hostile_values_are_only_text(api: httpx.Client, reader: httpx.Client) -> None:
    for kind, value in (
        ("author", "Robert'); DROP TABLE follows;--"),
        ("search", "' OR 1=1 -- NEAR(a b) * \"unbalanced"),
        ("org", "<img src=x onerror=alert(1)>"),
    ):
        assert api.post("/api/follows", json={"kind": kind, "value": value}).status_code == 200
    labels = [f["label"] for f in api.get("/api/follows").json()]
    assert labels == [
        "Robert'); DROP TABLE follows;--",
        "' OR 1=1 -- NEAR(a b) * \"unbalanced",
        "<img src=x onerror=alert(1)>",
    ]
    assert api.get("/api/follows/papers").status_code == 200
    # Shown as text on the page.
    form(reader, "/following/follow", {"kind": "org", "value": "<img src=x onerror=alert(1)>"})
    page = reader.get("/following")
    assert "<img src=x" not in page.text and "&lt;img src=x onerror=alert(1)&gt;" in page.text


def test_follows_are_limited(api: httpx.Client, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(follows, "MAX_FOLLOWS", 2)
    assert api.post("/api/follows", json={"kind": "category", "value": "cs"}).status_code == 200
    assert api.post("/api/follows", json={"kind": "category", "value": "math"}).status_code == 200
    r = api.post("/api/follows", json={"kind": "category", "value": "physics"})
    assert r.status_code == 422 and "2 things" in r.json()["error"]
    assert api.post("/api/follows", json={"kind": "category", "value": "CS"}).status_code == 200  # already followed


def test_a_signed_in_browser_needs_the_csrf_token_for_the_api(reader: httpx.Client) -> None:
    r = reader.post("/api/follows", json={"kind": "category", "value": "cs"})
    assert r.status_code == 403
    r = reader.post(
        "/api/follows", json={"kind": "category", "value": "cs"}, headers={"X-CSRF-Token": token_of(reader)}
    )
    assert r.status_code == 200


def test_a_category_filter_offers_to_follow_its_category(reader: httpx.Client, site: str) -> None:
    page = f"/date/{ago(1).isoformat()}?cat=cs.CL"
    buttons = html.fromstring(reader.get(page).text).cssselect(".cat-filter button.follow-button")
    assert [b.get("aria-pressed") for b in buttons] == ["false"]
    back = html.fromstring(reader.get(page).text).cssselect(".cat-filter input[name=back]")[0].get("value")
    r = form(reader, "/following/follow", {"kind": "category", "value": "cs.CL", "back": back}, page=page)
    assert r.status_code == 303 and r.headers["location"] == back and "cat=cs.CL" in back
    buttons = html.fromstring(reader.get(page).text).cssselect(".cat-filter button.follow-button")
    assert [b.get("aria-pressed") for b in buttons] == ["true"]
    # Anonymous visitors (the cached page) get a link to sign in that comes back here.
    links = html.fromstring(httpx.get(site + page).text).cssselect(".cat-filter a.follow-link")
    assert links and links[0].get("href").startswith("/signin?next=")
