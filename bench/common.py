"""What several benchmarks share: a scratch database on either backend, and a server started and waited for."""

from __future__ import annotations

import contextlib
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text


@contextlib.contextmanager
def scratch_database(backend: str, tmp: Path) -> Iterator[str]:
    """The URL of an empty database: SQLite under `tmp`, or a PostgreSQL started for the run."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp}/bench.db"
        return
    from tests.support.postgres import start_postgres

    server = start_postgres()
    try:
        admin = create_engine(server.admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text("CREATE DATABASE bench"))
        admin.dispose()
        yield server.url("bench")
    finally:
        server.stop()


def start_server(cmd: list[str], env: dict[str, str], port: int, wait_s: float = 20.0) -> subprocess.Popen[bytes]:
    """Run `cmd` and return once http://127.0.0.1:`port`/healthz answers (killing it if it never does)."""
    proc = subprocess.Popen(cmd, env=env)
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("server did not start")
