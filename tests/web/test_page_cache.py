"""The page cache is bounded in bytes and keyed canonically: no stranger can grow it or flush what readers share."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import Engine

from dailypapers.web.cache import PAGES, VARIED, PageCache
from tests.support.server import running_sites, serve_app

BUDGET_MB = 4


@pytest.fixture(scope="module")
def small_cache_site(demo_engine: Engine) -> Iterator[str]:
    """The demo site with a 4 MiB page cache and no rate limits (a stranger sends as many requests as they like)."""
    with serve_app(demo_engine, page_cache_mb=BUDGET_MB, rate_limits=False) as base:
        yield base


def cache_of(base: str) -> PageCache:
    return running_sites[base].cache


def test_junk_and_reordered_parameters_share_one_entry(small_cache_site: str) -> None:
    cache = cache_of(small_cache_site)
    with httpx.Client(base_url=small_cache_site, timeout=60) as client:
        first = client.get("/trending", params={"cat": "cs.CL"})
        assert first.status_code == 200
        before = cache.stats()[PAGES][0]
        for i in range(200):
            r = client.get("/trending", params=[("junk", str(i)), ("cat", "cs.CL"), (f"x{i}", "y")])
            assert r.status_code == 200 and r.headers["etag"].strip("W/") == first.headers["etag"].strip("W/")
        assert cache.stats()[PAGES][0] == before, "junk parameters made new cache entries"


def test_distinct_searches_stay_within_their_share_and_leave_shared_pages_cached(small_cache_site: str) -> None:
    cache = cache_of(small_cache_site)
    budget = BUDGET_MB << 20
    with httpx.Client(base_url=small_cache_site, timeout=60) as client:
        assert client.get("/").status_code == 200
        home_key = next(k for k in _keys(cache, PAGES) if k.startswith("/?"))
        for i in range(300):
            r = client.get("/api/papers/search", params={"q": f"language model {i}", "mode": "keyword", "limit": 5})
            assert r.status_code == 200
            assert client.get(f"/papers/9999.{i:05d}").status_code == 404
        stats = cache.stats()
        assert stats[VARIED][1] <= budget // 4, stats
        assert stats[PAGES][1] + stats[VARIED][1] <= budget, stats
        assert stats[VARIED][0] > 10  # searches are cached, within their share
        assert home_key in _keys(cache, PAGES), "searches and 404s pushed the front page out"


def test_a_response_too_large_for_the_cache_is_served_but_not_kept(demo_engine: Engine) -> None:
    cache = PageCache(demo_engine, max_bytes=64 * 1024)
    version = cache.version()
    big = b"x" * 10_000  # more than a 16th of the 48 KiB pages segment
    item = cache.store("/big?", version, big, "text/plain")
    assert item.body == big
    assert cache.lookup("/big?") is None
    small = cache.store("/small?", version, b"y" * 1000, "text/plain")
    assert cache.lookup("/small?") == small


def test_least_recently_used_entries_go_first(demo_engine: Engine) -> None:
    cache = PageCache(demo_engine, max_bytes=64 * 1024)  # 48 KiB for pages
    version = cache.version()
    for i in range(20):
        cache.store(f"/p{i}?", version, bytes(2500), "application/octet-stream")
        cache.lookup("/p0?")  # read often: kept
    entries, size = cache.stats()[PAGES]
    assert size <= 48 * 1024 and entries < 20
    assert cache.lookup("/p0?") is not None
    assert cache.lookup("/p1?") is None


def _keys(cache: PageCache, segment: str) -> list[str]:
    return list(cache._segments[segment].entries)


def test_a_page_that_becomes_an_error_is_cached_once_in_its_new_place(demo_engine: Engine) -> None:
    cache = PageCache(demo_engine, max_bytes=64 * 1024)
    cache.store("/papers/x?", 1, b"the paper", "text/html")
    gone = cache.store("/papers/x?", 2, b"not found", "text/html", status=404)
    cache._version, cache._checked = 2, float("inf")  # the store moved on; no database read needed here
    assert cache.lookup("/papers/x?") == gone
    assert "/papers/x?" not in _keys(cache, PAGES)
