"""Backups of SQLite (docs/backups.md): a snapshot through SQLite's online backup API, which copies one read
transaction's view of the database while the site keeps writing (WAL); a restore that checks and migrates
a temporary copy before copying it into the configured file, again through the backup API, in one write
transaction (or by renaming it into place where there is no database yet).
"""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path
from typing import Any

from dailypapers.files import fsync_dir
from dailypapers.store.backup import BackupError, DatabaseState
from dailypapers.store.db import make_engine, migrate

LOCK_TIMEOUT = 60.0  # seconds a restore waits for a running site's write lock before giving up
_BUSY = (5, 6)  # SQLITE_BUSY, SQLITE_LOCKED


def _copy(source: sqlite3.Connection, target: sqlite3.Connection, timeout: float) -> None:
    """`source.backup(target)` in one step. sqlite3 retries a busy database for ever: give up after
    `timeout` seconds of it (TimeoutError)."""
    deadline = time.monotonic() + timeout

    def progress(status: int, remaining: int, total: int) -> None:
        if status in _BUSY and time.monotonic() > deadline:
            raise TimeoutError(f"the database stayed locked for {timeout:.0f} s")

    source.backup(target, progress=progress, sleep=0.05)


def _state(conn: sqlite3.Connection) -> DatabaseState:
    def one(sql: str, *args: str) -> Any:
        try:
            row = conn.execute(sql, args).fetchone()
        except sqlite3.OperationalError:  # no such table: a database never migrated
            return None
        return row[0] if row else None

    site = "SELECT value FROM site_state WHERE key = ?"
    return DatabaseState(
        one("SELECT version_num FROM alembic_version"),
        int(one(site, "embedding_seq") or 0),
        int(one(site, "embedding_store_id") or 0),
    )


def snapshot_sqlite(source: Path, destination: Path) -> DatabaseState:
    """Copy `source` into the new file `destination` as one read transaction sees it (the online backup
    API in a single step: writers carry on meanwhile, in WAL mode). The copy is left in rollback-journal
    mode: one self-contained file."""
    if not source.is_file():
        raise BackupError(f"no SQLite database at {source}")
    try:
        src = sqlite3.connect(source, timeout=30)
        try:
            dst = sqlite3.connect(destination)
            try:
                _copy(src, dst, LOCK_TIMEOUT)
                dst.execute("PRAGMA journal_mode=DELETE")
                return _state(dst)
            finally:
                dst.close()
        finally:
            src.close()
    except (sqlite3.Error, TimeoutError) as exc:
        raise BackupError(f"cannot copy the SQLite database {source}: {exc}") from None


def check_sqlite(path: Path) -> DatabaseState:
    """The restored copy's state, after SQLite's quick_check of its pages and indexes."""
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            problems = [r[0] for r in conn.execute("PRAGMA quick_check")]
            if problems != ["ok"]:
                raise BackupError(f"the database in the backup is damaged: {'; '.join(problems[:3])}")
            return _state(conn)
        finally:
            conn.close()
    except sqlite3.Error as exc:
        raise BackupError(f"the database in the backup cannot be read: {exc}") from None


def migrate_sqlite(path: Path) -> list[str]:
    """Apply this version's pending migrations to the database copy at `path` (left self-contained)."""
    engine = make_engine(f"sqlite:///{path}")
    try:
        applied = migrate(engine)
    finally:
        engine.dispose()
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.execute("PRAGMA journal_mode=DELETE")
    finally:
        conn.close()
    return applied


def install_sqlite(source: Path, target: Path) -> None:
    """Make `target` hold what `source` holds. A new target is `source` renamed; an existing one gets
    `source`'s pages through the backup API in one write transaction (so it is never half-written, and its
    WAL and shared-memory files stay SQLite's business). `source` is removed."""
    if not target.exists():
        for suffix in ("-wal", "-shm", "-journal"):
            Path(f"{target}{suffix}").unlink(missing_ok=True)
        os.replace(source, target)
        fsync_dir(target.parent)
        return
    try:
        src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        try:
            dst = sqlite3.connect(target, timeout=LOCK_TIMEOUT)
            try:
                _copy(src, dst, LOCK_TIMEOUT)
                dst.execute("PRAGMA journal_mode=WAL")
                dst.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            finally:
                dst.close()
        finally:
            src.close()
    except (sqlite3.Error, TimeoutError) as exc:
        hint = " (is the site still running? stop it first)" if "locked" in str(exc) else ""
        raise BackupError(f"cannot write the restored database into {target} ({exc}){hint}; it is unchanged") from None
    source.unlink(missing_ok=True)
