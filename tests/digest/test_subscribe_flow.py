"""Subscribing over HTTP against the real server and a real SMTP server, on SQLite and PostgreSQL."""

from __future__ import annotations

import re
import time
from pathlib import Path

import httpx
import lxml.html
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import Engine

from dailypapers.digest import links
from dailypapers.store import subscribers
from dailypapers.store.db import read_tx
from tests.support.digest import DAY, SECRET, add_papers, confirmed, run, settings_for
from tests.support.server import serve_app
from tests.support.smtp import smtp_server

CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')
CONFIRM_LINK = re.compile(r"(http://\S+/subscribe/confirm\?token=\S+)")


def subscribe_form(client: httpx.Client, **fields: str) -> httpx.Response:
    match = CSRF_FIELD.search(client.get("/subscribe").text)
    assert match, "no CSRF field on /subscribe"
    return client.post("/subscribe", data={"frequency": "daily", **fields, "csrf_token": match.group(1)})


def test_subscribe_confirm_digest_once_unsubscribe(engine: Engine, tmp_path: Path) -> None:
    add_papers(engine, DAY, ("2601.00001", "Sparse retrieval", "cs.IR", 5))
    with smtp_server() as (url, smtp), serve_app(engine, tmp_path, smtp_url=url, rate_limits=False) as base:
        client = httpx.Client(base_url=base)
        r = subscribe_form(client, email="Ada@Example.org", keywords="retrieval")
        assert r.status_code == 200 and "confirmation link is on its way" in r.text
        [confirm_mail] = smtp.to("ada@example.org")
        settings = settings_for(tmp_path, base_url=base, smtp_url=url)
        assert run(engine, settings).sent == []  # nothing but the confirmation before confirming
        link = CONFIRM_LINK.search(confirm_mail.get_content())  # type: ignore[attr-defined]
        assert link
        assert httpx.get(link.group(1)).status_code == 200
        assert run(engine, settings).sent == ["ada@example.org"]
        assert run(engine, settings).already_sent == ["ada@example.org"]
        digest = smtp.to("ada@example.org")[1]
        assert len(smtp.messages) == 2
        assert digest["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        wire = smtp.raw[1].decode()  # one plain header line, as mail clients need it for one click
        assert f"\r\nList-Unsubscribe: <{base}/unsubscribe?token=" in wire and "=?utf-8?" not in wire
        html = digest.get_body(("html",)).get_content()  # type: ignore[union-attr]
        assert "Sparse retrieval" in html and f"{base}/papers/2601.00001" in html and "/subscribe/manage?token=" in html
        unsubscribe = digest["List-Unsubscribe"].strip("<>")
        assert unsubscribe in html  # the mail's own unsubscribe link is the header's
        for _ in range(2):  # a mail scanner opening the link (twice, without cookies) unsubscribes no one
            r = httpx.get(unsubscribe)
            assert r.status_code == 200 and "Unsubscribe?" in r.text and "no more digests" not in r.text
        assert active(engine, "ada@example.org")
        r = httpx.post(unsubscribe, data={"List-Unsubscribe": "One-Click"})  # RFC 8058, no cookies, no CSRF
        assert r.status_code == 200 and "no more digests" in r.text
        assert not active(engine, "ada@example.org")
        add_papers(engine, DAY.replace(day=6), ("2601.00002", "Retrieval again", "cs.IR", 1))
        assert run(engine, settings, day=DAY.replace(day=6)).sent == []
        assert len(smtp.messages) == 2


def active(engine: Engine, email: str) -> bool:
    with read_tx(engine) as conn:
        sub = subscribers.by_email(conn, email)
    return sub is not None and sub.active


def test_the_unsubscribe_link_asks_and_its_button_unsubscribes_without_a_session(
    engine: Engine, tmp_path: Path
) -> None:
    pk = confirmed(engine, "ada@example.org")
    link = links.unsubscribe_url(settings_for(tmp_path), pk, "ada@example.org")
    path = link[link.index("/unsubscribe") :]
    with serve_app(engine, tmp_path, rate_limits=False) as base:
        asked = httpx.get(base + path)
        assert asked.status_code == 200 and asked.headers["referrer-policy"] == "no-referrer"
        assert "Stop the daily Daily Papers digest to <strong>ada@example.org</strong>?" in asked.text
        assert httpx.head(base + path).status_code in (200, 405) and active(engine, "ada@example.org")
        form = lxml.html.fromstring(asked.text).cssselect("main form")[0]
        assert form.get("method") == "post" and form.get("action") == path
        fields = {i.get("name"): i.get("value") for i in form.cssselect("input")}
        assert fields == {"List-Unsubscribe": "One-Click"}  # no CSRF token: the signed link is the authority
        assert form.cssselect("button")[0].text_content() == "Unsubscribe"
        assert active(engine, "ada@example.org")

        done = httpx.post(base + form.get("action"), data=fields)  # the button, as a browser without JS sends it
        assert done.status_code == 200 and "ada@example.org will get no more digests" in done.text
        assert not active(engine, "ada@example.org")
        again = httpx.get(base + path)
        assert again.status_code == 200 and "Already unsubscribed" in again.text
        assert not lxml.html.fromstring(again.text).cssselect("main form")
        assert httpx.post(base + path, data=fields).status_code == 200  # twice is no error
        forged = links.subscriber_token("another-secret", "unsubscribe", pk, "ada@example.org")
        assert httpx.post(f"{base}/unsubscribe?token={forged}", data=fields).status_code == 400


def test_known_and_new_addresses_get_the_same_answer(engine: Engine, tmp_path: Path) -> None:
    confirmed(engine, "known@example.org")
    with smtp_server() as (url, smtp), serve_app(engine, tmp_path, smtp_url=url, rate_limits=False) as base:
        answers = [
            httpx.post(f"{base}/api/subscriptions", json={"email": e, "frequency": "weekly"})
            for e in ("known@example.org", "new@example.org")
        ]
        assert [a.status_code for a in answers] == [202, 202] and answers[0].json() == answers[1].json()
        client = httpx.Client(base_url=base)
        pages = [CSRF_FIELD.sub("", subscribe_form(client, email=e).text) for e in ("known@example.org", "x@ex.org")]
        assert pages[0] == pages[1]
        # Each request got a confirmation link; resubscribing does not change a confirmed subscription yet.
        assert [str(m["Subject"]) for m in smtp.messages] == ["Confirm your Daily Papers digest"] * 4
        with read_tx(engine) as conn:
            known = subscribers.by_email(conn, "known@example.org")
        assert known is not None and known.frequency == "daily" and known.active


def test_forged_expired_and_mismatched_tokens_get_a_400_page(engine: Engine, tmp_path: Path) -> None:
    pk = confirmed(engine, "ada@example.org")
    with serve_app(engine, tmp_path, rate_limits=False) as base:

        class Old(TimestampSigner):
            def get_timestamp(self) -> int:
                return int(time.time()) - 8 * 24 * 3600

        expired = URLSafeTimedSerializer(SECRET, salt="digest-confirm", signer=Old).dumps(
            [pk, "ada@example.org", "daily", [], []]
        )
        forged = URLSafeTimedSerializer("another-secret", salt="digest-confirm").dumps([pk, "ada@example.org"])
        wrong_kind = links.subscriber_token(SECRET, "unsubscribe", pk, "ada@example.org")
        wrong_email = links.subscriber_token(SECRET, "manage", pk, "eve@example.org")
        for path in (
            f"/subscribe/confirm?token={expired}",
            f"/subscribe/confirm?token={forged}",
            "/subscribe/confirm?token=garbage",
            f"/subscribe/manage?token={wrong_kind}",
            f"/subscribe/manage?token={wrong_email}",
            f"/unsubscribe?token={links.subscriber_token(SECRET, 'manage', pk, 'ada@example.org')}",
            "/unsubscribe",
        ):
            r = httpx.get(base + path)
            assert r.status_code == 400 and "invalid or has expired" in r.text, path
        with read_tx(engine) as conn:
            assert subscribers.by_pk(conn, pk).active  # type: ignore[union-attr]
        manage = links.subscriber_token(SECRET, "manage", pk, "ada@example.org")
        r = httpx.post(f"{base}/subscribe/manage?token={manage}", data={"frequency": "weekly", "categories": "cs.CL"})
        assert r.status_code == 200 and "Saved." in r.text
        with read_tx(engine) as conn:
            sub = subscribers.by_pk(conn, pk)
        assert sub is not None and sub.frequency == "weekly" and sub.categories == ["cs.CL"]


def test_header_injection_is_refused(engine: Engine, tmp_path: Path) -> None:
    with smtp_server() as (url, smtp), serve_app(engine, tmp_path, smtp_url=url, rate_limits=False) as base:
        for body in (
            {"email": "a@example.org\r\nBcc: victim@example.org", "frequency": "daily"},
            {"email": "a@example.org\nBcc: victim@example.org", "frequency": "daily"},
            {"email": "a@example.org", "frequency": "daily", "keywords": ["x\r\nBcc: victim@example.org"]},
            {"email": "a@example.org", "frequency": "daily", "keywords": ["tab\there"]},
            {"email": "a@example.org", "frequency": "hourly"},
            {"email": ["a@example.org"], "frequency": "daily"},
        ):
            r = httpx.post(f"{base}/api/subscriptions", json=body)
            assert r.status_code == 400, body
        client = httpx.Client(base_url=base)
        r = subscribe_form(client, email="a@example.org\r\nBcc: victim@example.org")
        assert r.status_code == 400 and "control characters" in r.text
        assert smtp.messages == []
