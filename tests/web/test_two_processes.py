"""Two `dailypapers serve` processes on one PostgreSQL and one Redis, as a scale-out instance runs them:
a session, its CSRF token and the rate limits hold across them, and a vote, a comment and a newly featured
paper made through one are seen through the other within the page cache's TTL (0.5 s) and a render (SEEN_WITHIN)."""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine

from dailypapers.ingest.importer import ImportReport, ingest_items
from dailypapers.sources.record import Listing, PaperRecord
from tests.support.accounts import PASSWORD, make_user
from tests.support.postgres import free_port
from tests.support.processes import scale_out_env, serving
from tests.support.redis import start_redis

DAY = dt.date(2026, 1, 5)
SEEN_WITHIN = 2.0  # seconds: the page cache's 0.5 s TTL, then a page render on a loaded 2-core CI machine
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def two_servers(pg: Engine, tmp_path: Path) -> Iterator[tuple[str, str]]:
    redis = start_redis()
    ports = [free_port(), free_port()]
    env = scale_out_env(pg.url.render_as_string(hide_password=False), redis.url, tmp_path)
    try:
        with serving(ports, env, tmp_path, env_of=lambda port: {"DAILYPAPERS_BASE_URL": f"http://127.0.0.1:{port}"}):
            yield f"http://127.0.0.1:{ports[0]}", f"http://127.0.0.1:{ports[1]}"
    finally:
        redis.stop()


def _seen(check: object, what: str) -> float:
    """Seconds until `check()` holds; fails after SEEN_WITHIN."""
    began = time.monotonic()
    while not check():  # type: ignore[operator]
        elapsed = time.monotonic() - began
        assert elapsed < SEEN_WITHIN, f"{what} not seen through the other process within {SEEN_WITHIN} s"
        time.sleep(0.02)
    return time.monotonic() - began


def _csrf(client: httpx.Client, path: str = "/settings") -> str:
    match = CSRF.search(client.get(path).text)
    assert match
    return match.group(1)


def test_two_serve_processes_agree(pg: Engine, two_servers: tuple[str, str]) -> None:
    a, b = two_servers
    papers = [
        PaperRecord(id=pid, source="test", title=f"Paper {pid}", listing=Listing(day=DAY, source="test", upvotes=3))
        for pid in ("2601.00001",)
    ] + [PaperRecord(id="2601.00002", source="test", title="Not featured yet")]
    ingest_items(pg, papers, ImportReport())
    make_user(pg, "ada", role="curator")

    # Signed in through A: the same cookies are a session on B, and A's CSRF token is good on B.
    on_a = httpx.Client(base_url=a)
    token = _csrf(on_a, "/signin")
    assert on_a.post("/signin", data={"login": "ada", "password": PASSWORD, "csrf_token": token}).status_code == 303
    on_b = httpx.Client(base_url=b, cookies=on_a.cookies)
    assert on_b.get("/settings").status_code == 200
    token = _csrf(on_a)

    # A vote through A is on B's cached API answer and page soon after.
    assert httpx.get(f"{b}/api/papers/2601.00001").json()["upvotes"] == 3
    assert httpx.get(f"{b}/date/{DAY.isoformat()}").status_code == 200  # now in B's page cache
    assert on_a.post("/papers/2601.00001/upvote", data={"csrf_token": token}).status_code == 303
    _seen(lambda: httpx.get(f"{b}/api/papers/2601.00001").json()["upvotes"] == 4, "the vote")
    feed = f"{b}/date/{DAY.isoformat()}"
    _seen(lambda: 'aria-label="4 upvotes: 3 on Hugging Face, 1 here"' in httpx.get(feed).text, "the vote on the feed")

    # A comment through B (with A's token) is on A's paper page soon after.
    assert httpx.get(f"{a}/papers/2601.00001").status_code == 200  # in A's page cache
    posted = on_b.post("/papers/2601.00001/comments", data={"body": "Seen from both sides", "csrf_token": token})
    assert posted.status_code == 303
    _seen(lambda: "Seen from both sides" in httpx.get(f"{a}/papers/2601.00001").text, "the comment")

    # A paper featured through A is on B's feed soon after.
    assert len(httpx.get(f"{b}/api/daily_papers", params={"date": DAY.isoformat()}).json()) == 1
    featured = on_a.post("/papers/2601.00002/feature", data={"day": DAY.isoformat(), "csrf_token": token})
    assert featured.status_code == 303
    _seen(
        lambda: len(httpx.get(f"{b}/api/daily_papers", params={"date": DAY.isoformat()}).json()) == 2,
        "the newly featured paper",
    )

    # Rate limits are counted in Redis, across both: 5 sign-ups an hour per address.
    codes = []
    for n, base in enumerate([a, b] * 3):
        client = httpx.Client(base_url=base)
        form = {"username": f"new{n}", "email": f"new{n}@example.org", "password": PASSWORD}
        codes.append(client.post("/signup", data={**form, "csrf_token": _csrf(client, "/signup")}).status_code)
    assert codes == [200] * 5 + [429]

    # Signing out through B ends the session on A too.
    assert on_b.post("/signout", data={"csrf_token": token}).status_code == 303
    assert on_a.get("/settings").status_code == 303
