"""Values at the edges of their types: ids past 64 bits and deeply nested JSON are clear 4xx answers, never 500."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine

from dailypapers.accounts.passwords import hash_password
from dailypapers.ingest.importer import ImportReport, ingest_items
from dailypapers.sources.record import Listing, PaperRecord
from dailypapers.store import accounts
from dailypapers.store.db import write_tx
from dailypapers.web.limits import MAX_JSON_DEPTH, MAX_QUERY_BYTES, json_depth
from tests.support.server import serve_app
from tests.support.visitor import Visitor

PAPER = "2603.00001"
TOO_BIG = 2**63  # one past the largest BIGINT


@pytest.fixture
def site(engine: Engine, tmp_path: Path) -> Iterator[str]:
    record = PaperRecord(
        id=PAPER, source="test", title="Edges", listing=Listing(day=dt.date(2026, 3, 2), source="test")
    )
    ingest_items(engine, [record], ImportReport())
    with serve_app(engine, tmp_path, rate_limits=False) as base:
        yield base


@pytest.fixture
def user(engine: Engine) -> int:
    with write_tx(engine) as conn:
        return accounts.create_user(
            conn, "edgy", "edgy@example.org", hash_password("correct horse battery"), role="curator", active=True
        ).pk


@pytest.fixture
def auth(engine: Engine, user: int) -> dict[str, str]:
    token = secrets.token_urlsafe(32)
    with write_tx(engine) as conn:
        accounts.create_token(conn, user, "script", token)
    return {"Authorization": f"Bearer {token}"}


def test_ids_past_64_bits_are_refused_by_name(engine: Engine, site: str, user: int, auth: dict[str, str]) -> None:
    url = f"{site}/api/papers/{PAPER}/comments"
    r = httpx.post(url, json={"comment": "hi", "parent": TOO_BIG}, headers=auth)
    assert r.status_code == 422 and "parent" in r.text, r.text
    assert httpx.post(url, json={"comment": "hi", "parent": -1}, headers=auth).status_code == 422
    made = httpx.post(url, json={"comment": "hi", "parent": None}, headers=auth)
    assert made.status_code == 201, made.text
    session = secrets.token_urlsafe(32)
    with write_tx(engine) as conn:
        accounts.create_session(conn, user, session, dt.timedelta(days=1))
    curator = Visitor(site, session)
    curator.page(f"/papers/{PAPER}")
    for path in (f"/comments/{TOO_BIG}/edit", f"/comments/{TOO_BIG}/delete", f"/comments/{TOO_BIG}/hide"):
        r = curator.post(path, body="x")
        assert r.status_code == 400 and "pk" in r.text, (path, r.status_code, r.text)  # forms answer 400
        assert curator.post(path.replace(str(TOO_BIG), "0"), body="x").status_code == 400
    r = curator.post(f"/papers/{PAPER}/comments", body="x", parent=TOO_BIG)
    assert r.status_code == 400 and "parent" in r.text


@pytest.mark.parametrize("path", ["/api/subscriptions", f"/api/papers/{PAPER}/comments", "/api/papers/search"])
def test_deeply_nested_json_is_refused_before_parsing(site: str, auth: dict[str, str], path: str) -> None:
    deep = "[" * 100_000 + "]" * 100_000
    r = httpx.post(site + path, content=deep, headers={**auth, "Content-Type": "application/json"})
    assert r.status_code == 400, r.text
    assert r.json() == {"error": f"JSON body nested deeper than {MAX_JSON_DEPTH} levels"}
    # As deep as allowed still reaches the handler, which answers about the content instead.
    ok = "[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH
    r = httpx.post(site + path, content=ok, headers={**auth, "Content-Type": "application/json"})
    assert r.status_code not in (400, 500) or "nested" not in r.text


@pytest.mark.parametrize(
    ("text", "depth"),
    [
        (b"", 0),
        (b"1", 0),
        (b'{"a": [1, {"b": []}]}', 4),
        (b'{"a": "[[[[[[", "b": "\\"[[["}', 1),  # brackets inside strings, escaped quotes
        (b"]]]]", 0),
        (b"[" * 40, 40),
    ],
)
def test_json_depth(text: bytes, depth: int) -> None:
    assert json_depth(text) == depth


def test_a_query_string_past_its_limit_is_414_before_parsing(site: str) -> None:
    long = "&".join(f"p{i}=x" for i in range(3000))
    r = httpx.get(f"{site}/api/daily_papers?{long}")
    assert r.status_code == 414 and r.json() == {"error": f"Query string longer than {MAX_QUERY_BYTES} bytes"}
    assert httpx.get(f"{site}/search", params={"q": "é" * 500}).status_code == 200  # the longest search fits
