"""Searching in a real browser: the header's search box, the results page and its modes, a paper's
similar papers. Screenshots go to test-artifacts/."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect


def test_search_from_the_header_switch_modes_and_open_similar(
    browser: Browser,
    demo_server: str,
    artifacts: Path,
    request: pytest.FixtureRequest,
) -> None:
    backend = request.node.callspec.params["demo_engine"]
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(demo_server + "/")
    box = page.locator("header").get_by_label("Search papers")
    box.fill("robot arm learns manipulation from human videos")
    box.press("Enter")
    expect(page).to_have_url(re.compile(r"/search\?q=robot\+arm"))
    results = page.locator("ol.results li.result")
    expect(results.first).to_be_visible()
    page.screenshot(path=str(artifacts / f"search-{backend}-1-hybrid.png"), full_page=True)

    page.get_by_role("link", name="Keywords").click()
    expect(page.locator("nav.modes a.active")).to_have_text("Keywords")
    expect(page.locator("ol.results mark").first).to_be_visible()
    page.screenshot(path=str(artifacts / f"search-{backend}-2-keyword.png"), full_page=True)

    page.get_by_role("link", name="Meaning").click()
    expect(page.locator("nav.modes a.active")).to_have_text("Meaning")
    title = results.first.locator("h2.title a")
    name = title.inner_text()
    title.click()
    expect(page.locator("h1")).to_have_text(name)
    similar = page.locator("section.similar li a")
    expect(similar.first).to_be_visible()
    page.screenshot(path=str(artifacts / f"search-{backend}-3-paper-similar.png"), full_page=True)
    context.close()

    phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True).new_page()
    phone.goto(demo_server + "/search?q=diffusion")
    expect(phone.locator("ol.results li.result").first).to_be_visible()
    assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    phone.screenshot(path=str(artifacts / f"search-{backend}-4-phone.png"), full_page=False)
    phone.context.close()
