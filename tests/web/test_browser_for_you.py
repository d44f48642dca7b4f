"""/for-you in a real browser: a reader with one save sees papers with their reasons, clicks "Not
interested" and the paper is gone; screenshots at desktop and phone sizes in test-artifacts/."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect
from sqlalchemy import Engine, text

from dailypapers.ingest.demo import load_demo
from dailypapers.store.db import write_tx
from tests.support.accounts import PASSWORD, make_user
from tests.support.server import serve_app

SIZES = {"desktop": {"width": 1440, "height": 900}, "phone": {"width": 390, "height": 844}}


@pytest.fixture
def site(engine: Engine, tmp_path: Path) -> Iterator[str]:
    load_demo(engine)
    reader = make_user(engine, "ada")
    with write_tx(engine) as conn:
        pk = conn.execute(text("SELECT pk FROM papers WHERE title LIKE '%Distillation%' ORDER BY pk")).scalar()
        conn.execute(
            text("INSERT INTO saves (user_pk, paper_pk, created_at) VALUES (:u, :p, :t)"),
            {"u": reader.pk, "p": pk, "t": dt.datetime.now(dt.UTC)},
        )
    with serve_app(engine, tmp_path, rate_limits=False) as base:
        yield base


def test_reasons_and_not_interested(
    browser: Browser, site: str, artifacts: Path, request: pytest.FixtureRequest
) -> None:
    backend = request.node.callspec.params["db_url"]
    for size, viewport in SIZES.items():
        context = browser.new_context(viewport=viewport)
        page = context.new_page()
        page.goto(site + "/signin")
        page.get_by_label("Username or email").fill("ada")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.goto(site + "/for-you?days=30")
        items = page.locator(".for-you-item")
        expect(items.first.locator(".why")).to_contain_text("which you saved")
        first_title = items.first.locator("h3.title").inner_text()
        # Nothing overflows sideways on a phone.
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
        page.screenshot(path=str(artifacts / f"for-you-{size}-{backend}.png"), full_page=False)
        if size == "desktop":
            items.first.get_by_role("button", name="Not interested").click()
            page.wait_for_url("**/for-you?days=30")
            expect(page.locator(".for-you-item h3.title").first).not_to_have_text(first_title)
            assert first_title not in page.locator(".for-you-list").inner_text()
        context.close()
