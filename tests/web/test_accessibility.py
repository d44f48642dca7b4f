"""Accessibility of every kind of page, checked by axe-core (bundled offline by axe-playwright-python) in
Chromium, on a desktop and a phone, light and dark: no violation of serious or critical impact. Plus what
axe cannot judge alone: a skip link that works, and named vote buttons."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser
from sqlalchemy import Engine

from dailypapers.ingest.demo import load_demo
from dailypapers.store.db import make_engine, migrate
from tests.support.accounts import PASSWORD, make_user
from tests.support.server import serve_app

pytestmark = pytest.mark.browser

PAGES = [
    "/",
    "/date/2026-06-12",
    "/week/2026-W28?sort=new",
    "/month/2026-07?sort=stars&code=1",
    "/trending",
    "/papers/2607.28618",
    "/search?q=diffusion+model",
    "/search?q=zzzqqq",
    "/subscribe",
    "/signin",
    "/signup",
    "/users/taesiri",
    "/orgs/newyorkuniversity",
    "/authors/Bing%20Yan",
    "/?cat=cs.CL",
    "/papers/2607.28618/upvote",
    "/docs",
    "/activate/resend",
    "/password/forgot",
    "/password/reset?token=forged",  # the page that says a link is no good
    "/unsubscribe?token=forged",
    "/no/such/page",
]
SIGNED_IN = ["/", "/papers/2607.28618", "/settings", "/submit", "/admin/jobs", "/admin/curation", "/admin/users"]
DEVICES = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    path = tmp_path_factory.mktemp("a11y")
    engine: Engine = make_engine(f"sqlite:///{path / 'a11y.db'}")
    migrate(engine)
    load_demo(engine)
    make_user(engine, "root", role="admin")
    with serve_app(engine, path, rate_limits=False) as base:
        yield base
    engine.dispose()


def serious(page_url: str, page) -> list[str]:  # type: ignore[no-untyped-def]
    results = Axe().run(page)
    return [
        f"{page_url}: {v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:3]}"
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("device", list(DEVICES))
def test_no_serious_violations(browser: Browser, site: str, device: str, scheme: str, artifacts: Path) -> None:
    context = browser.new_context(viewport=DEVICES[device], color_scheme=scheme)  # type: ignore[arg-type]
    page = context.new_page()
    found: list[str] = []
    for path in PAGES:
        page.goto(site + path)
        found += serious(path, page)
    page.goto(site + "/date/2026-06-12")
    page.screenshot(path=str(artifacts / f"a11y-feed-{device}-{scheme}.png"))
    # Signed in (an admin sees every tool).
    page.goto(site + "/signin")
    page.fill("main input[name=login]", "root")
    page.fill("main input[name=password]", PASSWORD)
    page.click("main form button[type=submit]")
    for path in SIGNED_IN:
        page.goto(site + path)
        found += serious(path + " (signed in)", page)
    context.close()
    assert not found, "\n".join(found)


def test_skip_link_and_named_vote_buttons(browser: Browser, site: str) -> None:
    page = browser.new_page()
    page.goto(site + "/date/2026-06-12")
    page.keyboard.press("Tab")
    skip = page.locator(":focus")
    assert skip.inner_text() == "Skip to the content"
    skip.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    vote = page.locator("article.card .votes").first
    assert vote.get_attribute("aria-label", timeout=1000).startswith("Sign in to upvote: ")
