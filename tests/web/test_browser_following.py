"""In a real browser (both databases): a signed-out reader clicks "Follow this author" on an author page,
signs in, follows the author, and finds the author's new paper on the Following page with the reason it is
there; on a desktop and on a phone (screenshots in test-artifacts/)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from playwright.sync_api import Browser, expect
from sqlalchemy import Engine

from dailypapers.ingest.importer import ImportReport, ingest_items
from dailypapers.sources.record import Author, PaperRecord
from dailypapers.store import search_index
from dailypapers.store.convert import utc_today
from dailypapers.store.db import make_engine
from tests.support.accounts import PASSWORD, make_user
from tests.support.databases import new_database
from tests.support.server import serve_app

SIZES = {"desktop": {"width": 1440, "height": 900}, "phone": {"width": 390, "height": 844}}
TODAY = utc_today()


def record(pid: str, title: str, author: str, days_ago: int) -> PaperRecord:
    day = TODAY - dt.timedelta(days=days_ago)
    return PaperRecord(
        id=pid,
        source="test",
        title=title,
        abstract="We fold towels with a robot arm, and measure how well it goes over many days of practice.",
        authors=[Author(author), Author("Ann Other")],
        categories=["cs.RO", "cs.LG"],
        primary_category="cs.RO",
        announced=day,
        published=dt.datetime.combine(day, dt.time(8), tzinfo=dt.UTC),
    )


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def site(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    engine: Engine = make_engine(new_database(request.param, request, tmp_path_factory.mktemp("browser-follow")))
    papers = [
        record("2612.20001", "Robots that fold laundry", "Bal\\'azs Kov\\'acs", 1),
        record("2611.20002", "An older paper on folding", "Balázs Kovács", 50),
        record("2612.20003", "Someone else's robots", "Carol Crane", 1),
    ]
    ingest_items(engine, papers, ImportReport())
    search_index.index_pending(engine)
    for size in SIZES:
        make_user(engine, f"reader{size}")
    with serve_app(engine, rate_limits=False) as base:
        yield base
    engine.dispose()


@pytest.mark.parametrize("size", list(SIZES))
def test_follow_an_author_and_see_the_following_page(
    browser: Browser, site: str, artifacts: Path, size: str, request: pytest.FixtureRequest
) -> None:
    backend = request.node.callspec.params["site"]
    context = browser.new_context(viewport=SIZES[size], is_mobile=size == "phone")
    page = context.new_page()
    author = "/authors/" + quote("Balázs Kovács")
    page.goto(site + author)
    expect(page.locator("h1")).to_have_text("Balázs Kovács")
    page.get_by_role("link", name="Follow this author").click()  # signed out: off to sign in, and back

    page.get_by_label("Username or email").fill(f"reader{size}")
    page.get_by_label("Password").fill(PASSWORD)
    page.locator("main").get_by_role("button", name="Sign in").click()
    expect(page.locator("h1")).to_have_text("Balázs Kovács")
    page.get_by_role("button", name="Follow Balázs Kovács").click()
    following = page.get_by_role("button", name="Unfollow Balázs Kovács")
    expect(following).to_have_attribute("aria-pressed", "true")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    page.screenshot(path=str(artifacts / f"author-follow-{size}-{backend}.png"), full_page=False)

    page.locator("nav.top-nav").get_by_role("link", name="Following").click()
    expect(page.locator("h1")).to_have_text("Following")
    items = page.locator(".followed-item")
    expect(items).to_have_count(1)  # the new paper, not the older one nor someone else's
    expect(items.first.locator("h3.title")).to_have_text("Robots that fold laundry")
    expect(items.first.locator(".reasons .reason")).to_have_text(["by an author you follow: Balázs Kovács"])
    expect(page.locator("ul.follow-list a")).to_have_text(["Balázs Kovács"])
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    page.screenshot(path=str(artifacts / f"following-{size}-{backend}.png"), full_page=True)

    page.get_by_role("link", name="90 days").click()
    expect(page.locator(".followed-item")).to_have_count(2)
    page.get_by_role("button", name="Unfollow Balázs Kovács").click()
    expect(page.locator(".followed-item")).to_have_count(0)
    expect(page.locator("ul.follow-list a")).to_have_count(0)
    context.close()
