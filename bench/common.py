"""What several benchmarks share: a scratch database on either backend, a server started and waited for,
and, for several processes at once (bench_scale), process groups and CPU pinning."""

from __future__ import annotations

import contextlib
import os
import signal
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


def split_cpus(load_cpus: int | None = None) -> tuple[list[int], list[int]] | None:
    """The CPUs this process may use, split into (servers', load generator's): the load generator gets the
    last `load_cpus` of them (a quarter by default). None when there are too few (2 or fewer) to split."""
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) <= 2:
        return None
    take = load_cpus or max(1, len(cpus) // 4)
    if not 0 < take < len(cpus):
        raise ValueError(f"cannot give {take} of {len(cpus)} CPUs to the load generator")
    return cpus[:-take], cpus[-take:]


def pinned(cmd: list[str], cpus: list[int] | None) -> list[str]:
    """`cmd` run on `cpus` only (through taskset), or as it is when `cpus` is None."""
    return ["taskset", "-c", ",".join(map(str, cpus)), *cmd] if cpus else cmd


def start_group(cmd: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """Run `cmd` in a process group of its own (it and the processes it forks), output to `log`."""
    with log.open("ab") as out:
        return subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def stop_group(proc: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    """SIGTERM to the group `start_group` made, SIGKILL to it if it has not ended within `timeout`."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout)
    with contextlib.suppress(ProcessLookupError):  # the leader gone, children it left behind (if any)
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def wait_ready(url: str, proc: subprocess.Popen[bytes], times: int = 1, wait_s: float = 120.0) -> None:
    """Return once `url` has answered 200 `times` times in a row, each on a new connection (several
    processes behind one port each get asked); RuntimeError if `proc` exits or `wait_s` passes first."""
    deadline, streak = time.monotonic() + wait_s, 0
    while streak < times:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args!r} exited with {proc.returncode}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{url} not ready within {wait_s} s")
        try:
            ok = httpx.get(url, timeout=5).status_code == 200
        except httpx.HTTPError:
            ok = False
        streak = streak + 1 if ok else 0
        if not ok:
            time.sleep(0.2)
