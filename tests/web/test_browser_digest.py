"""The digest path in a real browser against a real SMTP server: subscribe on the banner of a (cached)
feed page, open the confirmation link from the mail, get a digest, click unsubscribe in the mail
and confirm, get nothing more. On SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect
from sqlalchemy import Engine

from tests.support.digest import DAY, SECRET, add_papers
from tests.support.server import serve_app
from tests.support.smtp import smtp_server

CONFIRM_LINK = re.compile(r"(http://\S+/subscribe/confirm\?token=\S+)")


def send_digest(engine: Engine, data_dir: Path, base: str, smtp_url: str, day: dt.date) -> str:
    """`dailypapers digest send` as cron runs it, with the server's environment; its one-line report."""
    env = {
        **os.environ,
        "DAILYPAPERS_DATABASE_URL": engine.url.render_as_string(hide_password=False),
        "DAILYPAPERS_DATA_DIR": str(data_dir),
        "DAILYPAPERS_BASE_URL": base,
        "DAILYPAPERS_SMTP_URL": smtp_url,
        "DAILYPAPERS_SECRET_KEY": SECRET,
    }
    command = [
        str(Path(sys.executable).parent / "dailypapers"),
        "digest",
        "send",
        "--frequency",
        "daily",
        "--period",
        str(day),
    ]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr + done.stdout
    return " ".join(done.stderr.split())


def test_subscribe_on_banner_confirm_receive_unsubscribe_from_mail(
    browser: Browser,
    engine: Engine,
    tmp_path: Path,
    artifacts: Path,
    request: pytest.FixtureRequest,
) -> None:
    backend = request.node.callspec.params["db_url"]
    add_papers(
        engine, DAY, ("2601.00001", "Sparse retrieval at scale", "cs.IR", 5), ("2601.00002", "Robots", "cs.RO", 2)
    )
    with smtp_server() as (url, smtp), serve_app(engine, tmp_path, smtp_url=url, rate_limits=False) as base:
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        page.goto(f"{base}/date/{DAY}")
        page.goto(f"{base}/date/{DAY}")  # the second visit is served from the page cache, without a CSRF token
        banner = page.locator("aside.subscribe-banner")
        banner.get_by_label("Email address").fill("reader@example.org")
        banner.get_by_label("How often").select_option("daily")
        page.screenshot(path=str(artifacts / f"digest-{backend}-1-banner.png"))
        banner.get_by_role("button", name="Subscribe").click()
        expect(page.get_by_role("status")).to_contain_text("confirmation link is on its way")

        [confirmation] = smtp.to("reader@example.org")
        assert "sent 0," in send_digest(engine, tmp_path, base, url, DAY)  # nothing before confirming
        link = CONFIRM_LINK.search(confirmation.get_content())  # type: ignore[attr-defined]
        assert link
        page.goto(link[1])
        expect(page.get_by_role("status")).to_contain_text("Confirmed")
        page.screenshot(path=str(artifacts / f"digest-{backend}-2-confirmed.png"), full_page=True)

        assert "sent 1, already sent 0," in send_digest(engine, tmp_path, base, url, DAY)
        assert "sent 0, already sent 1," in send_digest(engine, tmp_path, base, url, DAY)  # exactly once
        digest = smtp.to("reader@example.org")[1]
        mail = digest.get_body(("html",)).get_content()  # type: ignore[union-attr]
        page = context.new_page()  # read the mail in the browser, as a mail client would show it
        page.set_content(mail)
        expect(page.get_by_role("link", name="Sparse retrieval at scale")).to_be_visible()
        page.screenshot(path=str(artifacts / f"digest-{backend}-3-mail.png"), full_page=True)
        page.get_by_role("link", name="Unsubscribe").click()  # opens a page that asks (a GET changes nothing)
        expect(page.get_by_role("heading", name="Unsubscribe?")).to_be_visible()
        page.get_by_role("button", name="Unsubscribe").click()
        expect(page.get_by_role("status")).to_contain_text("reader@example.org will get no more digests")
        page.screenshot(path=str(artifacts / f"digest-{backend}-4-unsubscribed.png"), full_page=True)
        context.close()

        add_papers(engine, DAY.replace(day=6), ("2601.00003", "Retrieval again", "cs.IR", 1))
        assert "sent 0, already sent 0, nothing new 0," in send_digest(engine, tmp_path, base, url, DAY.replace(day=6))
        assert len(smtp.to("reader@example.org")) == 2  # the confirmation and one digest, nothing more
