"""A throwaway Redis for tests: Debian's `redis-server` on a free loopback port, in a temp dir, no persistence."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from tests.support.postgres import free_port


@dataclass
class RedisServer:
    directory: Path
    port: int
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def flush(self) -> None:
        """Forget every key (between tests)."""
        import redis

        client = redis.Redis.from_url(self.url)
        try:
            client.flushall()
        finally:
            client.close()

    def stop(self) -> None:
        try:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        finally:
            shutil.rmtree(self.directory, ignore_errors=True)


def start_redis(timeout: float = 20.0) -> RedisServer:
    """Start `redis-server`; a missing binary fails the run (install Debian's redis-server), never skips it."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("tests need Debian's redis-server (apt-get install redis-server; make test-deps does)")
    import redis

    directory = Path(tempfile.mkdtemp(prefix="dp-redis-"))
    port = free_port()
    args = [binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(directory)]
    args += ["--save", "", "--appendonly", "no", "--protected-mode", "yes", "--logfile", str(directory / "log")]
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=directory)
    server = RedisServer(directory, port, process)
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            log = (directory / "log").read_text() if (directory / "log").exists() else ""
            shutil.rmtree(directory, ignore_errors=True)
            raise RuntimeError(f"redis-server exited with {process.returncode}: {log}")
        try:
            client = redis.Redis(host="127.0.0.1", port=port, socket_connect_timeout=0.5)
            try:
                if client.ping():
                    return server
            finally:
                client.close()
        except redis.RedisError:
            pass
        if time.monotonic() > deadline:
            server.stop()
            raise RuntimeError(f"redis-server did not answer on port {port} within {timeout} s")
        time.sleep(0.05)
