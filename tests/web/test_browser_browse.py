"""In a real browser: an organization's page and an author's, on a desktop and on a phone (screenshots in
test-artifacts/), reached from a card and from the address bar; the category filter followed by a click."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect
from sqlalchemy import Engine

from tests.support.server import serve_app

SIZES = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}


@pytest.fixture(scope="module")
def site(demo_engine: Engine) -> Iterator[str]:
    with serve_app(demo_engine) as base:
        yield base


@pytest.mark.parametrize("size", list(SIZES))
def test_org_and_author_pages(
    browser: Browser, site: str, artifacts: Path, size: str, request: pytest.FixtureRequest
) -> None:
    backend = request.node.callspec.params.get("demo_engine", "db")
    context = browser.new_context(viewport=SIZES[size], is_mobile=size == "phone")
    page = context.new_page()

    page.goto(site + "/orgs/muset-ai")
    expect(page.locator("h1")).to_have_text("muset.ai")
    expect(page.locator("article.card")).to_have_count(3)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    page.screenshot(path=str(artifacts / f"org-{size}-{backend}.png"), full_page=True)

    page.goto(site + "/authors/I. Grabec")
    expect(page.locator("h1")).to_have_text("I. Grabec")
    expect(page.locator("article.card")).to_have_count(6)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    page.screenshot(path=str(artifacts / f"author-{size}-{backend}.png"), full_page=True)

    page.goto(site + "/authors/c balazs")  # any spelling: the page names the author as written
    expect(page.locator("h1")).to_have_text("C. Balázs")
    context.close()


def test_a_card_leads_to_its_organization_and_the_filter_sticks(browser: Browser, site: str) -> None:
    context = browser.new_context(viewport=SIZES["desktop"])
    page = context.new_page()
    page.goto(site + "/date/2026-07-31")
    page.locator("article#paper-2607\\.27816 a[href^='/orgs/']").first.click()
    expect(page).to_have_url(re.compile(r"/orgs/muset-ai$"))
    expect(page.locator("h1")).to_have_text("muset.ai")

    page.goto(site + "/date/2026-07-31?cat=cs.CL")
    expect(page.locator("article.card")).to_have_count(2)
    page.get_by_role("link", name="New", exact=True).click()
    expect(page).to_have_url(re.compile(r"sort=new&cat=cs.CL"))
    expect(page.locator("article.card")).to_have_count(2)
    page.get_by_role("link", name="All categories").click()
    expect(page.locator("article.card")).to_have_count(30)
    context.close()
