"""What `dailypapers serve` sets up around uvicorn for its metrics (docs/operations.md): the directory in which
several web processes count together, and the metrics port."""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator

from rich.text import Text

from dailypapers.cli.common import console
from dailypapers.config import Settings
from dailypapers.telemetry import MULTIPROC_ENV


def teller(settings: Settings) -> Callable[[str], None]:
    """How `serve` says what it does: on the console, or as log records when the logs are JSON (so that
    a log collector reads nothing but JSON lines)."""
    if settings.log_format != "json":
        return lambda markup: console.print(markup, highlight=False)
    log = logging.getLogger("dailypapers.serve")
    return lambda markup: log.info(Text.from_markup(markup).plain)


def redacted(url: str) -> str:
    """A database URL without its password."""
    return re.sub(r"(://[^:/@]*):[^/]*@", r"\1:***@", url)


@contextlib.contextmanager
def multiprocess_dir(workers: int) -> Iterator[str | None]:
    """With several web processes, the directory they count into (prometheus-client's multiprocess mode): the
    operator's PROMETHEUS_MULTIPROC_DIR, or an empty one made here and removed afterwards. Set in the
    environment before uvicorn starts the processes, which read it as they start (they are spawned, not
    forked). One process needs none: it reports its own counts."""
    given = os.environ.get(MULTIPROC_ENV)
    if given:
        os.makedirs(given, exist_ok=True)
        yield given
        return
    if workers <= 1:
        yield None
        return
    made = tempfile.mkdtemp(prefix="dailypapers-metrics-")
    os.environ[MULTIPROC_ENV] = made
    try:
        yield made
    finally:
        os.environ.pop(MULTIPROC_ENV, None)
        shutil.rmtree(made, ignore_errors=True)


@contextlib.contextmanager
def metrics_port(settings: Settings) -> Iterator[int | None]:
    """With DAILYPAPERS_METRICS_PORT, `/metrics` served on that port of DAILYPAPERS_METRICS_HOST by this process
    (uvicorn's supervisor, when there are several web processes: it reads what they all counted from the
    multiprocess directory), and the database's gauges with it. Yields the port, or None."""
    if not settings.metrics_port:
        yield None
        return
    from dailypapers import telemetry
    from dailypapers.jobs.engine import local_queue_stats
    from dailypapers.store.db import make_engine
    from dailypapers.web.metrics import StoreCollector

    engine = make_engine(settings.database_url)
    collectors = [telemetry.process_collector(), StoreCollector(engine, settings, local_queue_stats)]
    server = telemetry.start_exporter(settings.metrics_host, settings.metrics_port, settings.metrics_token, collectors)
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        engine.dispose()
