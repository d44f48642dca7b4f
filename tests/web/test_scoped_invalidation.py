"""A vote drops only the cached pages that show its paper (store.invalidations, web/cache.py): its page and
the feeds of the days it is listed on; other days' feeds stay cached; nothing bumps the data version, the
one row every writer used to update. Both databases; then across two processes of a real server."""

from __future__ import annotations

import datetime as dt
import time

import httpx
from sqlalchemy import Engine

from dailypapers.store import invalidations, votes
from dailypapers.store.db import data_version, read_tx, write_tx
from dailypapers.web.cache import PageCache
from tests.support.accounts import make_user
from tests.support.digest import add_papers
from tests.support.semantic import pks_of
from tests.support.server import running_sites, serve_app

D1, D2 = dt.date(2026, 3, 2), dt.date(2026, 3, 3)


def setup(engine: Engine) -> tuple[int, dict[str, int]]:
    add_papers(engine, D1, ("2603.00001", "On day one", "cs.LG", 5))
    add_papers(engine, D2, ("2603.00002", "On day two", "cs.LG", 7))
    return make_user(engine, "voter").pk, pks_of(engine, ["2603.00001", "2603.00002"])


def page(text: str, tags: frozenset[str] | None):  # type: ignore[no-untyped-def]
    return lambda: (text.encode(), "text/html", 200, (), tags)


def test_a_vote_drops_only_the_pages_that_show_its_paper(engine: Engine) -> None:
    user, pks = setup(engine)
    cache = PageCache(engine, ttl=0.0)
    keys = {
        "/date/2026-03-02?": frozenset({invalidations.day_tag(D1)}),
        "/date/2026-03-03?": frozenset({invalidations.day_tag(D2)}),
        "/papers/2603.00001?": frozenset({invalidations.paper_tag(pks["2603.00001"])}),
        "/papers/2603.00002?": frozenset({invalidations.paper_tag(pks["2603.00002"])}),
        "/untagged?": None,
    }
    for key, tags in keys.items():
        cache.get_or_render(key, page(key, tags))
        assert cache.lookup(key) is not None
    with read_tx(engine) as conn:
        before = data_version(conn)
    with write_tx(engine) as conn:
        assert votes.set_vote(conn, user, pks["2603.00001"], True)
    with read_tx(engine) as conn:
        assert data_version(conn) == before, "a vote bumped the row every writer updates"
    kept = {key for key in keys if cache.lookup(key) is not None}
    assert kept == {"/date/2026-03-03?", "/papers/2603.00002?"}


def test_a_render_that_overlaps_a_vote_on_what_it_shows_is_not_kept(engine: Engine) -> None:
    user, pks = setup(engine)
    cache = PageCache(engine, ttl=0.0)
    cache.version()  # reads where the invalidation log is

    def render_while_voting():  # type: ignore[no-untyped-def]
        with write_tx(engine) as conn:
            votes.set_vote(conn, user, pks["2603.00001"], True)
        cache.version()  # another request reads the invalidation meanwhile
        return b"old count", "text/html", 200, (), frozenset({invalidations.day_tag(D1)})

    served = cache.get_or_render("/date/2026-03-02?", render_while_voting)
    assert served.body == b"old count"
    assert cache.lookup("/date/2026-03-02?") is None, "a page rendered before the vote was kept"
    cache.get_or_render("/date/2026-03-03?", page("other", frozenset({invalidations.day_tag(D2)})))
    assert cache.lookup("/date/2026-03-03?") is not None


def test_across_processes_a_vote_leaves_other_days_cached(engine: Engine) -> None:
    user, pks = setup(engine)
    with serve_app(engine, page_cache_ttl=0.2, rate_limits=False) as base, httpx.Client(base_url=base) as client:
        cache = running_sites[base].cache
        d1, d2 = client.get("/date/2026-03-02"), client.get("/date/2026-03-03")
        assert d1.status_code == d2.status_code == 200
        with write_tx(engine) as conn:  # as another process would: straight into the database
            votes.set_vote(conn, user, pks["2603.00001"], True)
        deadline = time.monotonic() + 5
        while client.get("/date/2026-03-02").headers["etag"] == d1.headers["etag"]:
            assert time.monotonic() < deadline, "the voted paper's day was still served from the cache"
            time.sleep(0.1)
        assert cache.lookup("/date/2026-03-03?") is not None, "another day's feed was dropped"
        assert client.get("/date/2026-03-03").headers["etag"] == d2.headers["etag"]
