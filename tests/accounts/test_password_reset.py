"""Forgotten passwords, on SQLite and PostgreSQL: one answer for known and unknown accounts, a mailed link that
works once and for an hour, ends every session and lets that browser past the sign-in limit; the limits on
asking; and the headers of account mail."""

from __future__ import annotations

import re
import time
from pathlib import Path

import httpx
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import Engine

from dailypapers.accounts import signed
from dailypapers.store import accounts
from dailypapers.store.db import read_tx
from tests.accounts.test_account_mail import link_in, mail_to
from tests.support.accounts import CSRF_FIELD, PASSWORD, error_of, make_user, post, sign_in, signed_in
from tests.support.server import SECRET, serve_app
from tests.support.smtp import smtp_server

NEW = "a brand new password"


def token_of(form: httpx.Response) -> str:
    match = re.search(r'name="token" value="([^"]+)"', form.text)
    assert match, form.text
    return match.group(1)


def test_asking_looks_the_same_for_known_and_unknown_accounts(engine: Engine, tmp_path: Path) -> None:
    make_user(engine, "alice")
    with smtp_server() as (url, smtp), serve_app(engine, tmp_path, smtp_url=url, rate_limits=False) as base:
        c = httpx.Client(base_url=base)
        signin = c.get("/signin").text
        assert 'href="/password/forgot"' in signin and 'href="/activate/resend"' in signin
        for path in ("/password/forgot", "/activate/resend"):
            answers = {}
            for login in ("alice", "alice@example.com", "nobody", "nobody@example.com"):
                r = post(c, path, {"login": login})
                answers[login] = (r.status_code, r.text.replace(login, "LOGIN"))
            assert len(set(answers.values())) == 1 and answers["alice"][0] == 200, path
        r = post(c, "/password/forgot", {"login": "  "})
        assert r.status_code == 400 and error_of(r) == "Give your username or email address."
        mails = mail_to(smtp, "alice@example.com", 4)
        time.sleep(0.5)  # nothing more comes, and nothing to the unknown address
        assert len(smtp.messages) == 4 and not smtp.to("nobody@example.com")
        assert [m["Subject"] for m in mails].count("Reset your Daily Papers password") == 2


def test_a_reset_link_sets_the_password_once_and_ends_every_session(engine: Engine, tmp_path: Path) -> None:
    alice = make_user(engine, "alice")
    with smtp_server() as (url, smtp), serve_app(engine, tmp_path, smtp_url=url, rate_limits=False) as base:
        elsewhere = sign_in(base, "alice")
        c = httpx.Client(base_url=base)
        post(c, "/password/forgot", {"login": "alice"})
        post(c, "/password/forgot", {"login": "Alice@Example.com"})
        first, second = (link_in(m, "/password/reset") for m in mail_to(smtp, "alice@example.com", 2))
        form = c.get(first)
        assert form.status_code == 200 and "alice" in form.text and form.headers["referrer-policy"] == "no-referrer"
        r = post(c, "/password/reset", {"token": token_of(form), "password": "short"})
        assert r.status_code == 400 and "at least 8" in (error_of(r) or "")
        r = post(c, "/password/reset", {"token": token_of(form), "password": NEW})
        assert r.status_code == 200 and "Password changed" in r.text and 'href="/signin"' in r.text
        assert not signed_in(elsewhere)
        assert signed_in(sign_in(base, "alice", NEW))
        assert post(httpx.Client(base_url=base), "/signin", {"login": "alice", "password": PASSWORD}).status_code == 400
        # Both links named the old password: neither works any more, by GET or POST.
        for link in (first, second):
            assert c.get(link).status_code == 400 and "used already" in c.get(link).text
        r = post(c, "/password/reset", {"token": token_of(form), "password": "yet another password"})
        assert r.status_code == 400 and "used already" in r.text
        # Forged, expired, of another kind, or for another account's password: refused.
        with read_tx(engine) as conn:
            stored = accounts.password_hash_of(conn, alice.pk)

        class PastSigner(TimestampSigner):
            def get_timestamp(self) -> int:
                return int(time.time()) - 2 * signed.RESET_MAX_AGE

        claim = [alice.pk, signed.password_fingerprint(SECRET, stored)]
        for token, words in [
            (URLSafeTimedSerializer(SECRET, salt="reset", signer=PastSigner).dumps(claim), "expired"),
            (URLSafeTimedSerializer("another secret", salt="reset").dumps(claim), "not valid"),
            (signed.activation_token(SECRET, alice.pk), "not valid"),
            (URLSafeTimedSerializer(SECRET, salt="reset").dumps([alice.pk, "0" * 32]), "not valid"),
            (URLSafeTimedSerializer(SECRET, salt="reset").dumps(["1", "x"]), "not valid"),
            ("", "not valid"),
        ]:
            r = c.get("/password/reset", params={"token": token})
            assert r.status_code == 400 and words in r.text, token
        r = c.get("/password/reset", params={"token": signed.reset_token(SECRET, alice.pk, stored)})
        assert r.status_code == 200  # a fresh, well-made link does work


def test_asking_is_limited_per_address_and_mails_per_account_stay_few(engine: Engine, tmp_path: Path) -> None:
    make_user(engine, "alice")
    with smtp_server() as (url, smtp), serve_app(engine, tmp_path, smtp_url=url) as base:
        answers = set()
        for i in range(5):  # from five addresses: each answered alike, three mails at most
            c = httpx.Client(base_url=base, transport=httpx.HTTPTransport(local_address=f"127.0.0.{i + 2}"))
            r = post(c, "/password/forgot", {"login": "alice"})
            answers.add((r.status_code, CSRF_FIELD.sub("", r.text)))  # each browser has its own token
        assert len(answers) == 1 and answers.pop()[0] == 200
        mail_to(smtp, "alice@example.com", 3)
        time.sleep(0.5)
        assert len(smtp.messages) == 3
        one = httpx.Client(base_url=base, transport=httpx.HTTPTransport(local_address="127.0.0.9"))
        for i in range(10):
            assert post(one, "/activate/resend", {"login": f"someone{i}"}).status_code == 200
        r = post(one, "/password/forgot", {"login": "alice"})
        assert r.status_code == 429 and 1 <= int(r.headers["retry-after"]) <= 3601


def test_account_mail_is_marked_automatic_and_dated_in_utc(engine: Engine, tmp_path: Path) -> None:
    make_user(engine, "alice")
    with smtp_server() as (url, smtp), serve_app(engine, tmp_path, smtp_url=url, rate_limits=False) as base:
        c = httpx.Client(base_url=base)
        post(c, "/signup", {"username": "newbie", "email": "newbie@example.org", "password": PASSWORD})
        post(c, "/password/forgot", {"login": "alice"})
        for mail in (*mail_to(smtp, "newbie@example.org"), *mail_to(smtp, "alice@example.com")):
            assert mail["Auto-Submitted"] == "auto-generated" and mail["X-Auto-Response-Suppress"] == "All"
            assert re.fullmatch(r"\w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d \+0000", str(mail["Date"])), mail["Date"]
            assert mail["Precedence"] is None  # not bulk: a reply to what the reader did
