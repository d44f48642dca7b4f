"""Shared fixtures: every database test runs on SQLite and on a real PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine

from dailypapers.store.db import make_engine
from tests.support.databases import make_template, new_database
from tests.support.postgres import PostgresServer, start_postgres
from tests.support.replay import ReplayServer


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """One PostgreSQL server per test process, with a migrated template database."""
    server = start_postgres()
    make_template(server)
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, migrated database on each backend."""
    return new_database(request.param, request, tmp_path)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def demo_engine(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """A database with the bundled demo data, shared by a module's read-only tests."""
    from dailypapers.ingest.demo import load_demo

    eng = make_engine(new_database(request.param, request, tmp_path_factory.mktemp("demo")))
    load_demo(eng)
    yield eng
    eng.dispose()


@pytest.fixture(scope="module")
def demo_server(demo_engine: Engine) -> Iterator[str]:
    """The site on the demo database, served by uvicorn on a free loopback port."""
    from tests.support.server import serve_app

    with serve_app(demo_engine) as base_url:
        # The first search by meaning loads the embedding model (seconds on this CPU): wait for it here.
        httpx.get(f"{base_url}/api/papers/search", params={"q": "warm up", "mode": "semantic"}, timeout=300)
        yield base_url


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def pg(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A fresh, migrated PostgreSQL database, for what only PostgreSQL does (a queue shared by processes)."""
    eng = make_engine(new_database("postgresql", request, tmp_path))
    yield eng
    eng.dispose()


@pytest.fixture
def server() -> Iterator[ReplayServer]:
    """A replay server standing in for arXiv (the harvest tests in ingest/ and `dailypapers fetch` in cli/)."""
    with ReplayServer() as srv:
        yield srv


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Where tests leave screenshots and other things a person may want to look at."""
    path = Path(__file__).resolve().parent.parent / "test-artifacts"
    path.mkdir(exist_ok=True)
    return path
