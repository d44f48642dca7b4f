"""Admins preview the digest of a period; others cannot."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
from sqlalchemy import Engine

from dailypapers.accounts.passwords import hash_password
from dailypapers.store import accounts
from dailypapers.store.db import write_tx
from tests.support.digest import DAY, add_papers
from tests.support.server import serve_app


def _signed_in(base: str, name: str) -> httpx.Client:
    client = httpx.Client(base_url=base)
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/signin").text)[1]  # type: ignore[index]
    r = client.post("/signin", data={"csrf_token": token, "login": name, "password": "password123"})
    assert r.status_code == 303
    return client


def test_preview_for_admins_only(engine: Engine, tmp_path: Path) -> None:
    add_papers(engine, DAY, ("2601.00001", "Sparse <b>retrieval</b>", "cs.IR", 5))
    with write_tx(engine) as conn:
        accounts.create_user(conn, "root", "root@example.org", hash_password("password123"), role="admin", active=True)
        accounts.create_user(conn, "joe", "joe@example.org", hash_password("password123"), active=True)
    with serve_app(engine, tmp_path, rate_limits=False) as base:
        assert httpx.get(f"{base}/digest/preview").status_code == 303  # to sign-in
        assert _signed_in(base, "joe").get("/digest/preview").status_code == 403
        admin = _signed_in(base, "root")
        page = admin.get(f"/digest/preview?period={DAY.isoformat()}")
        assert page.status_code == 200 and "Sparse &lt;b&gt;retrieval&lt;/b&gt;" in page.text
        assert "'unsafe-inline'" in page.headers["content-security-policy"]
        assert "script-src" not in page.headers["content-security-policy"]
        text = admin.get(f"/digest/preview?period={DAY.isoformat()}&format=text")
        assert "Sparse <b>retrieval</b>" in text.text and "/papers/2601.00001" in text.text
        assert "no digest would be sent" in admin.get("/digest/preview?period=2020-01-01").text
        assert admin.get("/digest/preview?frequency=weekly&period=2026-W99").status_code == 400
