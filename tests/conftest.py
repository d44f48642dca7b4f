"""Shared fixtures: every database test runs on SQLite and on a real PostgreSQL."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, create_engine, text

from dailypapers.store.db import make_engine, migrate
from tests.support.postgres import PostgresServer, start_postgres

FIXTURES = Path(__file__).parent / "fixtures"
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
_counter = itertools.count()


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """One PostgreSQL server per test process, with a migrated template database."""
    server = start_postgres()
    admin = create_engine(server.admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text("CREATE DATABASE dp_template"))
    template = make_engine(server.url("dp_template"))
    with template.begin() as conn:
        conn.execute(text("CREATE EXTENSION IF NOT EXISTS vector"))
    migrate(template)
    template.dispose()
    admin.dispose()
    yield server
    server.stop()


def new_database(backend: str, request: pytest.FixtureRequest, directory: Path) -> str:
    """The URL of a fresh, migrated database on `backend`."""
    if backend == "sqlite":
        url = f"sqlite:///{directory / f'test{next(_counter)}.db'}"
        eng = make_engine(url)
        migrate(eng)
        eng.dispose()
        return url
    server: PostgresServer = request.getfixturevalue("postgres")
    name = f"dp_{os.getpid()}_{next(_counter)}"
    admin = create_engine(server.admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name} TEMPLATE dp_template"))
    admin.dispose()
    return server.url(name)


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


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Where tests leave screenshots and other things a person may want to look at."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
