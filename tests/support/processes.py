"""Real `dailypapers serve` processes (and other servers) for the tests that need more than one process."""

from __future__ import annotations

import contextlib
import os
import ssl
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import httpx

from tests.support.jobs import ROOT
from tests.support.server import SECRET


def scale_out_env(database_url: str, redis_url: str, data_dir: Path, **settings: str) -> dict[str, str]:
    """This process's environment with the settings of a scale-out web tier (background jobs off), and
    `settings` as DAILYPAPERS_<NAME> variables."""
    return {
        **os.environ,
        "DAILYPAPERS_DATABASE_URL": database_url,
        "DAILYPAPERS_REDIS_URL": redis_url,
        "DAILYPAPERS_SECRET_KEY": SECRET,
        "DAILYPAPERS_DATA_DIR": str(data_dir),
        "DAILYPAPERS_JOBS": "off",
        **{f"DAILYPAPERS_{name.upper()}": value for name, value in settings.items()},
    }


def wait_ok(url: str, alive: Callable[[], bool], what: str, log: Path, *, verify: ssl.SSLContext | bool = True) -> None:
    """Until `url` answers 200; fails with the end of `log` if the process exits or 90 s pass."""
    deadline = time.monotonic() + 90
    while True:
        try:
            if httpx.get(url, timeout=1, verify=verify).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if not alive() or time.monotonic() > deadline:
            text = log.read_text()[-3000:] if log.exists() else ""
            raise AssertionError(f"{what} did not start: {text}")
        time.sleep(0.1)


def running(process: subprocess.Popen[bytes]) -> Callable[[], bool]:
    return lambda: process.poll() is None


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL after 20 s."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


@contextlib.contextmanager
def serving(
    ports: list[int],
    env: Mapping[str, str],
    log_dir: Path,
    *args: str,
    env_of: Callable[[int], dict[str, str]] | None = None,
) -> Iterator[list[subprocess.Popen[bytes]]]:
    """`dailypapers serve --port P` for each port, all started at once with `env` (and `env_of(P)`), output
    in `log_dir/serveP.log`; yielded once each answers /readyz, stopped afterwards."""
    command = [sys.executable, "-c", "from dailypapers.cli.main import app; app()", "serve"]
    procs: list[subprocess.Popen[bytes]] = []
    try:
        for port in ports:
            log = (log_dir / f"serve{port}.log").open("wb")
            procs.append(
                subprocess.Popen(
                    [*command, "--port", str(port), *args],
                    cwd=ROOT,
                    env={**env, **(env_of(port) if env_of else {})},
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
        for port, proc in zip(ports, procs, strict=True):
            wait_ok(f"http://127.0.0.1:{port}/readyz", running(proc), "serve", log_dir / f"serve{port}.log")
        yield procs
    finally:
        for proc in procs:
            stop(proc)
