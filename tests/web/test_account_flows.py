"""Signing in and up as readers do it: an upvote asked for while signed out is cast once signed in (or once
the new account is activated), activation says so, and `/login` and `/logout` work. Real server, both
databases."""

from __future__ import annotations

import datetime as dt
import re
from email import policy
from email.parser import BytesParser
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
from lxml import html
from sqlalchemy import Engine, text

from dailypapers.ingest.importer import ImportReport, ingest_items
from dailypapers.sources.record import Listing, PaperRecord
from dailypapers.store.db import read_tx
from tests.support.accounts import PASSWORD, csrf, make_user, signed_in
from tests.support.jobs import wait_for
from tests.support.server import serve_app

DAY = dt.date(2026, 3, 6)
X, Y = "2603.00001", "2603.00002"


def add_papers(engine: Engine) -> None:
    records = [
        PaperRecord(
            id=pid,
            source="test",
            title=f"Paper {pid}",
            abstract="An abstract.",
            listing=Listing(day=DAY, source="t", upvotes=up),
        )
        for pid, up in ((X, 5), (Y, 9))
    ]
    ingest_items(engine, records, ImportReport())


def upvotes(base: str, paper_id: str) -> int:
    return int(httpx.get(f"{base}/api/papers/{paper_id}").json()["upvotes"])


def vote_rows(engine: Engine) -> int:
    with read_tx(engine) as conn:
        return int(conn.execute(text("SELECT count(*) FROM votes")).scalar() or 0)


def pressed(page: httpx.Response, paper_id: str) -> str | None:
    escaped = paper_id.replace(".", "\\.")
    buttons = html.fromstring(page.text).cssselect(f"#paper-{escaped} button.vote-button")
    return buttons[0].get("aria-pressed") if buttons else None


def signed_out_vote(c: httpx.Client, paper_id: str) -> str:
    """Click the signed-out upvote on the day's feed; returns the sign-in page's `next`."""
    feed_url = str(c.base_url.join(f"/date/{DAY}"))
    escaped = paper_id.replace(".", "\\.")
    link = html.fromstring(c.get(f"/date/{DAY}").text).cssselect(f"#paper-{escaped} a.votes")[0].get("href")
    assert link == f"/papers/{paper_id}/upvote"
    r = c.get(link, headers={"Referer": feed_url})
    assert r.status_code == 303 and r.headers["location"].startswith("/signin?next=")
    return parse_qs(urlsplit(r.headers["location"]).query)["next"][0]


def test_a_signed_out_upvote_is_cast_after_signing_in(engine: Engine, tmp_path: Path) -> None:
    add_papers(engine)
    make_user(engine, "ada")
    with serve_app(engine, tmp_path, rate_limits=False) as base, httpx.Client(base_url=base) as c:
        after = signed_out_vote(c, X)
        form = c.get("/signin", params={"next": after})
        intent = html.fromstring(form.text).cssselect("p.intent")[0].text_content()
        assert intent == f"Sign in to upvote Paper {X}: the vote counts as soon as you are in."
        assert upvotes(base, X) == 5  # nothing yet
        # A wrong password casts nothing and keeps the intent.
        data = {"login": "ada", "password": "wrong password!", "next": after, "csrf_token": csrf(c)}
        wrong = c.post("/signin", data=data)
        assert wrong.status_code == 400 and f"upvote <strong>Paper {X}</strong>" in wrong.text
        assert upvotes(base, X) == 5
        r = c.post("/signin", data={**data, "password": PASSWORD})
        assert r.status_code == 303 and r.headers["location"] == f"/date/{DAY}#paper-{X}"  # back to the card
        assert upvotes(base, X) == 6
        assert pressed(c.get(f"/date/{DAY}"), X) == "true" and pressed(c.get(f"/date/{DAY}"), Y) == "false"
        # Signing in again with the same link does not vote twice.
        again = c.post("/signin", data={**data, "password": PASSWORD, "csrf_token": csrf(c)})
        assert again.status_code == 303 and upvotes(base, X) == 6
        # Signed in, the link only asks: GET changes nothing; the form (with its CSRF token) votes.
        ask = c.get(f"/papers/{Y}/upvote", headers={"Referer": f"{base}/week/2026-W10"})
        doc = html.fromstring(ask.text)
        assert ask.status_code == 200 and doc.cssselect("h1")[0].text == "Upvote this paper?"
        assert upvotes(base, Y) == 9
        fields = {i.get("name"): i.get("value") for i in doc.cssselect("form[action$='/upvote'] input")}
        assert fields["back"] == f"/week/2026-W10#paper-{Y}"
        assert c.post(f"/papers/{Y}/upvote", data={**fields, "csrf_token": ""}).status_code == 403
        done = c.post(f"/papers/{Y}/upvote", data=fields)
        assert done.status_code == 303 and done.headers["location"] == f"/week/2026-W10#paper-{Y}"
        assert upvotes(base, Y) == 10
        assert html.fromstring(c.get(f"/papers/{Y}/upvote").text).cssselect("h1")[0].text == "You upvoted this paper"
    assert vote_rows(engine) == 2


def test_the_intent_cannot_send_readers_elsewhere(engine: Engine, tmp_path: Path) -> None:
    add_papers(engine)
    make_user(engine, "ada")
    with serve_app(engine, tmp_path, rate_limits=False) as base, httpx.Client(base_url=base) as c:
        # A page of another site, or a `back` that browsers would read as another host: back to the paper.
        r = c.get(f"/papers/{X}/upvote", headers={"Referer": "https://elsewhere.example/date"})
        assert parse_qs(urlsplit(r.headers["location"]).query)["next"][0] == f"/papers/{X}/upvote?back=%2Fpapers%2F{X}"
        for back in ("//elsewhere.example/", "/\\elsewhere.example", "https://elsewhere.example/"):
            data = {"login": "ada", "password": PASSWORD, "csrf_token": csrf(c)}
            r = c.post("/signin", data={**data, "next": f"/papers/{Y}/upvote?" + urlencode({"back": back})})
            assert r.status_code == 303 and r.headers["location"] == f"/papers/{Y}", back
        for target in ("//elsewhere.example/", "https://elsewhere.example/", "/\\elsewhere.example"):
            r = c.post("/signin", data={"login": "ada", "password": PASSWORD, "csrf_token": csrf(c), "next": target})
            assert r.headers["location"] == "/", target
        # An intent naming no paper signs in all the same.
        r = c.post("/signin", data={**data, "csrf_token": csrf(c), "next": "/papers/2603.99999/upvote"})
        assert r.status_code == 303 and r.headers["location"] == "/papers/2603.99999"
        assert upvotes(base, Y) == 10 and upvotes(base, X) == 5
    assert vote_rows(engine) == 1


def activation_link(outbox: Path) -> str:
    wait_for(lambda: any(outbox.glob("*.eml")), timeout=10, what="the activation mail")  # sent after the answer
    mails = sorted(outbox.glob("*.eml"))
    mail = BytesParser(policy=policy.default).parsebytes(mails[-1].read_bytes())
    body = mail.get_content()  # decoded: a long link is quoted-printable in the file
    match = re.search(r"http://\S+/activate\?\S+", body)
    assert match
    return match[0]


def test_a_signed_out_upvote_is_cast_once_a_new_account_is_activated(engine: Engine, tmp_path: Path) -> None:
    add_papers(engine)
    with serve_app(engine, tmp_path, rate_limits=False) as base, httpx.Client(base_url=base) as c:
        after = signed_out_vote(c, X)
        signin = html.fromstring(c.get("/signin", params={"next": after}).text)
        to_signup = signin.xpath("//a[text()='Create an account']")[0].get("href")
        form = html.fromstring(c.get(to_signup).text)
        assert form.cssselect("input[name=next]")[0].get("value") == after
        assert f"Sign up to upvote Paper {X}" in form.cssselect("p.intent")[0].text_content()
        data = {"username": "newbie", "email": "newbie@example.org", "password": PASSWORD, "next": after}
        r = c.post("/signup", data={**data, "csrf_token": csrf(c)})
        assert r.status_code == 200 and "Check your inbox" in r.text
        assert upvotes(base, X) == 5
        # The link may be opened in another browser: it carries the vote itself.
        with httpx.Client(base_url=base) as mailbox:
            r = mailbox.get(activation_link(tmp_path / "outbox"))
            assert r.status_code == 303 and r.headers["location"] == f"/date/{DAY}#paper-{X}"
            assert upvotes(base, X) == 6
            page = mailbox.get(f"/date/{DAY}")
            notice = html.fromstring(page.text).cssselect("[role=status].flash")
            assert notice and "newbie" in notice[0].text_content() and "active" in notice[0].text_content()
            assert pressed(page, X) == "true"
            assert not html.fromstring(mailbox.get(f"/date/{DAY}").text).cssselect(".flash")  # said once
    assert vote_rows(engine) == 1


def test_activation_says_the_account_is_active(engine: Engine, tmp_path: Path) -> None:
    with serve_app(engine, tmp_path, rate_limits=False) as base, httpx.Client(base_url=base) as c:
        data = {"username": "carol", "email": "carol@example.org", "password": PASSWORD}
        assert c.post("/signup", data={**data, "csrf_token": csrf(c)}).status_code == 200
        link = activation_link(tmp_path / "outbox")
        assert "next=" not in link
        r = c.get(link)
        assert r.status_code == 303 and r.headers["location"] == "/"
        home = c.get("/")
        notice = html.fromstring(home.text).cssselect("[role=status].flash")[0].text_content()
        assert notice == "Welcome, carol! Your account is active and you are signed in."
        assert "dp_flash" not in c.cookies and signed_in(c)
        # Anonymous visitors of the same (shared, cached) page see no such notice.
        assert b"flash" not in httpx.get(f"{base}/").content


def test_login_and_logout_are_aliases(engine: Engine, tmp_path: Path) -> None:
    make_user(engine, "ada")
    with serve_app(engine, tmp_path, rate_limits=False) as base, httpx.Client(base_url=base) as c:
        r = c.get("/login", params={"next": "/trending"})
        assert r.status_code == 308 and r.headers["location"] == "/signin?next=%2Ftrending"
        form = c.get("/login", params={"next": "/trending"}, follow_redirects=True)
        assert form.url.path == "/signin" and form.status_code == 200
        assert html.fromstring(form.text).cssselect("input[name=next]")[0].get("value") == "/trending"
        # The form posted to /login is posted again to /signin (308 keeps the method and the body).
        data = {"login": "ada", "password": PASSWORD, "next": "/trending", "csrf_token": csrf(c)}
        r = c.post("/login", data=data, follow_redirects=True)
        assert r.url.path == "/trending" and signed_in(c)
        # GET /logout (and /signout) only shows the button; signing out needs the form and its token.
        ask = c.get("/logout", follow_redirects=True)
        assert ask.url.path == "/signout" and html.fromstring(ask.text).cssselect("form[action='/signout'] button")
        assert signed_in(c)
        assert c.post("/logout", data={}, follow_redirects=True).status_code == 403 and signed_in(c)
        out = c.post("/logout", data={"csrf_token": csrf(c)}, follow_redirects=True)
        assert out.status_code == 200 and out.url.path == "/" and not signed_in(c)
        assert "You are signed out" in c.get("/logout", follow_redirects=True).text
