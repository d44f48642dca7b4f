"""CSRF tokens bound to the session and renewed at sign-in and sign-out, and redirects that stay on this site,
on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import httpx
from sqlalchemy import Engine

from tests.accounts.test_accounts_security import add_paper
from tests.support.accounts import PASSWORD, csrf, make_user, sign_in, signed_in
from tests.support.server import serve_app


def plant(client: httpx.Client, csrf_cookie: str) -> None:
    """Replace the browser's CSRF cookie."""
    client.cookies.delete("dp_csrf")
    client.cookies.set("dp_csrf", csrf_cookie)


def test_a_token_and_its_cookie_from_one_session_fail_in_another(engine: Engine, tmp_path: Path) -> None:
    make_user(engine, "alice")
    make_user(engine, "mallory")
    with serve_app(engine, tmp_path, rate_limits=False) as base:
        victim, attacker = sign_in(base, "alice"), sign_in(base, "mallory")
        token = csrf(attacker)
        assert attacker.post("/settings/tokens", data={"name": "mine", "csrf_token": token}).status_code == 200
        # The attacker plants their CSRF cookie in the victim's browser (a sibling subdomain can) and posts
        # their own token from it: the victim's session does not match it.
        plant(victim, attacker.cookies["dp_csrf"])
        r = victim.post("/settings/tokens", data={"name": "planted", "csrf_token": token})
        assert r.status_code == 403 and "did not come from this site" in r.text
        assert victim.post("/settings/tokens", data={"name": "mine", "csrf_token": csrf(victim)}).status_code == 200
        # A token shown before signing in does not work in the session, even with the cookie it was made for.
        with httpx.Client(base_url=base) as c:
            before, cookie = csrf(c), c.cookies["dp_csrf"]
            assert (
                c.post("/signin", data={"login": "alice", "password": PASSWORD, "csrf_token": before}).status_code
                == 303
            )
            plant(c, cookie)
            assert c.post("/settings/tokens", data={"name": "old", "csrf_token": before}).status_code == 403


def test_the_token_changes_at_sign_in_and_sign_out(engine: Engine, tmp_path: Path) -> None:
    make_user(engine, "alice")
    with serve_app(engine, tmp_path, rate_limits=False) as base, httpx.Client(base_url=base) as c:
        anonymous, cookie = csrf(c), c.cookies["dp_csrf"]
        r = c.post("/signin", data={"login": "alice", "password": PASSWORD, "csrf_token": anonymous})
        assert r.status_code == 303 and "dp_csrf=" in r.headers.get("set-cookie", "")
        signed, signed_cookie = csrf(c), c.cookies["dp_csrf"]
        assert signed != anonymous and signed_cookie != cookie
        assert c.post("/settings/tokens", data={"name": "stale", "csrf_token": anonymous}).status_code == 403
        assert c.post("/signout", data={"csrf_token": signed}).status_code == 303
        assert not signed_in(c) and c.cookies["dp_csrf"] != signed_cookie
        after = csrf(c)
        assert after not in (anonymous, signed)
        r = c.post("/signin", data={"login": "alice", "password": PASSWORD, "csrf_token": signed})
        assert r.status_code == 403  # the signed-out browser's forms need its new token


EVIL = [
    "//evil.example/",
    "https://evil.example/",
    "http:evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "/\t/evil.example",
    "/\n/evil.example",
    "javascript:alert(1)",
    "evil.example",
]


def test_the_upvote_form_and_sign_in_redirect_only_within_the_site(engine: Engine, tmp_path: Path) -> None:
    add_paper(engine)
    make_user(engine, "alice")
    with serve_app(engine, tmp_path, rate_limits=False) as base:
        me = sign_in(base, "alice")
        token = csrf(me)

        def upvote(back: str = "", referer: str | None = None) -> str:
            headers = {"Referer": referer} if referer is not None else {}
            r = me.post("/papers/2601.00001/upvote", data={"csrf_token": token, "back": back}, headers=headers)
            assert r.status_code == 303, (back, referer, r.status_code)
            return r.headers["location"]

        assert upvote("/trending?page=2") == "/trending?page=2"
        assert upvote(referer=f"{base}/date/2026-01-05?sort=new") == "/date/2026-01-05?sort=new"
        assert upvote() == "/papers/2601.00001"
        for evil in EVIL:
            assert upvote(back=evil) == "/papers/2601.00001", evil
            assert upvote(back=evil, referer=f"{base}/trending") == "/trending", evil
        for referer in [
            "https://evil.example/page",
            "https://evil.example/",
            f"{base}//evil.example/",
            f"{base}/\\evil.example",
            f"https://evil.example@{base.removeprefix('http://')}.evil.example/",
            "//evil.example/",
            "javascript:alert(1)",
        ]:
            assert upvote(referer=referer) == "/papers/2601.00001", referer
        # Sign-in's `next` keeps to the site the same way.
        with httpx.Client(base_url=base) as c:
            for target in EVIL:
                r = c.post(
                    "/signin", data={"login": "alice", "password": PASSWORD, "csrf_token": csrf(c), "next": target}
                )
                assert r.status_code == 303 and r.headers["location"] == "/", target
