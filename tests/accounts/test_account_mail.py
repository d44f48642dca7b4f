"""Account mail never holds up an answer, on SQLite and PostgreSQL: sign-up succeeds with the mail server down,
the `account-mail` job delivers once it is back (or, without a job engine, the link is asked for again), an
activation link works once, and signing up again for an account never activated mails a link to choose its
password (so whoever started it with someone else's address does not keep the password)."""

from __future__ import annotations

import re
from email.message import EmailMessage
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine

from dailypapers.jobs.engine import JobSystem
from dailypapers.store import accounts
from dailypapers.store import jobs as job_log
from dailypapers.store.db import read_tx
from tests.support.accounts import PASSWORD, error_of, make_user, post, sign_in, signed_in
from tests.support.jobs import wait_for
from tests.support.postgres import free_port
from tests.support.server import running_sites, serve_app
from tests.support.smtp import Recorder, smtp_server


def link_in(msg: EmailMessage, path: str) -> str:
    """The path and query of the link to `path` in a mail."""
    body = msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    match = re.search(rf"http://[^/\s]+({re.escape(path)}\?\S+)", body)
    assert match, body
    return match.group(1)


def mail_to(smtp: Recorder, address: str, count: int = 1) -> list[EmailMessage]:
    wait_for(lambda: len(smtp.to(address)) >= count, timeout=30, what=f"{count} mails to {address}")
    return smtp.to(address)


def failed_runs(engine: Engine) -> list[job_log.JobRunInfo]:
    with read_tx(engine) as conn:
        return job_log.runs(conn, name="account-mail", status="failed")


def is_active(engine: Engine, name: str) -> bool | None:
    with read_tx(engine) as conn:
        account = accounts.account_by_name(conn, name)
    return None if account is None else account.active


def test_sign_up_answers_with_the_mail_server_down_and_the_job_mails_the_link_once_it_is_back(
    engine: Engine, tmp_path: Path
) -> None:
    port = free_port()  # nothing listens there yet
    settings = {"smtp_url": f"smtp://127.0.0.1:{port}", "job_retry_seconds": 0.5, "rate_limits": False}
    with serve_app(engine, tmp_path, **settings) as base, httpx.Client(base_url=base) as c:
        site = running_sites[base]
        site.jobs = JobSystem(site.settings, engine, worker=True, periodic=False).start()
        try:
            r = post(c, "/signup", {"username": "ada", "email": "ada@example.org", "password": PASSWORD})
            assert r.status_code == 200 and "Check your inbox" in r.text and "on its way" in r.text
            assert is_active(engine, "ada") is False
            wait_for(lambda: bool(failed_runs(engine)), what="a failed try")
            failed = failed_runs(engine)[0]
            assert "token" not in failed.args and "ada@example.org" not in failed.args  # no secret on the jobs page
            with smtp_server(port=port) as (_, smtp):  # the server is back: a retry sends the link
                (mail,) = mail_to(smtp, "ada@example.org")
                assert mail["Subject"] == "Activate your Daily Papers account"
                assert c.get(link_in(mail, "/activate")).status_code == 303 and signed_in(c)
        finally:
            site.jobs.stop()
            site.jobs = None
    assert is_active(engine, "ada") is True


def test_without_a_job_engine_a_lost_link_is_asked_for_again_and_works_once(engine: Engine, tmp_path: Path) -> None:
    port = free_port()
    with serve_app(engine, tmp_path, smtp_url=f"smtp://127.0.0.1:{port}", rate_limits=False) as base:
        c = httpx.Client(base_url=base)
        r = post(c, "/signup", {"username": "bea", "email": "bea@example.org", "password": PASSWORD})
        assert r.status_code == 200 and 'href="/activate/resend"' in r.text
        r = post(c, "/signin", {"login": "bea", "password": PASSWORD})
        assert r.status_code == 400 and "/activate/resend" in (error_of(r) or "")
        with smtp_server(port=port) as (_, smtp):
            assert 'action="/activate/resend"' in c.get("/activate/resend").text
            r = post(c, "/activate/resend", {"login": "Bea@Example.org"})
            assert r.status_code == 200 and "Check your inbox" in r.text
            (mail,) = mail_to(smtp, "bea@example.org")
            link = link_in(mail, "/activate")
            with httpx.Client(base_url=base) as other:
                assert other.get(link).status_code == 303 and signed_in(other)
                again = other.get(link)  # once: the link signs in, so it must not work for whoever finds it later
                assert again.status_code == 400 and "used already" in again.text
            # Asked again for an active account: a note that says so, and no link.
            post(c, "/activate/resend", {"login": "bea"})
            note = mail_to(smtp, "bea@example.org", 2)[1]
            assert note["Subject"] == "You already have a Daily Papers account"
            assert "token=" not in note.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert is_active(engine, "bea") is True


def test_signing_up_again_for_an_account_never_activated_mails_a_link_to_choose_its_password(
    engine: Engine, tmp_path: Path
) -> None:
    make_user(engine, "squatter", active=False)  # someone started an account with this address
    with smtp_server() as (url, smtp), serve_app(engine, tmp_path, smtp_url=url, rate_limits=False) as base:
        c = httpx.Client(base_url=base)
        r = post(c, "/signup", {"username": "owner", "email": "squatter@example.com", "password": "owners password"})
        assert r.status_code == 200 and "Check your inbox" in r.text
        (mail,) = mail_to(smtp, "squatter@example.com")
        assert mail["Subject"] == "Finish signing up to Daily Papers" and "/activate?" not in str(mail)
        form = c.get(link_in(mail, "/password/reset"))
        assert form.status_code == 200 and "squatter" in form.text
        token = re.search(r'name="token" value="([^"]+)"', form.text).group(1)  # type: ignore[union-attr]
        r = post(c, "/password/reset", {"token": token, "password": "owners password"})
        assert r.status_code == 200 and "Password changed" in r.text
        assert is_active(engine, "squatter") is True
        assert signed_in(sign_in(base, "squatter", "owners password"))
        with httpx.Client(base_url=base) as squatter:  # the password it was started with is gone
            assert post(squatter, "/signin", {"login": "squatter", "password": PASSWORD}).status_code == 400


HOSTILE_ADDRESSES = ["x<postmaster>@example.org", "a@example.org\r\nBcc: b@example.org", "a,b@example.org"]


def test_addresses_that_would_mail_someone_else_are_refused_wherever_they_enter(engine: Engine, tmp_path: Path) -> None:
    from dailypapers.accounts.membership import create_member
    from dailypapers.problems import BadRequest

    with smtp_server() as (url, smtp), serve_app(engine, tmp_path, smtp_url=url, rate_limits=False) as base:
        c = httpx.Client(base_url=base)
        for address in HOSTILE_ADDRESSES:
            r = post(c, "/signup", {"username": "okname", "email": address, "password": PASSWORD})
            assert r.status_code == 400 and "email address" in (error_of(r) or ""), address
            r = c.post("/api/subscriptions", json={"email": address, "frequency": "daily"})
            assert r.status_code == 400 and "email address" in r.json()["error"], address
            r = post(c, "/subscribe", {"email": address, "frequency": "daily"})
            assert r.status_code == 400, address
            with pytest.raises(BadRequest, match="email address"):
                create_member(engine, "cliname", address, "user", None, with_token=True)
        assert is_active(engine, "okname") is None and is_active(engine, "cliname") is None
    assert smtp.messages == []
