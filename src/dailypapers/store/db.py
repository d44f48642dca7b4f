"""Engines, transactions and migrations, for SQLite (embedded default) and PostgreSQL."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from pathlib import Path

import orjson
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DataError

from dailypapers.problems import BadRequest

MIGRATIONS = Path(__file__).with_name("migrations")


def _json_dumps(value: object) -> str:
    return orjson.dumps(value).decode()


def make_engine(url: str) -> Engine:
    """An engine for `url`. SQLite gets WAL, foreign keys and explicit BEGIN [IMMEDIATE] transactions."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True, json_serializer=_json_dumps)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url,
        connect_args={"check_same_thread": False, "timeout": 30},
        json_serializer=_json_dumps,
        json_deserializer=orjson.loads,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
        # Let us issue BEGIN ourselves: pysqlite's implicit BEGIN is DEFERRED and comes too late.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA cache_size=-65536")
        # Fewer, larger checkpoints: bulk imports write tens of MB per transaction.
        cur.execute("PRAGMA wal_autocheckpoint=16384")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # Writers take the lock up front so two writers never deadlock on a lock upgrade.
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("write") else "BEGIN")

    return engine


def alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    cfg.attributes["engine"] = engine
    return cfg


def pending_migrations(engine: Engine) -> list[str]:
    """Revisions not yet applied to the database, oldest first."""
    script = ScriptDirectory.from_config(alembic_config(engine))
    with engine.connect() as conn:
        current = set(MigrationContext.configure(conn).get_current_heads())
    pending = []
    for rev in script.walk_revisions():
        if rev.revision in current:
            break
        pending.append(rev.revision)
    return list(reversed(pending))


def migrate(engine: Engine) -> list[str]:
    """Apply pending migrations; returns the revisions applied."""
    pending = pending_migrations(engine)
    if pending:
        command.upgrade(alembic_config(engine), "head")
    return pending


# SQLite has one writer at a time. Threads of one process queue on this lock instead of polling in
# SQLite's busy handler (which sleeps in growing steps and made write latency spiky under load).
_sqlite_writers = threading.RLock()


@contextlib.contextmanager
def _refusing_bad_values() -> Iterator[None]:
    # A value the database refuses (a NUL character on PostgreSQL) came from whoever asked.
    try:
        yield
    except DataError as exc:
        raise BadRequest("Invalid characters in the request") from exc


@contextlib.contextmanager
def write_tx(engine: Engine) -> Iterator[Connection]:
    """A write transaction (BEGIN IMMEDIATE on SQLite); commits on success, rolls back on error.

    A value the database cannot store raises `problems.BadRequest`.
    """
    lock = _sqlite_writers if engine.dialect.name == "sqlite" else contextlib.nullcontext()
    with _refusing_bad_values(), lock, engine.connect() as conn:
        conn = conn.execution_options(write=True)
        with conn.begin():
            yield conn


@contextlib.contextmanager
def read_tx(engine: Engine) -> Iterator[Connection]:
    """A read transaction; a value the database cannot compare raises `problems.BadRequest`."""
    with _refusing_bad_values(), engine.connect() as conn, conn.begin():
        yield conn


def bump_data_version(conn: Connection) -> None:
    """Mark that what pages show has changed; page caches in every process notice."""
    conn.execute(text("UPDATE site_state SET value = value + 1 WHERE key = 'data_version'"))


def data_version(conn: Connection) -> int:
    return int(conn.execute(text("SELECT value FROM site_state WHERE key = 'data_version'")).scalar() or 0)
