"""Saving and collecting in a real browser: the save toggle on a card and on a paper page changes in place (no
reload), a collection is created and a paper added to it; screenshots of /saved, a collection and a feed, at
desktop and phone sizes, for a person to look at."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import Engine

from dailypapers.ingest.demo import load_demo
from dailypapers.store import feed
from dailypapers.store.db import read_tx
from tests.support.accounts import PASSWORD, make_user
from tests.support.server import serve_app

SIZES = {"desktop": {"width": 1440, "height": 900}, "phone": {"width": 390, "height": 844}}


@pytest.fixture
def site(engine: Engine, tmp_path: Path) -> Iterator[str]:
    load_demo(engine)
    make_user(engine, "ada")
    with serve_app(engine, tmp_path, rate_limits=False) as base:
        yield base


def sign_in(page: Page, base: str) -> None:
    page.goto(base + "/signin")
    page.get_by_label("Username or email").fill("ada")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator(".top-nav .me")).to_have_text("ada")


def latest_day(engine: Engine) -> str:
    with read_tx(engine) as conn:
        day = feed.latest_day(conn)
    assert day is not None
    return day.isoformat()


def test_save_and_collect_without_reloading(
    browser: Browser, site: str, engine: Engine, artifacts: Path, request: pytest.FixtureRequest
) -> None:
    backend = request.node.callspec.params["db_url"]
    shots = artifacts  # test-artifacts/, for a person to look at
    context = browser.new_context(viewport=SIZES["desktop"])
    page = context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    sign_in(page, site)

    # A card on the feed: save, then unsave and save again, in place.
    day = latest_day(engine)
    page.goto(f"{site}/date/{day}")
    card = page.locator("article.card").first
    paper_href = card.locator("h3.title a").get_attribute("href")
    assert paper_href and paper_href.startswith("/papers/")
    button = card.locator("button.save-button")
    expect(button).to_have_attribute("aria-pressed", "false")
    page.evaluate("window.__marker = 'no reload'")
    button.click()
    expect(button).to_have_attribute("aria-pressed", "true")
    expect(button.locator(".save-label")).to_have_text("Saved")
    button.click()
    expect(button).to_have_attribute("aria-pressed", "false")
    button.click()
    expect(button).to_have_attribute("aria-pressed", "true")
    assert page.evaluate("window.__marker") == "no reload"

    # The paper page shows it saved; unsave it there, in place.
    page.goto(site + paper_href)
    paper_button = page.locator(".paper-actions button.save-button")
    expect(paper_button).to_have_attribute("aria-pressed", "true")
    page.evaluate("window.__marker = 'no reload'")
    paper_button.click()
    expect(paper_button).to_have_attribute("aria-pressed", "false")
    assert page.evaluate("window.__marker") == "no reload"
    paper_button.click()
    expect(paper_button).to_have_attribute("aria-pressed", "true")

    # Save two more from the feed for the screenshots.
    page.goto(f"{site}/date/{day}")
    for i in (1, 2):
        page.locator("article.card").nth(i).locator("button.save-button").click()
        expect(page.locator("article.card").nth(i).locator("button.save-button")).to_have_attribute(
            "aria-pressed", "true"
        )

    # A collection from /saved, and the paper added from its page.
    page.goto(site + "/saved")
    expect(page.locator(".saved-papers article.card")).to_have_count(3)
    form = page.locator("#new-collection form")
    form.get_by_label("Name").fill("Reading group: week 1")
    form.get_by_label("Description").fill("Papers for Thursday's reading group.\n\nBring questions.")
    form.locator("input[value=public]").check()
    form.get_by_role("button", name="Create collection").click()
    expect(page).to_have_url(re.compile(r"/collections/reading-group-week-1-[a-z0-9]{6}$"))
    expect(page.locator("h1")).to_have_text("Reading group: week 1")
    collection_url = page.url

    page.goto(site + paper_href)
    page.locator(".add-to-collection summary").click()
    page.locator(".add-form select").select_option(label="Reading group: week 1 (public)")
    page.locator(".add-form").get_by_role("button", name="Add").click()
    expect(page.locator(".in-collections a")).to_have_text("Reading group: week 1")

    page.goto(collection_url)
    expect(page.locator(".collection-item article.card")).to_have_count(1)
    page.locator(".item-edit summary").click()
    page.locator(".item-edit textarea").fill("Start with section 3.")
    page.locator(".item-edit").get_by_role("button", name="Save note").click()
    expect(page.locator(".item-note")).to_contain_text("Start with section 3.")
    assert dialogs == []

    # Screenshots at both sizes.
    for size, viewport in SIZES.items():
        page.set_viewport_size(viewport)
        for name, url in (("saved", site + "/saved"), ("collection", collection_url), ("feed", f"{site}/date/{day}")):
            page.goto(url)
            page.screenshot(path=str(shots / f"{name}-{size}-{backend}.png"), full_page=False)
        page.goto(site + paper_href)
        page.locator(".add-to-collection").evaluate("details => { details.open = true; }")
        page.screenshot(path=str(shots / f"paper-{size}-{backend}.png"), full_page=False)
    page.screenshot(path=str(artifacts / f"saves-{backend}-paper.png"), full_page=False)
    context.close()
