"""Run the real application under uvicorn in a background thread, on a free loopback port."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import uvicorn
from sqlalchemy import Engine

from dailypapers.config import Settings
from dailypapers.web.app import create_app
from dailypapers.web.site import Site
from tests.support.postgres import free_port

SECRET = "test-secret-key-for-signing-0123456789"  # the site's secret key unless a test gives another


# The Site of each app served by serve_app, by base URL: tests that need the server's own objects (its job
# queue, in the embedded mode) reach them here.
running_sites: dict[str, Site] = {}


@contextlib.contextmanager
def serve_app(
    engine: Engine, data_dir: Path | None = None, *, background: bool = False, **settings: object
) -> Iterator[str]:
    """Yield the base URL of the site on `engine` while it is served (with its background jobs if asked)."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    fields: dict[str, object] = {
        "data_dir": data_dir or Path("/nonexistent"),
        "database_url": engine.url.render_as_string(hide_password=False),
        "port": port,
        "base_url": base,
        "page_cache_ttl": 0.0,
        "secret_key": SECRET,
    }
    fields.update(settings)  # e.g. rate_limits=False, redis_url=..., base_url="https://..."
    config = Settings(**fields)  # type: ignore[arg-type]
    app = create_app(config, engine, background=background)
    running_sites[base] = app.state.site
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while True:
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError("test server did not start")
        time.sleep(0.05)
    try:
        yield base
    finally:
        running_sites.pop(base, None)
        server.should_exit = True
        thread.join(timeout=10)
