"""Account security over HTTP against the real server, on SQLite and PostgreSQL: enumeration, sessions,
password changes, API tokens, cookies, CSRF, hostile input, body size, activation links and suspension.

The helpers (users, sign-in, form posts) are in tests/support/accounts.py.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
import time
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import Engine

from dailypapers.ingest.importer import ImportReport, ingest_items
from dailypapers.sources.record import Listing, PaperRecord
from dailypapers.store import accounts
from dailypapers.store.db import read_tx, write_tx
from tests.support.accounts import CSRF_FIELD, PASSWORD, csrf, error_of, make_user, post, sign_in, signed_in
from tests.support.jobs import wait_for
from tests.support.server import SECRET, serve_app


def add_paper(engine: Engine, paper_id: str = "2601.00001", title: str = "A paper about things") -> None:
    rec = PaperRecord(id=paper_id, source="test", title=title, listing=Listing(day=dt.date(2026, 1, 5), source="test"))
    ingest_items(engine, [rec], ImportReport())


def mails(data_dir: Path, count: int = 1) -> list[Message]:
    """The outbox's mails, once there are `count` (account mail goes out after the response)."""
    outbox = data_dir / "outbox"
    wait_for(lambda: len(list(outbox.glob("*.eml"))) >= count, timeout=10, what=f"{count} mails in the outbox")
    return [message_from_bytes(p.read_bytes()) for p in sorted(outbox.glob("*.eml"))]


def test_sign_in_does_not_tell_unknown_users_from_wrong_passwords(engine: Engine, tmp_path: Path) -> None:
    make_user(engine, "alice")
    with serve_app(engine, tmp_path, rate_limits=False) as base, httpx.Client(base_url=base) as c:
        answers = [
            post(c, "/signin", {"login": login, "password": pw})
            for login, pw in [
                ("nobody", PASSWORD),
                ("alice", "wrong password"),
                ("nobody@example.com", PASSWORD),
                ("alice@example.com", "wrong password"),
            ]
        ]
        assert {r.status_code for r in answers} == {400}
        assert {error_of(r) for r in answers} == {"Wrong username or password."}
        assert "dp_session" not in c.cookies
        assert sign_in(base, "ALICE@example.com").cookies.get("dp_session")


def test_sign_up_with_a_registered_email_looks_the_same_and_mails_differ(engine: Engine, tmp_path: Path) -> None:
    make_user(engine, "bob")
    with serve_app(engine, tmp_path, rate_limits=False) as base, httpx.Client(base_url=base) as c:
        new = post(c, "/signup", {"username": "newbie", "email": "newbie@example.com", "password": PASSWORD})
        old = post(c, "/signup", {"username": "bobby", "email": "Bob@Example.com", "password": PASSWORD})
        assert new.status_code == old.status_code == 200
        assert new.text.replace("newbie@example.com", "X") == old.text.replace("bob@example.com", "X")
        sent = {m["To"]: m for m in mails(tmp_path, 2)}
        assert sent["newbie@example.com"]["Subject"] == "Activate your Daily Papers account"
        assert sent["bob@example.com"]["Subject"] == "You already have a Daily Papers account"
        assert "/activate?token=" not in sent["bob@example.com"].get_payload()
    with read_tx(engine) as conn:
        assert accounts.account_by_name(conn, "bobby") is None  # no second account for the same address
        assert accounts.account_by_name(conn, "newbie").active is False  # type: ignore[union-attr]


def test_activation_links_forged_expired_and_real(engine: Engine, tmp_path: Path) -> None:
    with serve_app(engine, tmp_path, rate_limits=False) as base, httpx.Client(base_url=base) as c:
        post(c, "/signup", {"username": "carol", "email": "carol@example.com", "password": PASSWORD})
        link = re.search(r"/activate\?token=(\S+)", mails(tmp_path)[0].get_payload())
        assert link
        with read_tx(engine) as conn:
            pk = accounts.account_by_name(conn, "carol").pk  # type: ignore[union-attr]

        class PastSigner(TimestampSigner):
            def get_timestamp(self) -> int:
                return int(time.time()) - 3 * 24 * 3600

        expired = URLSafeTimedSerializer(SECRET, salt="activate", signer=PastSigner).dumps(pk)
        forged = URLSafeTimedSerializer("another secret", salt="activate").dumps(pk)
        wrong_salt = URLSafeTimedSerializer(SECRET, salt="reset").dumps(pk)
        for token, words in [
            (expired, "expired"),
            (forged, "not valid"),
            (wrong_salt, "not valid"),
            (link.group(1)[:-2] + "xx", "not valid"),
            ("", "not valid"),
            ("' OR 1=1 --", "not valid"),
        ]:
            r = c.get("/activate", params={"token": token})
            assert r.status_code == 400 and words in r.text, token
            assert r.headers["content-type"].startswith("text/html")
        assert c.get("/settings").status_code == 303
        r = c.get("/activate", params={"token": link.group(1)})
        assert r.status_code == 303 and signed_in(c)


def test_password_change_needs_the_current_one_and_ends_other_sessions(engine: Engine, tmp_path: Path) -> None:
    make_user(engine, "dave")
    with serve_app(engine, tmp_path, rate_limits=False) as base:
        here, elsewhere = sign_in(base, "dave"), sign_in(base, "dave")
        r = post(here, "/settings/password", {"current": "not it at all", "new": "a new password"})
        assert r.status_code == 400 and error_of(r) == "Your current password is not right."
        assert signed_in(elsewhere)
        r = post(here, "/settings/password", {"current": PASSWORD, "new": "short"})
        assert r.status_code == 400 and "at least 8" in (error_of(r) or "")
        r = post(here, "/settings/password", {"current": PASSWORD, "new": "a new password"})
        assert r.status_code == 200 and "other sessions were signed out" in r.text
        assert signed_in(here) and not signed_in(elsewhere)
        with httpx.Client(base_url=base) as c:
            assert post(c, "/signin", {"login": "dave", "password": PASSWORD}).status_code == 400
        assert signed_in(sign_in(base, "dave", "a new password"))


def test_api_tokens_are_created_shown_once_and_revoked(engine: Engine, tmp_path: Path) -> None:
    add_paper(engine)
    make_user(engine, "erin")
    make_user(engine, "frank")
    with serve_app(engine, tmp_path, rate_limits=False) as base:
        erin = sign_in(base, "erin")
        r = post(erin, "/settings/tokens", {"name": "my script"})
        token = re.search(r'<code class="token">(dp_[^<]+)</code>', r.text)
        assert r.status_code == 200 and token
        bearer = {"Authorization": f"Bearer {token.group(1)}"}
        assert token.group(1) not in erin.get("/settings").text  # shown once
        up = httpx.post(f"{base}/api/papers/2601.00001/upvote", headers=bearer)
        assert up.status_code == 200 and up.json()["upvoted"] is True
        with read_tx(engine) as conn:
            (info,) = accounts.tokens_of(conn, accounts.account_by_name(conn, "erin").pk)  # type: ignore[union-attr]
        # Someone else cannot revoke it.
        assert post(sign_in(base, "frank"), f"/settings/tokens/{info.pk}/revoke").status_code == 404
        assert httpx.post(f"{base}/api/papers/2601.00001/upvote", headers=bearer).status_code == 200
        assert post(erin, f"/settings/tokens/{info.pk}/revoke").status_code == 303
        gone = httpx.post(f"{base}/api/papers/2601.00001/upvote", headers=bearer)
        assert gone.status_code == 401 and "revoked" in gone.json()["error"]
        assert httpx.get(f"{base}/settings", headers=bearer).status_code == 401
        assert httpx.get(f"{base}/settings", headers={"Authorization": "Bearer dp_made_up"}).status_code == 401


def _cookie_attrs(r: httpx.Response, name: str) -> set[str]:
    for header in r.headers.get_list("set-cookie"):
        if header.startswith(f"{name}="):
            return {part.strip().lower() for part in header.split(";")[1:]}
    raise AssertionError(f"no {name} cookie set: {r.headers.get_list('set-cookie')}")


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_cookie_flags(engine: Engine, tmp_path: Path, scheme: str) -> None:
    make_user(engine, "gina")
    settings: dict[str, object] = {"rate_limits": False}
    if scheme == "https":
        settings["base_url"] = "https://papers.example.org"
    with serve_app(engine, tmp_path, **settings) as base, httpx.Client(base_url=base) as c:
        form = c.get("/signin")
        csrf_cookie = form.cookies.get("dp_csrf") or re.search(r"dp_csrf=([^;]+)", form.headers["set-cookie"]).group(1)  # type: ignore[union-attr]
        token = CSRF_FIELD.search(form.text).group(1)  # type: ignore[union-attr]
        # Secure cookies do not travel back over plain HTTP, so send the CSRF cookie by hand.
        r = httpx.post(
            f"{base}/signin",
            data={"login": "gina", "password": PASSWORD, "csrf_token": token},
            headers={"Cookie": f"dp_csrf={csrf_cookie}"},
        )
        assert r.status_code == 303
        for name, attrs in [
            ("dp_csrf", _cookie_attrs(form, "dp_csrf")),
            ("dp_session", _cookie_attrs(r, "dp_session")),
        ]:
            assert "httponly" in attrs and "samesite=lax" in attrs, name
            assert ("secure" in attrs) == (scheme == "https"), name


def test_state_changing_forms_refuse_missing_or_forged_csrf(engine: Engine, tmp_path: Path) -> None:
    make_user(engine, "hank")
    with serve_app(engine, tmp_path, rate_limits=False) as base:
        me = sign_in(base, "hank")
        with write_tx(engine) as conn:
            pk = accounts.account_by_name(conn, "hank").pk  # type: ignore[union-attr]
            accounts.create_token(conn, pk, "keep", "dp_keep_me")
        with read_tx(engine) as conn:
            (kept,) = accounts.tokens_of(conn, pk)
        stranger = httpx.Client(base_url=base)
        other_token = csrf(stranger)  # valid, but for the stranger's cookie
        forms = {
            "/signin": {"login": "hank", "password": PASSWORD},
            "/signup": {"username": "ivan", "email": "ivan@example.com", "password": PASSWORD},
            "/signout": {},
            "/settings/password": {"current": PASSWORD, "new": "another password"},
            "/settings/tokens": {"name": "sneaky"},
            f"/settings/tokens/{kept.pk}/revoke": {},
        }
        for path, data in forms.items():
            for forged in (None, "", secrets.token_hex(32), other_token):
                body = data if forged is None else {**data, "csrf_token": forged}
                r = me.post(path, data=body)
                assert r.status_code == 403, (path, forged, r.status_code)
                assert "did not come from this site" in r.text
            r = me.post(path, data=data, headers={"X-CSRF-Token": other_token})
            assert r.status_code == 403, path
        assert signed_in(me)
        assert signed_in(sign_in(base, "hank"))  # password unchanged
        with read_tx(engine) as conn:
            assert [t.name for t in accounts.tokens_of(conn, pk)] == ["keep"]
            assert accounts.account_by_name(conn, "ivan") is None


HOSTILE = [
    "' OR '1'='1",
    "admin'--",
    '"; DROP TABLE users; --',
    "%",
    "_",
    "\\",
    "x' UNION SELECT password_hash FROM users --",
    "ü'; --",
]


def test_sql_metacharacters_get_clean_answers_or_work_verbatim(engine: Engine, tmp_path: Path) -> None:
    make_user(engine, "judy")
    with serve_app(engine, tmp_path, rate_limits=False) as base, httpx.Client(base_url=base) as c:
        for value in HOSTILE:
            r = post(c, "/signin", {"login": value, "password": value})
            assert r.status_code == 400, (value, r.status_code)
            r = post(c, "/signup", {"username": value, "email": "x@example.com", "password": PASSWORD})
            assert r.status_code == 400, (value, r.status_code)
            r = post(c, "/signup", {"username": "okname", "email": f"{value}@example.com", "password": PASSWORD})
            assert r.status_code in (200, 400), (value, r.status_code)
            assert c.get(f"/users/{quote(value, safe='')}").status_code == 404, value
        # Quotes in an address and in a password are data, stored and compared verbatim.
        r = post(c, "/signup", {"username": "obrien", "email": "o'brien@example.com", "password": "p' OR '1'='1"})
        assert r.status_code == 200
        with read_tx(engine) as conn:
            account = accounts.account_by_email(conn, "o'brien@example.com")
        assert account is not None and account.name == "obrien"
        with write_tx(engine) as conn:
            accounts.activate(conn, account.pk)
        assert signed_in(sign_in(base, "o'brien@example.com", "p' OR '1'='1"))
        assert post(c, "/signin", {"login": "obrien", "password": "' OR '1'='1"}).status_code == 400


# Known bug, fix proposed to web/account_pages.py's owner: NUL characters pass the account forms; PostgreSQL
# refuses them (500) and SQLite stores them (sign-up with "a\x00b@example.com" succeeds).
def test_nul_characters_in_account_forms_get_400(engine: Engine, tmp_path: Path) -> None:
    with serve_app(engine, tmp_path, rate_limits=False) as base, httpx.Client(base_url=base) as c:
        for value in ("a\x00b", "\x00"):
            assert post(c, "/signin", {"login": value, "password": value}).status_code == 400
            assert post(c, "/signin", {"login": f"{value}@example.com", "password": PASSWORD}).status_code == 400
            r = post(c, "/signup", {"username": "okname", "email": f"{value}@example.com", "password": PASSWORD})
            assert r.status_code == 400
            assert c.get(f"/users/{quote(value, safe='')}").status_code == 404


def test_oversized_form_bodies_get_413(engine: Engine, tmp_path: Path) -> None:
    with serve_app(engine, tmp_path, rate_limits=False) as base, httpx.Client(base_url=base) as c:
        big = "a" * (2 << 20)
        for path in ("/signin", "/signup", "/settings/password", "/papers/2601.00001/comments"):
            assert c.post(path, data={"password": big, "csrf_token": csrf(c)}).status_code == 413, path


# Known bug, fix proposed to web/limits.py's owner: BodyLimit raises inside receive() and FastAPI's form
# parsing turns that into "400 There was an error parsing the body"; only a declared Content-Length gets 413.
def test_oversized_streamed_form_body_gets_413(engine: Engine, tmp_path: Path) -> None:
    with serve_app(engine, tmp_path, rate_limits=False) as base, httpx.Client(base_url=base) as c:
        token = csrf(c)

        def chunks():  # no Content-Length: the limit must hold while streaming too
            yield f"csrf_token={token}&login=x&password=".encode()
            for _ in range(2048):
                yield b"a" * 1024

        r = c.post("/signin", content=chunks(), headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert r.status_code == 413


def test_suspended_user_cannot_sign_in_and_their_token_stops(engine: Engine, tmp_path: Path) -> None:
    make_user(engine, "kim")
    with write_tx(engine) as conn:
        kim = accounts.account_by_name(conn, "kim")
        assert kim is not None
        accounts.create_token(conn, kim.pk, "script", "dp_kims_token")
    bearer = {"Authorization": "Bearer dp_kims_token"}
    with serve_app(engine, tmp_path, rate_limits=False) as base:
        session = sign_in(base, "kim")
        assert httpx.get(f"{base}/settings", headers=bearer).status_code == 200
        with write_tx(engine) as conn:
            accounts.set_suspended(conn, kim.pk, True)
        assert not signed_in(session)
        assert httpx.get(f"{base}/settings", headers=bearer).status_code == 401
        with httpx.Client(base_url=base) as c:
            r = post(c, "/signin", {"login": "kim", "password": PASSWORD})
            assert r.status_code == 400 and error_of(r) == "This account is suspended."
            assert "dp_session" not in c.cookies
            # A wrong password still gets the answer everyone gets.
            assert (
                error_of(post(c, "/signin", {"login": "kim", "password": "nope nope"})) == "Wrong username or password."
            )
        with write_tx(engine) as conn:
            accounts.set_suspended(conn, kim.pk, False)
        assert httpx.get(f"{base}/settings", headers=bearer).status_code == 200
        assert signed_in(sign_in(base, "kim"))
