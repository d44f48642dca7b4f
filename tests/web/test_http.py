"""HTTP as monitors, browsers and proxies use it: HEAD on every GET route, compressed responses, static files
cached for a year under versioned URLs, and /docs served from our own origin (it must work air-gapped)."""

from __future__ import annotations

import gzip
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from fastapi.routing import APIRoute
from lxml import html
from playwright.sync_api import Browser, Request, Route, expect
from sqlalchemy import Engine
from starlette.routing import Mount
from starlette.routing import Route as StarletteRoute

from dailypapers.config import Settings
from dailypapers.store.db import make_engine
from dailypapers.web.app import create_app
from dailypapers.web.transport import accepts_gzip
from tests.support.server import serve_app

DAY = "2026-07-31"  # the demo's latest day
# Values for path parameters that name something in the demo (unknown names still answer, with 404).
SAMPLES = {"paper_id": "2607.28618", "day": DAY, "week": "2026-W31", "month": "2026-07", "name": "taesiri"}
SAMPLES |= {"kind": "date", "value": DAY}
GZIP = {"Accept-Encoding": "gzip"}
PLAIN = {"Accept-Encoding": "identity"}


@pytest.fixture(scope="module")
def site(demo_engine: Engine) -> Iterator[str]:
    with serve_app(demo_engine, rate_limits=False) as base:
        yield base


def get_paths(tmp_path: Path) -> list[str]:
    """A request path for every GET route of the app (parameters filled from SAMPLES), and a static file."""
    settings = Settings(data_dir=tmp_path, secret_key="k")
    app = create_app(settings, make_engine(settings.database_url), background=False)
    routes = []
    for entry in app.router.routes:
        included = getattr(entry, "original_router", None)
        routes.extend(included.routes if included is not None else [entry])
    paths = []
    for route in routes:
        if isinstance(route, APIRoute | StarletteRoute) and "GET" in (route.methods or ()):
            paths.append(re.sub(r"{(\w+)(:\w+)?}", lambda m: SAMPLES.get(m[1], "1"), route.path))
        elif isinstance(route, Mount):
            paths.append(route.path + ("/swagger-ui.css" if "swagger" in route.path else "/style.css"))
    return paths


def test_head_answers_every_get_route_as_get_without_a_body(site: str, tmp_path: Path) -> None:
    paths = get_paths(tmp_path)
    assert len(paths) > 25 and "/papers/2607.28618" in paths and "/static/style.css" in paths
    statuses = set()
    with httpx.Client(base_url=site, timeout=60) as client:
        for path in paths:
            got = client.get(path, headers=PLAIN)
            head = client.head(path, headers=PLAIN)
            assert (path, head.status_code) == (path, got.status_code)
            assert head.content == b"", path
            statuses.add(got.status_code)
            if got.status_code == 200:
                assert head.headers["content-type"] == got.headers["content-type"], path
                if path != "/metrics":  # its counts move between the two requests
                    assert int(head.headers["content-length"]) == len(got.content), path
    assert {200, 303} <= statuses  # pages, and pages that ask to sign in first
    # A cached page answers HEAD from the same cache entry: the same ETag, and 304 when it is current.
    got = httpx.get(f"{site}/date/{DAY}")
    head = httpx.head(f"{site}/date/{DAY}")
    assert head.headers["etag"] == got.headers["etag"]
    assert httpx.head(f"{site}/date/{DAY}", headers={"If-None-Match": got.headers["etag"]}).status_code == 304
    # A POST-only route still refuses HEAD as it refuses GET.
    assert httpx.head(f"{site}/signout").status_code == httpx.get(f"{site}/signout").status_code


def test_every_html_page_carries_the_security_headers(site: str, tmp_path: Path) -> None:
    paths = [*get_paths(tmp_path), "/nowhere", "/papers/not-an-id", "/month/0000-13"]  # and error pages
    with httpx.Client(base_url=site, timeout=60) as client:
        for path in paths:
            r = client.get(path)
            if not r.headers.get("content-type", "").startswith("text/html"):
                continue
            for name in ("Content-Security-Policy", "X-Content-Type-Options", "Referrer-Policy", "X-Frame-Options"):
                assert name in r.headers, (path, name)
            assert "frame-ancestors 'none'" in r.headers["content-security-policy"], path
            assert "strict-transport-security" not in r.headers  # plain http here
    assert "/docs" in paths


@pytest.mark.parametrize(
    ("path", "media_type"),
    [
        (f"/date/{DAY}", "text/html"),  # from the page cache
        ("/signin", "text/html"),  # rendered for each visitor
        (f"/api/daily_papers?date={DAY}", "application/json"),
        ("/api/papers/2607.28618", "application/json"),
        ("/feed.atom", "application/atom+xml"),
        ("/static/style.css", "text/css"),
    ],
)
def test_responses_are_gzipped_for_clients_that_accept_it(site: str, path: str, media_type: str) -> None:
    with httpx.Client(base_url=site) as client:  # one cookie jar: /signin's CSRF token stays the same
        plain = client.get(path, headers=PLAIN)
        with client.stream("GET", path, headers=GZIP) as packed:
            raw = b"".join(packed.iter_raw())
    assert plain.status_code == packed.status_code == 200
    assert packed.headers["content-type"].startswith(media_type)
    assert packed.headers["content-encoding"] == "gzip" and "content-encoding" not in plain.headers
    assert "accept-encoding" in packed.headers["vary"].lower() and "accept-encoding" in plain.headers["vary"].lower()
    assert gzip.decompress(raw) == plain.content
    assert len(raw) < len(plain.content) * 0.6


def test_cached_pages_keep_their_etags_under_compression(site: str) -> None:
    url = f"{site}/api/daily_papers?date={DAY}"
    plain, packed = httpx.get(url, headers=PLAIN), httpx.get(url, headers=GZIP)
    assert packed.headers["etag"] == "W/" + plain.headers["etag"]  # other bytes, the same content
    # Either copy's tag revalidates either encoding (If-None-Match compares weakly).
    for tag in (plain.headers["etag"], packed.headers["etag"]):
        for encoding in (PLAIN, GZIP):
            r = httpx.get(url, headers={**encoding, "If-None-Match": tag})
            assert r.status_code == 304 and r.content == b""
    assert httpx.get(url, headers={**GZIP, "If-None-Match": '"other"'}).status_code == 200
    # Small answers are not worth compressing.
    small = httpx.get(f"{site}/healthz", headers=GZIP)
    assert small.status_code == 200 and "content-encoding" not in small.headers


def test_accept_encoding_is_read_with_its_weights() -> None:
    assert accepts_gzip("gzip, deflate, br") and accepts_gzip("br;q=1.0, gzip;q=0.8") and accepts_gzip("*")
    assert not accepts_gzip("") and not accepts_gzip("identity") and not accepts_gzip("gzip;q=0")
    assert not accepts_gzip("*, gzip;q=0") and not accepts_gzip("gzip;q=bad")


def test_static_files_have_versioned_links_and_are_kept_a_year(site: str) -> None:
    doc = html.fromstring(httpx.get(f"{site}/date/{DAY}").text)
    links = [e.get("href") for e in doc.cssselect("link[rel=stylesheet], link[rel=icon]")]
    links += [e.get("src") for e in doc.cssselect("script[src], img.logo")]
    assert len(links) >= 4 and all(re.fullmatch(r"/static/[\w.-]+\?v=[0-9a-f]{12}", u) for u in links), links
    for url in links:
        r = httpx.get(site + url)
        assert r.status_code == 200 and r.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert r.headers["x-content-type-options"] == "nosniff"
    # Without the version, or with an old one, a file may change under its URL: revalidate each time.
    css = next(u for u in links if "style.css" in u).split("?")[0]
    for url in (css, css + "?v=0123456789ab"):
        r = httpx.get(site + url)
        assert r.status_code == 200 and r.headers["cache-control"] == "no-cache"
        assert httpx.get(site + url, headers={"If-None-Match": r.headers["etag"]}).status_code == 304


def test_api_docs_load_nothing_from_another_host(site: str) -> None:
    r = httpx.get(f"{site}/docs")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "://" not in r.text  # no CDN, no absolute URL of any host
    doc = html.fromstring(r.text)
    assets = [e.get("href") for e in doc.cssselect("link[href]")] + [e.get("src") for e in doc.cssselect("script")]
    assert any("swagger-ui-bundle.js" in a for a in assets) and any("swagger-ui.css" in a for a in assets)
    for url in assets:
        assert url.startswith("/") and not url.startswith("//")
        got = httpx.get(site + url)
        assert got.status_code == 200 and got.headers["cache-control"].endswith("immutable"), url
    assert "default-src 'self'" in r.headers["content-security-policy"]
    assert httpx.get(f"{site}/openapi.json").json()["paths"]["/api/daily_papers"]


@pytest.mark.browser
def test_api_docs_render_offline_in_a_browser(browser: Browser, site: str, artifacts: Path) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    elsewhere: list[str] = []
    problems: list[str] = []

    def only_here(route: Route, request: Request) -> None:
        if urlsplit(request.url).netloc == urlsplit(site).netloc or request.url.startswith("data:"):
            route.continue_()
        else:
            elsewhere.append(request.url)
            route.abort()

    context.route("**/*", only_here)
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.goto(f"{site}/docs")
    expect(page.locator(".opblock-summary-path", has_text="/api/daily_papers")).to_be_visible(timeout=30_000)
    expect(page.locator(".information-container .title")).to_contain_text("Daily Papers")
    page.screenshot(path=str(artifacts / "api-docs.png"))
    context.close()
    assert elsewhere == [] and problems == []


def test_hsts_only_when_the_public_url_is_https(demo_engine: Engine) -> None:
    with serve_app(demo_engine, rate_limits=False, base_url="https://papers.example.org") as base:
        page = httpx.get(f"{base}/signin")
        assert page.headers["strict-transport-security"] == "max-age=31536000"
        assert "strict-transport-security" not in httpx.get(f"{base}/api/daily_papers").headers  # HTML only
