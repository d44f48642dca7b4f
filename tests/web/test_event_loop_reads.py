"""No database statement on the event loop: the loop answers every cached page of its process, and a read
there (one per API vote, once) held them all up. API writes, the account and digest forms (sign-up, sign-in,
password reset and change, subscriptions) and the pages themselves, on both databases. A bad token is still
refused."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, event
from starlette.testclient import TestClient

from dailypapers.accounts import membership
from dailypapers.config import Settings
from dailypapers.ingest.demo import load_demo
from dailypapers.web.app import create_app
from dailypapers.web.auth import SESSION_COOKIE
from tests.support.accounts import make_user


def _on_a_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


@pytest.fixture
def client_and_statements(engine: Engine, tmp_path: Path) -> Iterator[tuple[TestClient, list[tuple[bool, str]]]]:
    load_demo(engine)
    settings = Settings(
        data_dir=tmp_path, database_url=engine.url.render_as_string(hide_password=False), rate_limits=False
    )
    seen: list[tuple[bool, str]] = []

    def record(conn, cursor, statement, parameters, context, executemany) -> None:  # type: ignore[no-untyped-def]
        seen.append((_on_a_loop(), statement))

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield TestClient(create_app(settings, engine, background=False)), seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def test_an_api_vote_reads_nothing_on_the_event_loop(engine: Engine, client_and_statements) -> None:  # type: ignore[no-untyped-def]
    client, seen = client_and_statements
    account = make_user(engine, "ada")
    headers = {"Authorization": f"Bearer {membership.create_api_token(engine, account, 'test')}"}
    paper_id = client.get("/api/daily_papers?limit=1").json()[0]["paper"]["id"]
    seen.clear()
    r = client.post(f"/api/papers/{paper_id}/upvote", headers=headers)
    assert r.status_code == 200 and r.json()["upvoted"] is True
    assert client.delete(f"/api/papers/{paper_id}/upvote", headers=headers).json()["upvoted"] is False
    assert client.post(f"/api/papers/{paper_id}/save", headers=headers).status_code == 200
    # An async handler (it reads the body on the loop) asks who the reader is in the thread pool too.
    bibtex = {**headers, "Content-Type": "application/x-bibtex"}
    entry = b"@article{a, title={On the Loop}, author={Lovelace, Ada}, year={2024}}"
    assert client.post("/api/library/import", content=entry, headers=bibtex).status_code == 200
    assert seen, "the listener saw the votes' statements"
    on_loop = [statement for loop, statement in seen if loop]
    assert on_loop == [], on_loop


@pytest.mark.parametrize("cookie", [False, True])
def test_a_bad_token_is_still_refused(client_and_statements, cookie: bool) -> None:  # type: ignore[no-untyped-def]
    client, _ = client_and_statements
    paper_id = client.get("/api/daily_papers?limit=1").json()[0]["paper"]["id"]
    if cookie:  # beside a session cookie the token is checked before the form's CSRF check
        client.cookies.set(SESSION_COOKIE, "not-a-session")
    for method in ("POST", "DELETE"):
        r = client.request(method, f"/api/papers/{paper_id}/upvote", headers={"Authorization": "Bearer nope"})
        assert r.status_code == 401, r.text
    assert client.get(f"/api/papers/{paper_id}").json()["upvotes"] >= 0


def _outbox_links(settings: Settings, path: str) -> list[str]:
    from email import message_from_bytes, policy

    found = []
    for eml in sorted((settings.data_dir / "outbox").glob("*.eml")):
        body = message_from_bytes(eml.read_bytes(), policy=policy.default).get_body(("plain",))
        found += [w for w in body.get_content().split() if path in w]  # type: ignore[union-attr]
    return found


def test_account_and_digest_forms_read_nothing_on_the_event_loop(engine: Engine, client_and_statements) -> None:  # type: ignore[no-untyped-def]
    """Sign-up, sign-in (right and wrong), a reset link asked for and used, a password change and digest
    subscriptions (form and API): their async handlers hash passwords and send mail off the loop, and each
    of their reads and writes runs in a thread too. The mail goes to the outbox, after the answer."""
    from tests.support.accounts import PASSWORD, error_of, post

    client, seen = client_and_statements
    settings = client.app.state.site.settings  # type: ignore[attr-defined]
    make_user(engine, "ada")
    seen.clear()
    r = post(client, "/signup", {"username": "bea", "email": "bea@example.com", "password": PASSWORD})
    assert r.status_code == 200 and "Check your inbox" in r.text
    r = post(client, "/signin", {"login": "ada", "password": "wrong password"})
    assert r.status_code == 400 and error_of(r) == "Wrong username or password."
    assert post(client, "/password/forgot", {"login": "ada"}).status_code == 200
    assert post(client, "/activate/resend", {"login": "bea"}).status_code == 200
    (link,) = _outbox_links(settings, "/password/reset?token=")
    token = link.split("token=", 1)[1]
    r = post(client, "/password/reset", {"token": token, "password": "a new password"})
    assert r.status_code == 200 and "Password changed" in r.text
    r = post(client, "/password/reset", {"token": token, "password": "another password"})
    assert r.status_code == 400  # a link works once
    r = post(client, "/signin", {"login": "ada", "password": "a new password"})
    assert [h.status_code for h in r.history] == [303] and client.cookies.get(SESSION_COOKIE)  # followed
    r = post(client, "/settings/password", {"current": "a new password", "new": "a third password"})
    assert r.status_code == 200 and "Password changed" in r.text
    r = post(client, "/settings/password", {"current": "wrong", "new": "a fourth password"})
    assert r.status_code == 400
    r = post(client, "/subscribe", {"email": "reader@example.com", "frequency": "weekly"})
    assert r.status_code == 200 and "confirmation link" in r.text
    r = client.post("/api/subscriptions", json={"email": "api@example.com", "frequency": "daily"})
    assert r.status_code == 202
    assert len(_outbox_links(settings, "/activate?token=")) == 2  # bea's sign-up and her resend
    assert len(_outbox_links(settings, "/subscribe/confirm?token=")) == 2
    on_loop = [statement for loop, statement in seen if loop]
    assert on_loop == [], on_loop


PAGES = [
    "/",
    "/?p=1",
    "/trending",
    "/for-you",
    "/search?q=language+models",
    "/api/papers/search?q=language+models",
    "/api/daily_papers?limit=5",
    "/feed.atom",
    "/admin/curation",
    "/subscribe",
    "/settings",
    "/signin",
]


def test_pages_read_nothing_on_the_event_loop(engine: Engine, client_and_statements) -> None:  # type: ignore[no-untyped-def]
    """The async page handlers (cached pages, search, the API, feeds) render and read in threads, for a
    signed-in reader too."""
    from tests.support.accounts import post

    client, seen = client_and_statements
    make_user(engine, "ada", role="curator")
    assert post(client, "/signin", {"login": "ada", "password": "correct horse battery"}).history
    paper_id = client.get("/api/daily_papers?limit=1").json()[0]["paper"]["id"]
    author = client.get(f"/api/papers/{paper_id}").json()["authors"][0]["name"]
    seen.clear()
    paths = [*PAGES, f"/papers/{paper_id}", f"/api/papers/{paper_id}", f"/api/papers/{paper_id}/comments"]
    paths += [f"/api/papers/{paper_id}/similar", f"/authors/{author}"]
    for path in paths:
        r = client.get(path)
        assert r.status_code == 200, (path, r.status_code)
    on_loop = [statement for loop, statement in seen if loop]
    assert on_loop == [], on_loop
