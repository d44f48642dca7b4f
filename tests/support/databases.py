"""Fresh, migrated databases for tests: a file per database on SQLite, a copy of a migrated template on
PostgreSQL (the session's `postgres` fixture makes the template)."""

from __future__ import annotations

import itertools
import os
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from dailypapers.store.db import make_engine, migrate
from tests.support.postgres import PostgresServer

TEMPLATE = "dp_template"  # the migrated database every PostgreSQL test database is copied from
_counter = itertools.count()


def make_template(server: PostgresServer) -> None:
    """Create the migrated template database (with pgvector) on `server`."""
    admin = create_engine(server.admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {TEMPLATE}"))
    template = make_engine(server.url(TEMPLATE))
    with template.begin() as conn:
        conn.execute(text("CREATE EXTENSION IF NOT EXISTS vector"))
    migrate(template)
    template.dispose()
    admin.dispose()


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
        conn.execute(text(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE}"))
    admin.dispose()
    return server.url(name)
