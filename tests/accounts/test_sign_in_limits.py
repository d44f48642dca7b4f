"""Guessing passwords without locking owners out, on SQLite and PostgreSQL: wrong passwords from many addresses
use up an account's limit (an unknown login's alike), after which only browsers that signed in to that account
before, or reset its password, may still try; one address guessing is limited by its own limit
(tests/accounts/test_moderation.py, with Redis too)."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import Engine

from dailypapers.accounts import signed
from dailypapers.accounts.ratelimit import DEFAULT_LIMITS
from tests.accounts.test_account_mail import link_in, mail_to
from tests.support.accounts import CSRF_FIELD, PASSWORD, error_of, make_user, post, sign_in, signed_in
from tests.support.server import SECRET, serve_app
from tests.support.smtp import smtp_server

FAILURES = int(DEFAULT_LIMITS["signin_failures"].split("/")[0])


def browser(base: str, n: int, **cookies: str) -> httpx.Client:
    """A browser at loopback address 127.0.1.`n`."""
    transport = httpx.HTTPTransport(local_address=f"127.0.1.{n}")
    return httpx.Client(base_url=base, transport=transport, cookies=cookies)


def attack(base: str, login: str) -> None:
    """Wrong passwords for `login` from FAILURES addresses, each well within its own limit."""
    for i in range(FAILURES):
        r = post(browser(base, 100 + i), "/signin", {"login": login, "password": f"guess {i}"})
        assert r.status_code == 400, (i, r.status_code)


def refused(r: httpx.Response) -> bool:
    return r.status_code == 429 and "Too many failed sign-ins for this account" in (error_of(r) or "")


def test_only_browsers_the_account_signed_in_from_may_try_past_its_limit(engine: Engine, tmp_path: Path) -> None:
    alice = make_user(engine, "alice")
    make_user(engine, "bob")
    with serve_app(engine, tmp_path) as base:
        home = sign_in(base, "alice", transport=httpx.HTTPTransport(local_address="127.0.1.1"))
        bobs = sign_in(base, "bob", transport=httpx.HTTPTransport(local_address="127.0.1.2"))
        attack(base, "alice")
        right = {"login": "alice", "password": PASSWORD}
        assert refused(post(browser(base, 3), "/signin", right))
        # Cookies that do not name alice, or are not ours, do not help.
        other_secret = URLSafeTimedSerializer("another secret", salt="known-device").dumps([alice.pk])
        for cookie in (bobs.cookies["dp_device"], "made up", other_secret, signed.device_cookie(SECRET, [])):
            assert refused(post(browser(base, 4, dp_device=cookie), "/signin", right)), cookie
        # Alice's own browser may still try: a wrong password is wrong, the right one signs in.
        mine = browser(base, 5, dp_device=home.cookies["dp_device"])
        r = post(mine, "/signin", {"login": "alice@example.com", "password": "still guessing"})
        assert r.status_code == 400 and error_of(r) == "Wrong username or password."
        assert post(mine, "/signin", right).status_code == 303 and signed_in(mine)
        # Bob is not affected by alice's limit.
        assert post(browser(base, 6), "/signin", {"login": "bob", "password": PASSWORD}).status_code == 303


def test_an_unknown_login_is_limited_alike(engine: Engine, tmp_path: Path) -> None:
    make_user(engine, "alice")
    with serve_app(engine, tmp_path) as base:
        attack(base, "alice")
        attack(base, "ghost")  # no such account: the same limit, the same answer
        known, unknown = (
            post(browser(base, 7), "/signin", {"login": login, "password": PASSWORD}) for login in ("alice", "ghost")
        )
        assert refused(known) and refused(unknown)
        same = [re.sub(r"in \d+ minutes", "", CSRF_FIELD.sub("", r.text)) for r in (known, unknown)]
        assert same[0].replace("alice", "X") == same[1].replace("ghost", "X")


def test_a_password_reset_lets_that_browser_past_the_limit(engine: Engine, tmp_path: Path) -> None:
    make_user(engine, "alice")
    with smtp_server() as (url, smtp), serve_app(engine, tmp_path, smtp_url=url) as base:
        attack(base, "alice")
        owner = browser(base, 8)
        post(owner, "/password/forgot", {"login": "alice"})
        (mail,) = mail_to(smtp, "alice@example.com")
        form = owner.get(link_in(mail, "/password/reset"))
        token = form.text.split('name="token" value="')[1].split('"')[0]
        assert post(owner, "/password/reset", {"token": token, "password": "a brand new password"}).status_code == 200
        new = {"login": "alice", "password": "a brand new password"}
        assert refused(post(browser(base, 9), "/signin", new))  # elsewhere, the limit still holds
        assert post(owner, "/signin", new).status_code == 303 and signed_in(owner)


def test_the_known_device_cookie_names_the_latest_accounts_and_only_ours() -> None:
    value = signed.device_cookie(SECRET, range(1, 15))
    assert signed.known_accounts(SECRET, value) == list(range(5, 15))  # the latest DEVICE_ACCOUNTS
    again = signed.device_cookie(SECRET, [*signed.known_accounts(SECRET, value), 5])
    assert signed.known_accounts(SECRET, again)[-1] == 5 and len(signed.known_accounts(SECRET, again)) == 10
    assert signed.known_accounts("another secret", value) == []
    assert signed.known_accounts(SECRET, signed.activation_token(SECRET, 1)) == []  # another kind of value
    assert signed.known_accounts(SECRET, None) == [] and signed.known_accounts(SECRET, "junk") == []
