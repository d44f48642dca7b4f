"""The banner form on every page (also on cached anonymous pages, which carry no CSRF token) and
subscribing from the settings page when signed in, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import httpx
from lxml import html
from sqlalchemy import Engine

from dailypapers.store import subscribers
from dailypapers.store.db import read_tx
from tests.support.accounts import make_user, post, sign_in
from tests.support.digest import DAY, add_papers, run, settings_for
from tests.support.server import serve_app
from tests.support.smtp import smtp_server


def _subscriber(engine: Engine, email: str) -> subscribers.Subscriber | None:
    with read_tx(engine) as conn:
        return subscribers.by_email(conn, email)


def test_every_page_has_the_banner_form(engine: Engine, tmp_path: Path) -> None:
    add_papers(engine, DAY, ("2601.00001", "Sparse retrieval", "cs.IR", 5))
    with serve_app(engine, tmp_path) as base:
        for path in ("/", f"/date/{DAY}", "/papers/2601.00001", "/trending", "/signin"):
            page = html.fromstring(httpx.get(base + path).text)
            [form] = page.cssselect("aside.subscribe-banner form.banner-form")
            assert page.cssselect("aside.subscribe-banner form[action='/banner/hide']"), path
            assert form.get("action") == "/subscribe" and form.get("method") == "post", path
            assert page.cssselect("aside.subscribe-banner input[type=email][name=email][required]"), path
            assert {o.get("value") for o in form.cssselect("select[name=frequency] option")} == {"daily", "weekly"}


def test_banner_post_from_our_page_subscribes_and_cross_site_posts_are_only_shown_back(
    engine: Engine, tmp_path: Path
) -> None:
    with smtp_server() as (url, smtp), serve_app(engine, tmp_path, smtp_url=url, rate_limits=False) as base:
        host = base.split("://", 1)[1]
        data = {"email": "eve-target@example.org", "frequency": "weekly"}
        r = httpx.post(base + "/subscribe", data=data, headers={"Origin": "https://evil.example"})
        assert r.status_code == 200 and "Check the details and press Subscribe" in r.text
        form = html.fromstring(r.text).cssselect("main form[action='/subscribe']")[0]
        assert form.cssselect("input[name=email]")[0].get("value") == "eve-target@example.org"
        assert form.cssselect("input[name=csrf_token]")[0].get("value")  # one more click, with a token
        assert smtp.messages == [] and _subscriber(engine, "eve-target@example.org") is None

        r = httpx.post(base + "/subscribe", data=data)  # neither token nor Origin: the same
        assert "Check the details" in r.text and smtp.messages == []

        r = httpx.post(base + "/subscribe", data=data, headers={"Origin": f"http://{host}"})
        assert r.status_code == 200 and "confirmation link is on its way" in r.text
        r = httpx.post(base + "/subscribe", data=data, headers={"Sec-Fetch-Site": "same-origin"})
        assert "confirmation link is on its way" in r.text
        assert len(smtp.to("eve-target@example.org")) == 2
        sub = _subscriber(engine, "eve-target@example.org")
        assert sub is not None and not sub.active  # still double opt-in


def test_signed_in_users_subscribe_from_settings_without_a_confirmation_mail(engine: Engine, tmp_path: Path) -> None:
    add_papers(engine, DAY, ("2601.00001", "Sparse retrieval", "cs.IR", 5), ("2601.00002", "Robots", "cs.RO", 9))
    make_user(engine, "ada")
    with smtp_server() as (url, smtp), serve_app(engine, tmp_path, smtp_url=url, rate_limits=False) as base:
        client = sign_in(base, "ada")
        page = client.get("/settings").text
        assert "Email digest" in page and "ada@example.com" in page
        r = post(client, "/settings/digest", {"action": "save", "frequency": "daily", "categories": "cs.IR"})
        assert r.status_code == 200 and "Saved: you get the daily digest." in r.text
        sub = _subscriber(engine, "ada@example.com")
        assert sub is not None and sub.active and sub.categories == ["cs.IR"]
        assert smtp.messages == []  # no confirmation round trip for a confirmed account address

        settings = settings_for(tmp_path, base_url=base, smtp_url=url)
        assert run(engine, settings).sent == ["ada@example.com"]
        [digest] = smtp.to("ada@example.com")
        assert "Sparse retrieval" in digest.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        assert "Robots" not in digest.get_body(("plain",)).get_content()  # type: ignore[union-attr]

        r = post(client, "/settings/digest", {"action": "save", "frequency": "weekly", "categories": "cs\nBcc: x"})
        assert r.status_code == 400 and "control characters" in r.text
        r = post(client, "/settings/digest", {"action": "save", "frequency": "weekly", "keywords": "robots"})
        assert "Saved: you get the weekly digest." in r.text and 'value="weekly" checked' in r.text
        r = post(client, "/settings/digest", {"action": "unsubscribe"})
        assert "Unsubscribed" in r.text
        sub = _subscriber(engine, "ada@example.com")
        assert sub is not None and not sub.active
        r = httpx.post(base + "/settings/digest", data={"action": "save"}, cookies=client.cookies)
        assert r.status_code == 403  # the settings form needs its CSRF token
