"""The server as `dailypapers serve` runs it: with every background job of the embedded mode started."""

from __future__ import annotations

import threading
from pathlib import Path

import httpx
from sqlalchemy import Engine

from tests.support.server import serve_app

JOBS = {"fts", "search-warm-up", "dailypapers-harvest", "embed", "digests"}


def test_the_server_starts_and_stops_its_background_jobs(engine: Engine, tmp_path: Path) -> None:
    before = {t.name for t in threading.enumerate()}
    settings = {
        "fetch_categories": ("cs.CL",),
        "arxiv_rss_url": "http://127.0.0.1:9/rss",  # nothing listens: a harvest due now fails fast, logged
        "request_timeout": 1.0,
        "max_retries": 0,
    }
    with serve_app(engine, tmp_path, background=True, **settings) as base:
        running = {t.name for t in threading.enumerate()}
        assert httpx.get(f"{base}/").status_code == 200
    assert JOBS - {"search-warm-up"} <= running - before  # the warm-up may be done already
    left = {t.name for t in threading.enumerate() if t.is_alive()} & (JOBS - before)
    assert left <= {"fts", "search-warm-up"}  # daemon loops that end with the process
