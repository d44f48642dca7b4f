"""Cache hits are answered before routing (web/front.py): with every route gone, an anonymous GET of a cached
page is still answered, byte for byte; what the cache cannot answer (parameters the route does not read, a
signed-in reader, a banner-less copy not made yet, another method) goes to the router. Both databases."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine
from starlette.testclient import TestClient

from dailypapers.config import Settings
from dailypapers.web.app import create_app
from dailypapers.web.auth import SESSION_COOKIE


@pytest.fixture
def app_and_client(demo_engine: Engine, tmp_path: Path):  # type: ignore[no-untyped-def]
    settings = Settings(data_dir=tmp_path, database_url=demo_engine.url.render_as_string(hide_password=False))
    app = create_app(settings, demo_engine, background=False)
    return app, TestClient(app)  # no lifespan: no background work, the page cache as it is


def test_a_cached_page_is_answered_without_the_router(app_and_client) -> None:  # type: ignore[no-untyped-def]
    app, client = app_and_client
    pages = ["/", "/trending?cat=cs.CL", "/api/daily_papers?limit=5", "/feed.atom"]
    first = {path: client.get(path) for path in pages}
    assert all(r.status_code == 200 for r in first.values())
    app.router.routes.clear()  # from here on, the router answers 404 to everything
    for path, r in first.items():
        again = client.get(path)
        assert again.status_code == 200, path
        assert again.content == r.content and again.headers["etag"] == r.headers["etag"]
        assert again.headers["content-type"] == r.headers["content-type"]
    # The HTML security headers are added in front of it too (web/headers.py wraps the cache layer).
    assert client.get("/").headers.get("x-content-type-options") == "nosniff"
    # A conditional GET is a 304 from the cache, gzip from the cache.
    assert client.get("/", headers={"if-none-match": first["/"].headers["etag"]}).status_code == 304
    assert client.get("/", headers={"accept-encoding": "gzip"}).headers.get("content-encoding") == "gzip"


def test_what_the_cache_cannot_answer_goes_to_the_router(app_and_client) -> None:  # type: ignore[no-untyped-def]
    app, client = app_and_client
    assert client.get("/trending").status_code == 200
    app.router.routes.clear()
    assert client.get("/trending").status_code == 200
    # Parameters the route does not read: the route's own key would drop them; here they miss.
    assert client.get("/trending?junk=1").status_code == 404
    # Signed-in readers and API clients get their own pages.
    assert client.get("/trending", headers={"cookie": f"{SESSION_COOKIE}=x"}).status_code == 404
    assert client.get("/trending", headers={"authorization": "Bearer x"}).status_code == 404
    # A browser that put the banner away has its own copy, not made yet.
    assert client.get("/trending", headers={"cookie": "dp_banner=off"}).status_code == 404
    assert client.post("/trending").status_code in (404, 405)


def test_a_proxy_may_keep_anonymous_pages_when_configured(demo_engine: Engine, tmp_path: Path) -> None:
    url = demo_engine.url.render_as_string(hide_password=False)
    default = TestClient(create_app(Settings(data_dir=tmp_path, database_url=url), demo_engine, background=False))
    assert default.get("/").headers["cache-control"] == "no-cache"
    settings = Settings(data_dir=tmp_path, database_url=url, shared_cache_seconds=30)
    client = TestClient(create_app(settings, demo_engine, background=False))
    for _ in range(2):  # rendered, then from the cache in front of the router
        r = client.get("/")
        assert r.headers["cache-control"] == "public, max-age=0, s-maxage=30, stale-while-revalidate=30"
        assert r.headers["etag"] and "Accept-Encoding" in r.headers["vary"]
    # Never a signed-in reader's page, nor a form.
    assert client.get("/signin").headers["cache-control"] == "private, no-store"
