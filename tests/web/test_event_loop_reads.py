"""No database read on the event loop for an API client's writes: the loop answers every cached page of its
process, and a read there (one per vote, once) held them all up. The token is still refused when bad. Both
databases."""

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
