"""Backups of PostgreSQL (docs/backups.md): `pg_dump --format=custom` out, `pg_restore` back in.

The restore is one transaction: `pg_restore --clean --if-exists --no-owner --no-privileges` writes the
dump as SQL, and psql runs it with `--single-transaction` and ON_ERROR_STOP, after a prologue that makes
sure the dump's extensions exist (pgvector) and drops what the database's schema holds besides them (the
tables of a newer version's migrations would otherwise survive `--clean`, and stop migrating forward).
Any error rolls all of it back. The extensions themselves are left out of the dump's list: dropping one
needs its owner, and the tables' columns need pgvector throughout.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from dailypapers.store import vectors
from dailypapers.store.backup import BackupError, DatabaseState, revision_of
from dailypapers.store.db import make_engine, read_tx

TOOLS = ("pg_dump", "pg_restore", "psql")
_EXTENSION = re.compile(r"^\d+; \d+ \d+ (?:COMMENT - )?EXTENSION (?:- )?(\S+)")
_ERROR_LINES = 6
LOCK_TIMEOUT = "60s"

# Everything the current schema holds that is no extension's: tables and views (with their indexes,
# triggers, owned sequences), lone sequences, routines, types. Names are gathered before anything is
# dropped; CASCADE may take some with an earlier one, hence IF EXISTS.
_DROP_ALL = r"""
DO $dailypapers$
DECLARE
  ns oid := (SELECT oid FROM pg_namespace WHERE nspname = current_schema());
  stmts text[];
  stmt text;
BEGIN
  SELECT coalesce((SELECT array_agg(format('DROP %s IF EXISTS %I.%I CASCADE',
            CASE c.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW'
                           WHEN 'f' THEN 'FOREIGN TABLE' WHEN 'S' THEN 'SEQUENCE' ELSE 'TABLE' END,
            current_schema(), c.relname) ORDER BY c.relkind = 'S', c.relname)
          FROM pg_class c
          WHERE c.relnamespace = ns AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
            AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                            AND d.objid = c.oid AND d.deptype IN ('e', 'a', 'i'))), '{}')
      || coalesce((SELECT array_agg(format('DROP ROUTINE IF EXISTS %I.%I(%s) CASCADE', current_schema(),
                     p.proname, pg_get_function_identity_arguments(p.oid)))
          FROM pg_proc p
          WHERE p.pronamespace = ns AND p.prokind IN ('f', 'p', 'w')
            AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass
                            AND d.objid = p.oid AND d.deptype = 'e')), '{}')
      || coalesce((SELECT array_agg(format('DROP TYPE IF EXISTS %I.%I CASCADE', current_schema(), t.typname))
          FROM pg_type t
          WHERE t.typnamespace = ns AND t.typtype IN ('e', 'd', 'r', 'c')
            AND (t.typrelid = 0 OR (SELECT relkind FROM pg_class WHERE oid = t.typrelid) = 'c')
            AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_type'::regclass
                            AND d.objid = t.oid AND d.deptype = 'e')), '{}')
    INTO stmts;
  FOREACH stmt IN ARRAY stmts LOOP
    EXECUTE stmt;
  END LOOP;
END
$dailypapers$;
"""


@dataclass(frozen=True)
class Tools:
    """Where PostgreSQL's client programs are."""

    pg_dump: Path
    pg_restore: Path
    psql: Path


def find_tools(pg_bin: str, needed: tuple[str, ...] = TOOLS) -> Tools:
    """The client programs, from `pg_bin` when given, else from PATH."""
    found: dict[str, Path] = {}
    for name in TOOLS:
        if pg_bin:
            path: Path | None = Path(pg_bin) / name
            path = path if path is not None and path.is_file() and os.access(path, os.X_OK) else None
        else:
            which = shutil.which(name)
            path = Path(which) if which else None
        if path is None and name in needed:
            where = f"in {pg_bin}" if pg_bin else "on PATH"
            raise BackupError(
                f"{name} not found {where}: install PostgreSQL's client programs (of the server's major version "
                "or newer), or name their folder with --pg-bin or DAILYPAPERS_PG_BIN"
            )
        found[name] = path or Path(name)
    return Tools(found["pg_dump"], found["pg_restore"], found["psql"])


def libpq_target(url: str) -> tuple[str, dict[str, str]]:
    """A libpq connection URI for the SQLAlchemy `url`, and the environment that carries its password
    (never on a command line, where `ps` shows it)."""
    parsed = make_url(url)
    env = {**os.environ, "PGCONNECT_TIMEOUT": os.environ.get("PGCONNECT_TIMEOUT", "30")}
    if parsed.password is not None:
        env["PGPASSWORD"] = str(parsed.password)
    uri = parsed.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
    return uri, env


def _tail(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return "; ".join(lines[-_ERROR_LINES:]) or "no message"


def _state(engine: Engine) -> DatabaseState:
    revision = revision_of(engine)
    if revision is None:
        return DatabaseState(None, 0, 0)
    with read_tx(engine) as conn:
        return DatabaseState(revision, vectors.current_seq(conn), vectors.store_id(conn))


def dump(url: str, destination: Path, tools: Tools) -> DatabaseState:
    """`pg_dump --format=custom` of the database into `destination` (one snapshot: the site keeps running)."""
    engine = make_engine(url)
    try:
        before = _state(engine)
        if before.revision is None:
            raise BackupError("the database has no Daily Papers schema (run `dailypapers migrate`)")
        uri, env = libpq_target(url)
        cmd = [str(tools.pg_dump), "--format=custom", "--no-password", f"--file={destination}", f"--dbname={uri}"]
        done = subprocess.run(cmd, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise BackupError(f"pg_dump failed: {_tail(done.stderr)}")
        after = revision_of(engine)
    finally:
        engine.dispose()
    if after != before.revision:
        raise BackupError(f"the database was migrated during the backup ({before.revision} to {after}): run it again")
    return before


def extensions_and_list(dump_path: Path, tools: Tools) -> tuple[list[str], str]:
    """The extensions the dump creates, and its table of contents without them (for `pg_restore -L`).
    Fails on a file that is no pg_dump archive."""
    done = subprocess.run([str(tools.pg_restore), "--list", str(dump_path)], capture_output=True, text=True)
    if done.returncode != 0:
        raise BackupError(f"the database dump in the backup cannot be read: {_tail(done.stderr)}")
    extensions: list[str] = []
    kept: list[str] = []
    for line in done.stdout.splitlines():
        match = _EXTENSION.match(line)
        if match:
            if match.group(1) not in extensions and "COMMENT" not in line:
                extensions.append(match.group(1))
            continue
        kept.append(line)
    return extensions, "\n".join(kept) + "\n"


def _relay(
    script: list[str], run: list[str], env: dict[str, str], script_err: IO[str], run_err: IO[str]
) -> tuple[bool, int]:
    """Pipe the SQL that `script` writes into `run` (psql, one transaction). psql sees the end of its input,
    and commits, only once `script` has exited successfully; otherwise it is killed, and the server rolls
    the transaction back. Returns (whether the script was written whole, psql's exit status)."""
    writer = subprocess.Popen(script, stdout=subprocess.PIPE, stderr=script_err)
    reader = subprocess.Popen(run, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=run_err, env=env)
    assert writer.stdout is not None and reader.stdin is not None
    try:
        shutil.copyfileobj(writer.stdout, reader.stdin, 1 << 20)
    except BrokenPipeError:  # psql stopped at an error (ON_ERROR_STOP) and rolled back
        writer.kill()
        writer.wait()
        return True, reader.wait() or 1
    if writer.wait() != 0:
        reader.kill()
        reader.wait()
        return False, 0
    with contextlib.suppress(BrokenPipeError):
        reader.stdin.close()
    return True, reader.wait()


def restore(url: str, dump_path: Path, tools: Tools) -> None:
    """Replace the contents of the database's schema with the dump's, in one transaction; then ANALYZE (the
    planner's statistics and keyword search's word statistics are not in a dump)."""
    extensions, toc = extensions_and_list(dump_path, tools)
    uri, env = libpq_target(url)
    # A site still running holds locks the drops wait for: give up after a while instead of hanging.
    prologue = f"SET client_min_messages = warning;\nSET lock_timeout = '{LOCK_TIMEOUT}';\n"
    prologue += "".join(f'CREATE EXTENSION IF NOT EXISTS "{name}";\n' for name in extensions)
    prologue += _DROP_ALL
    with tempfile.TemporaryDirectory(prefix="dailypapers-restore-") as tmp:
        listing = Path(tmp) / "toc.list"
        listing.write_text(toc)
        out_log, err_log = Path(tmp) / "pg_restore.log", Path(tmp) / "psql.log"
        script = [str(tools.pg_restore), "--clean", "--if-exists", "--no-owner", "--no-privileges"]
        script += [f"--use-list={listing}", "--file=-", str(dump_path)]
        run = [str(tools.psql), "--no-psqlrc", "--quiet", "--no-password", "--set=ON_ERROR_STOP=1"]
        run += ["--single-transaction", f"--dbname={uri}", f"--command={prologue}", "--file=-"]
        with out_log.open("w") as restore_err, err_log.open("w") as psql_err:
            written, applied = _relay(script, run, env, restore_err, psql_err)
        if applied != 0:
            message = _tail(err_log.read_text())
            hint = " (is the site still running? stop it first)" if "lock timeout" in message else ""
            raise BackupError(f"restoring into the database failed, nothing was changed: {message}{hint}")
        if not written:
            raise BackupError(f"pg_restore failed, nothing was changed: {_tail(out_log.read_text())}")
    engine = make_engine(url)
    try:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("ANALYZE")
    finally:
        engine.dispose()
