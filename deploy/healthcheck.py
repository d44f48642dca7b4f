#!/usr/bin/env python3
"""The container's health check (`dailypapers-healthcheck` in the image, docs/container.md).

One image runs `dailypapers serve`, `dailypapers worker` and one-shot commands, so the check fits what
the container's main process runs (its command line, read from /proc/1/cmdline):

- `serve`: GET /healthz (liveness) on the port it listens on; with `--ready`, GET /readyz (migrations
  applied and, where the store holds embeddings, the embedding model loaded).
- `worker`: the database answers, and some worker's heartbeat is fresher than
  DAILYPAPERS_JOB_STALLED_SECONDS. A worker that loses its database connection stops by itself (the job
  engine stops on a failed heartbeat), and its restart policy brings it back.
- anything else (`migrate`, `import`, a shell): healthy.

Exit status 0 when healthy, 1 when not, as Docker expects; the reason goes to stdout, which
`docker inspect` shows. Standard library only, but for the worker's check (psycopg, from the image).
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path

TIMEOUT = 5.0
ROLES = ("serve", "worker")


def command_of(cmdline: bytes) -> tuple[str, int | None]:
    """The `dailypapers` subcommand in a NUL-separated command line, and the `--port` given to it (if any).

    The line may start with an init (`docker-init --`) or the venv's python running the `dailypapers`
    script; the subcommand is the argument after the one named `dailypapers`. `("", None)` when the
    process is not `dailypapers`."""
    args = [a.decode(errors="replace") for a in cmdline.split(b"\0") if a]
    for i, arg in enumerate(args):
        if Path(arg).name == "dailypapers" and i + 1 < len(args):
            rest = args[i + 1 :]
            return rest[0], _port(rest[1:])
    return "", None


def _port(args: Sequence[str]) -> int | None:
    for i, arg in enumerate(args):
        if arg == "--port" and i + 1 < len(args):
            return int(args[i + 1])
        if arg.startswith("--port="):
            return int(arg.split("=", 1)[1])
    return None


def check_http(url: str, timeout: float = TIMEOUT) -> tuple[bool, str]:
    """Whether `url` answers 200, and what it said."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status == 200, f"{url}: {response.status} {response.read(500).decode(errors='replace')}"
    except urllib.error.HTTPError as exc:
        return False, f"{url}: {exc.code} {exc.read(500).decode(errors='replace')}"
    except OSError as exc:
        return False, f"{url}: {exc}"


def check_worker(env: dict[str, str]) -> tuple[bool, str]:
    """Whether the database answers and some worker sent a heartbeat within the stalled-worker timeout."""
    import psycopg

    url = env.get("DAILYPAPERS_DATABASE_URL", "")
    if not url.startswith("postgresql"):
        return False, "DAILYPAPERS_DATABASE_URL is not a PostgreSQL URL: `dailypapers worker` needs one"
    scheme, rest = url.split("://", 1)
    stalled = float(env.get("DAILYPAPERS_JOB_STALLED_SECONDS") or 60)
    try:
        with psycopg.connect(f"{scheme.split('+', 1)[0]}://{rest}", connect_timeout=int(TIMEOUT)) as conn:
            row = conn.execute(
                "SELECT count(*) FROM procrastinate_workers WHERE last_heartbeat > now() - make_interval(secs => %s)",
                (stalled,),
            ).fetchone()
    except psycopg.Error as exc:
        return False, f"database: {type(exc).__name__}: {str(exc).strip()}"
    alive = row[0] if row else 0
    return alive > 0, f"database answers; {alive} worker(s) with a heartbeat in the last {stalled:g} s"


def main(argv: Sequence[str], cmdline: bytes | None = None, env: dict[str, str] | None = None) -> int:
    env = dict(os.environ) if env is None else env
    if cmdline is None:
        cmdline = Path("/proc/1/cmdline").read_bytes()
    role, port = command_of(cmdline)
    if role == "serve":
        port = port or int(env.get("DAILYPAPERS_PORT") or 8000)
        path = "/readyz" if "--ready" in argv else "/healthz"
        healthy, said = check_http(f"http://127.0.0.1:{port}{path}")
    elif role == "worker":
        healthy, said = check_worker(env)
    else:
        healthy, said = True, f"nothing to check for {role or 'this process'}"
    print(("healthy: " if healthy else "unhealthy: ") + said)
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
