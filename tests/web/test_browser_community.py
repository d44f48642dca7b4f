"""The community path in a real browser: sign up, submit, upvote, comment, reply, trending, sign out.

Also: script payloads in comments and paper titles never run.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import Engine

from dailypapers.ingest.demo import load_demo
from dailypapers.ingest.importer import ImportReport, ingest_items
from dailypapers.sources.record import Listing, PaperRecord
from dailypapers.store import search_index
from tests.support.jobs import wait_for
from tests.support.server import serve_app


@pytest.fixture
def site(engine: Engine, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    load_demo(engine)
    with serve_app(engine, tmp_path, rate_limits=False) as base:
        yield base, tmp_path


def activation_link(outbox: Path) -> str:
    folder = outbox / "outbox"
    wait_for(lambda: any(folder.glob("*.eml")), timeout=10, what="the activation mail")  # sent after the answer
    mails = sorted(folder.glob("*.eml"))
    match = re.search(r"(http://\S+/activate\?token=\S+)", mails[-1].read_text())
    assert match
    return match[1]


def shot(page: Page, artifacts: Path, backend: str, step: str) -> None:
    page.screenshot(path=str(artifacts / f"community-{backend}-{step}.png"), full_page=True)


def test_sign_up_submit_upvote_comment_reply_trending_sign_out(
    browser: Browser,
    site: tuple[str, Path],
    artifacts: Path,
    request: pytest.FixtureRequest,
) -> None:
    base, data_dir = site
    backend = request.node.callspec.params["db_url"]
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))

    page.goto(base + "/signup")
    page.get_by_label("Username").fill("ada")
    page.locator("main").get_by_label("Email").fill("ada@example.org")
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Create account").click()
    expect(page.locator("h1")).to_have_text("Check your inbox")
    shot(page, artifacts, backend, "1-signed-up")

    page.goto(activation_link(data_dir))
    expect(page.locator(".top-nav .me")).to_have_text("ada")

    page.goto(base + "/submit")
    page.get_by_label(re.compile("arXiv id or URL", re.I)).fill("https://arxiv.org/abs/0704.0001v2")
    page.get_by_role("button", name=re.compile("Submit", re.I)).click()
    expect(page).to_have_url(re.compile(r"/papers/0704\.0001"))
    expect(page.locator("h1")).to_contain_text("Calculation of prompt diphoton")
    shot(page, artifacts, backend, "2-submitted")

    today = dt.datetime.now(dt.UTC).date().isoformat()
    page.goto(f"{base}/date/{today}")
    card = page.locator("article.card", has=page.locator("a[href='/papers/0704.0001']"))
    expect(card.locator(".count")).to_have_text("0")
    page.evaluate("window.__marker = 'no reload'")
    card.locator("button.vote-button").click()
    expect(card.locator(".count")).to_have_text("1")
    expect(card.locator("button.vote-button")).to_have_attribute("aria-pressed", "true")
    assert page.evaluate("window.__marker") == "no reload"  # updated in place
    shot(page, artifacts, backend, "3-upvoted")

    page.goto(base + "/papers/0704.0001")
    page.locator("#discussion textarea").first.fill("Nice **result** <script>alert('x')</script>")
    page.locator("#discussion").get_by_role("button", name=re.compile("^(Comment|Post)", re.I)).first.click()
    comment = page.locator("#discussion [id^=comment-]").first
    expect(comment).to_contain_text("Nice result")
    expect(comment.locator("strong")).to_have_text("result")
    comment.get_by_role("button", name=re.compile("^Reply$", re.I)).first.click()  # opens the reply form
    reply_box = page.locator("#discussion form textarea[name=body]").nth(1)
    reply_box.fill("A reply")
    reply_box.locator("xpath=ancestor::form").get_by_role("button").click()
    expect(page.locator("#discussion")).to_contain_text("A reply")
    shot(page, artifacts, backend, "4-commented")

    page.goto(base + "/trending")
    expect(page.locator("a[href='/papers/0704.0001']").first).to_be_visible()
    shot(page, artifacts, backend, "5-trending")

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("link", name="Sign in", exact=True)).to_be_visible()
    shot(page, artifacts, backend, "6-signed-out")
    assert dialogs == []


def test_script_payloads_never_run(browser: Browser, engine: Engine, tmp_path: Path) -> None:
    payload = "<script>alert('title')</script><img src=x onerror=alert('img')>"
    rec = PaperRecord(
        id="2601.00002",
        source="test",
        title=f"Evil {payload}",
        abstract=f"Abstract {payload} <svg onload=alert('svg')>",
        listing=Listing(day=dt.date(2026, 1, 6), source="test"),
    )
    ingest_items(engine, [rec], ImportReport())
    search_index.index_pending(engine)
    with serve_app(engine, tmp_path, rate_limits=False) as base:
        page = browser.new_context().new_page()
        dialogs: list[str] = []
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        for path in ("/", "/date/2026-01-06", "/papers/2601.00002", "/trending", "/api/papers/search?q=evil"):
            page.goto(base + path)
        expect(page.locator("body")).to_contain_text("Evil")
        assert dialogs == []
