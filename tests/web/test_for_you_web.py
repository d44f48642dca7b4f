"""/for-you and /api/for-you over HTTP on the demo site, both databases: anonymous visitors and new readers
see the trending papers and an invitation; a save makes the ranking personal with reasons; "not interested"
works as a form and through the API; bad parameters are 422s, never 500s."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterator

import httpx
import pytest
from lxml import html
from sqlalchemy import Engine, text

from dailypapers.accounts import membership
from dailypapers.store.accounts import Account
from dailypapers.store.db import read_tx, write_tx
from tests.support.accounts import make_user, post, sign_in

_names = itertools.count()


@pytest.fixture(scope="module")
def base(demo_server: str) -> Iterator[str]:
    yield demo_server


def newest_paper(engine: Engine, like: str) -> tuple[int, str]:
    with read_tx(engine) as conn:
        row = conn.execute(
            text("SELECT pk, id FROM papers WHERE title LIKE :t ORDER BY published IS NULL, published DESC, pk"),
            {"t": f"%{like}%"},
        ).first()
    assert row is not None
    return row.pk, row.id


def member(engine: Engine) -> Account:
    return make_user(engine, f"fy{next(_names)}")


def bearer(engine: Engine, account: Account) -> dict[str, str]:
    return {"Authorization": f"Bearer {membership.create_api_token(engine, account, 'test')}"}


def save(engine: Engine, account: Account, paper_pk: int) -> None:
    with write_tx(engine) as conn:
        conn.execute(
            text("INSERT INTO saves (user_pk, paper_pk, created_at) VALUES (:u, :p, :t)"),
            {"u": account.pk, "p": paper_pk, "t": dt.datetime.now(dt.UTC)},
        )


def test_anonymous_visitors_get_the_trending_papers_and_an_invitation(base: str) -> None:
    r = httpx.get(f"{base}/for-you")
    assert r.status_code == 200
    page = html.fromstring(r.text)
    assert "Your own ranking of the new papers" in r.text
    assert page.cssselect(".for-you-item .card"), "the community's papers are shown meanwhile"
    assert not page.cssselect("form.not-interested")
    assert httpx.get(f"{base}/api/for-you").status_code == 401


def test_a_reader_who_told_us_nothing_is_invited_to(base: str, demo_engine: Engine) -> None:
    account = member(demo_engine)
    client = sign_in(base, account.name)
    r = client.get("/for-you")
    assert r.status_code == 200 and "Tell us what you read" in r.text
    assert r.headers["cache-control"] == "private, no-store"
    body = httpx.get(f"{base}/api/for-you", headers=bearer(demo_engine, account)).json()
    assert body["personalized"] is False and body["papers"]
    assert {p["reason"] for p in body["papers"]} == {"Trending in the community"}


def test_a_save_makes_it_personal_with_reasons(base: str, demo_engine: Engine) -> None:
    account = member(demo_engine)
    pk, paper_id = newest_paper(demo_engine, "Distillation")
    save(demo_engine, account, pk)
    headers = bearer(demo_engine, account)
    body = httpx.get(f"{base}/api/for-you", params={"days": 30, "limit": 7}, headers=headers).json()
    assert body["personalized"] is True and body["signals"] == 1 and len(body["papers"]) == 7
    first = body["papers"][0]
    assert first["reasonKind"] == "signal" and first["reason"].endswith("which you saved")
    assert {"paper", "title", "publishedAt"} <= set(first), "each item is shaped like Hugging Face's daily papers"
    assert paper_id not in {p["paper"]["id"] for p in body["papers"]}
    client = sign_in(base, account.name)
    page = html.fromstring(client.get("/for-you", params={"days": 30}).text)
    reasons = [p.text_content() for p in page.cssselect(".for-you-item .why")]
    assert reasons and all("which you saved" in r for r in reasons)
    assert page.cssselect("nav.day-choices a[aria-current=page]")[0].text_content().strip() == "30 days"


def test_not_interested_as_a_form_and_through_the_api(base: str, demo_engine: Engine) -> None:
    account = member(demo_engine)
    save(demo_engine, account, newest_paper(demo_engine, "Attention")[0])
    headers = bearer(demo_engine, account)
    params = {"days": 30, "limit": 20}
    top = httpx.get(f"{base}/api/for-you", params=params, headers=headers).json()["papers"][0]["paper"]["id"]
    client = sign_in(base, account.name)
    r = post(client, f"/papers/{top}/not-interested", {"on": "1", "back": "/for-you?days=30"})
    assert r.status_code == 303 and r.headers["location"] == "/for-you?days=30"
    ids = [p["paper"]["id"] for p in httpx.get(f"{base}/api/for-you", params=params, headers=headers).json()["papers"]]
    assert top not in ids
    r = httpx.delete(f"{base}/api/papers/{top}/not-interested", headers=headers)
    assert r.status_code == 200 and r.json() == {"paper_id": top, "not_interested": False}
    ids = [p["paper"]["id"] for p in httpx.get(f"{base}/api/for-you", params=params, headers=headers).json()["papers"]]
    assert top in ids
    assert httpx.post(f"{base}/api/papers/2999.99999/not-interested", headers=headers).status_code == 404
    assert httpx.post(f"{base}/api/papers/{top}/not-interested").status_code == 401
    # Without the CSRF token, the form is refused.
    assert client.post(f"/papers/{top}/not-interested", data={"on": "1"}).status_code == 403


@pytest.mark.parametrize(
    "params",
    [{"days": 0}, {"days": 31}, {"days": "x"}, {"limit": 0}, {"limit": 101}, {"days": "9" * 40}, {"limit": "-1"}],
)
def test_bad_parameters_are_422(base: str, demo_engine: Engine, params: dict[str, object]) -> None:
    headers = bearer(demo_engine, member(demo_engine))
    r = httpx.get(f"{base}/api/for-you", params=params, headers=headers)
    assert r.status_code == 422, r.text
    if "days" in params:  # the page reads only `days`
        assert httpx.get(f"{base}/for-you", params=params).status_code in (400, 422)
