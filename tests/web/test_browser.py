"""In a real browser (Debian's Chromium through Playwright): the feed, navigation, a paper, its code link."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Route, expect


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    pg = context.new_page()
    yield pg
    context.close()


def test_feed_previous_day_paper_and_code_link(
    page: Page, demo_server: str, artifacts: Path, request: pytest.FixtureRequest
) -> None:
    backend = request.node.callspec.params.get("demo_engine", "db")
    page.goto(demo_server + "/")
    expect(page.locator("h1")).to_have_text("Daily Papers")
    expect(page.locator(".period-label")).to_have_text("Friday, July 31, 2026")
    expect(page.locator("article.card")).to_have_count(30)
    page.screenshot(path=str(artifacts / f"feed-{backend}.png"), full_page=True)

    page.get_by_role("link", name="← Previous").click()
    expect(page).to_have_url(re.compile(r"/date/2026-07-13"))
    expect(page.locator(".period-label")).to_have_text("Monday, July 13, 2026")

    first = page.locator("article.card h3 a").first
    title = first.inner_text()
    first.click()
    expect(page).to_have_url(re.compile(r"/papers/\d{4}\.\d{5}$"))
    expect(page.locator("h1")).to_have_text(title)
    page.screenshot(path=str(artifacts / f"paper-{backend}.png"), full_page=True)

    # Follow the code link; this machine is offline, so answer for GitHub ourselves.
    page.route("https://github.com/**", lambda route: _github(route))
    code = page.locator(".paper-actions a.code").first
    href = code.get_attribute("href")
    assert href and href.startswith("https://github.com/")
    code.click()
    expect(page).to_have_url(href)
    expect(page.locator("body")).to_contain_text("repository page")


def _github(route: Route) -> None:
    route.fulfill(status=200, content_type="text/html", body="<html><body>repository page</body></html>")


def test_phone_layout_has_no_horizontal_scroll(browser: Browser, demo_server: str, artifacts: Path) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    pg = context.new_page()
    pg.goto(demo_server + "/papers/2607.28618")
    assert pg.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    pg.goto(demo_server + "/")
    assert pg.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    # On a phone the first card's title is above the fold, the subscribe banner included.
    title = pg.locator("article.card h3.title").first.bounding_box()
    assert title is not None and title["y"] + title["height"] <= 844
    pg.screenshot(path=str(artifacts / "feed-phone.png"))
    context.close()
    desktop = browser.new_page(viewport={"width": 1440, "height": 900})
    desktop.goto(demo_server + "/")
    tops = [box["y"] for box in (c.bounding_box() for c in desktop.locator("article.card").all()[:6]) if box]
    assert len(set(tops[:3])) == 1 and max(tops) < 900  # three a row, six cards start in the first screen
    desktop.close()


def test_pages_work_without_javascript(browser: Browser, demo_server: str) -> None:
    context = browser.new_context(java_script_enabled=False)
    pg = context.new_page()
    pg.goto(demo_server + "/")
    pg.get_by_role("link", name="Weekly").click()
    expect(pg).to_have_url(re.compile(r"/week/2026-W31"))
    pg.get_by_role("link", name="New", exact=True).click()
    expect(pg).to_have_url(re.compile(r"sort=new"))
    context.close()
