"""Curation in a real browser: the day's picks on the feed ("picked for this community", the reason on
hover), and a curator skipping one from /admin/curation, on a desktop and a phone."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect
from sqlalchemy import Engine

from dailypapers.curation import auto
from tests.curation.test_auto import DAY, SETTINGS, TODAY, load, picks_of
from tests.support.accounts import PASSWORD, make_user
from tests.support.server import serve_app

pytestmark = pytest.mark.browser


def test_picks_on_the_feed_and_a_curator_skips_one(
    browser: Browser, engine: Engine, tmp_path: Path, artifacts: Path, request: pytest.FixtureRequest
) -> None:
    backend = request.node.callspec.params["db_url"]
    load(engine)
    auto.train_model(engine, SETTINGS, today=TODAY)
    auto.pick_day(engine, dataclasses.replace(SETTINGS, auto_feature_top=6), DAY)
    picked = picks_of(engine)
    make_user(engine, "cura", role="curator")
    with serve_app(engine, tmp_path, rate_limits=False, auto_feature=SETTINGS.auto_feature) as base:
        for device, size in (("desktop", (1280, 900)), ("phone", (390, 844))):
            page = browser.new_page(viewport={"width": size[0], "height": size[1]})
            page.goto(f"{base}/date/{DAY}")
            badge = page.locator("a.badge.picked").first
            expect(badge).to_have_text("Picked for this community")
            assert badge.get_attribute("title") in picked.values()
            badge.scroll_into_view_if_needed()
            page.screenshot(path=str(artifacts / f"curation-{backend}-{device}-feed.png"))
            page.close()

        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(f"{base}/signin")
        page.fill("main input[name=login]", "cura")
        page.fill("main input[name=password]", PASSWORD)
        page.click("main form button[type=submit]")
        page.goto(f"{base}/admin/curation?date={DAY}")
        first = page.locator("tr.state-picked").first
        pid = (first.get_attribute("id") or "").removeprefix("paper-")
        first.get_by_role("button", name="Skip").click()
        row = page.locator(f"tr[id='paper-{pid}']")
        expect(row).to_have_class("state-skipped")
        expect(row.get_by_role("button", name="Unskip")).to_be_visible()
        page.screenshot(path=str(artifacts / f"curation-{backend}-admin.png"))
        page.set_viewport_size({"width": 390, "height": 844})
        page.screenshot(path=str(artifacts / f"curation-{backend}-admin-phone.png"))
        assert pid not in picks_of(engine)
        assert dt.date.fromisoformat(page.locator("input[name=date]").input_value()) == DAY
