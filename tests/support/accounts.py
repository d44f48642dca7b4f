"""Accounts over HTTP, as the account, moderation and digest tests use them: users made in the store,
form posts with a valid CSRF token, signing in, the error a form shows."""

from __future__ import annotations

import re

import httpx
from sqlalchemy import Engine

from dailypapers.accounts.passwords import hash_password
from dailypapers.store import accounts
from dailypapers.store.accounts import Account
from dailypapers.store.db import write_tx

PASSWORD = "correct horse battery"
CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')
ERROR = re.compile(r'<p class="error" role="alert">([^<]*)</p>')


def make_user(
    engine: Engine, name: str, *, role: str = "user", password: str = PASSWORD, active: bool = True
) -> Account:
    with write_tx(engine) as conn:
        return accounts.create_user(
            conn, name, f"{name}@example.com", hash_password(password), active=active, role=role
        )


def csrf(client: httpx.Client) -> str:
    """The CSRF token for this client's cookie (the sign-in form always carries one)."""
    match = CSRF_FIELD.search(client.get("/signin").text)
    assert match, "no CSRF field on /signin"
    return match.group(1)


def post(client: httpx.Client, path: str, data: dict[str, str] | None = None) -> httpx.Response:
    """A form post with a valid CSRF token."""
    return client.post(path, data={**(data or {}), "csrf_token": csrf(client)})


def sign_in(base: str, login: str, password: str = PASSWORD, **client_args: object) -> httpx.Client:
    client = httpx.Client(base_url=base, **client_args)  # type: ignore[arg-type]
    r = post(client, "/signin", {"login": login, "password": password})
    assert r.status_code == 303, (r.status_code, error_of(r))
    return client


def error_of(r: httpx.Response) -> str | None:
    match = ERROR.search(r.text)
    return match.group(1) if match else None


def signed_in(client: httpx.Client) -> bool:
    r = client.get("/settings")
    assert r.status_code in (200, 303)
    return r.status_code == 200
