"""`/metrics` for Prometheus (docs/operations.md): what the processes counted (telemetry.py, web/observe.py),
and the gauges read from the database at scrape time (`StoreCollector`), the same whichever process answers.

Who may read it (docs/security.md): with DAILYPAPERS_METRICS_PORT, nobody on the site's port (`dailypapers
serve` answers on that port of DAILYPAPERS_METRICS_HOST instead); with DAILYPAPERS_METRICS_TOKEN, requests
bearing it; with neither, only a client on this machine that did not come through a proxy.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import logging
import threading
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request
from fastapi.responses import PlainTextResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST
from prometheus_client.core import GaugeMetricFamily

from dailypapers import __version__, telemetry
from dailypapers.config import Settings
from dailypapers.jobs import catalog
from dailypapers.store import metrics as store_metrics
from dailypapers.store.db import read_tx

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from dailypapers.web.site import Site

log = logging.getLogger(__name__)
QUEUE_TTL = 10.0  # seconds the queue's gauges are kept before the database is asked again
TOTALS_TTL = 60.0  # and the totals (counts over whole tables)
FORWARDED = (b"forwarded", b"x-forwarded-for", b"x-real-ip")


class StoreCollector:
    """Gauges from the database: the job queue, papers, embeddings, digest deliveries, and whether the
    database answered. Kept QUEUE_TTL and TOTALS_TTL seconds, so that scrapes cost the database little."""

    def __init__(
        self, engine: Engine, settings: Settings, local_queue: Callable[[], store_metrics.QueueStats | None]
    ) -> None:
        self.engine, self.settings, self.local_queue = engine, settings, local_queue
        self._lock = threading.Lock()
        self._queue: tuple[float, store_metrics.QueueStats | None] = (-QUEUE_TTL, None)
        self._totals: tuple[float, store_metrics.Totals | None] = (-TOTALS_TTL, None)
        self._up = 1

    def _read_queue(self) -> store_metrics.QueueStats | None:
        if self.settings.is_sqlite:
            return self.local_queue()  # the embedded mode's queue lives in the server process
        stalled = dt.timedelta(seconds=self.settings.job_stalled_seconds)
        with read_tx(self.engine) as conn:
            return store_metrics.queue_stats(conn, dt.datetime.now(dt.UTC), stalled)

    def _read_totals(self) -> store_metrics.Totals:
        with read_tx(self.engine) as conn:
            return store_metrics.totals(conn)

    def _refresh(self) -> tuple[store_metrics.QueueStats | None, store_metrics.Totals | None]:
        now = time.monotonic()
        with self._lock:  # one reader at a time; the others take what it read
            try:
                if now - self._queue[0] >= QUEUE_TTL:
                    self._queue = (now, self._read_queue())
                if now - self._totals[0] >= TOTALS_TTL:
                    self._totals = (now, self._read_totals())
                self._up = 1
            except Exception:  # the scrape goes on with what is known, and says the database did not answer
                log.warning("metrics: the database did not answer", exc_info=True)
                self._up = 0
                self._queue = (now, self._queue[1])
            return self._queue[1], self._totals[1]

    def collect(self) -> Iterator[Any]:
        queue, totals = self._refresh()
        info = GaugeMetricFamily("dailypapers_build_info", "The running version", labels=["version"])
        info.add_metric([__version__], 1)
        yield info
        yield GaugeMetricFamily("dailypapers_database_up", "1 when the database answered the last scrape", self._up)
        yield from _queue_metrics(queue)
        if totals is not None:
            yield GaugeMetricFamily("dailypapers_papers", "Papers in the store", totals.papers)
            embedded = GaugeMetricFamily("dailypapers_paper_embeddings", "Papers embedded, by model", labels=["model"])
            for model, n in sorted(totals.embeddings.items()):
                embedded.add_metric([model], n)
            yield embedded
            digests = GaugeMetricFamily(
                "dailypapers_digest_deliveries", "Digest deliveries in the ledger, by status", labels=["status"]
            )
            for status in sorted({"sent", "failed", "sending", *totals.digests}):
                digests.add_metric([status], totals.digests.get(status, 0))
            yield digests


def _queue_metrics(queue: store_metrics.QueueStats | None) -> Iterator[Any]:
    """The queue's gauges; without samples when the queue is not known here (no job engine in this process,
    in the embedded mode; workers alive only on PostgreSQL)."""
    jobs = GaugeMetricFamily("dailypapers_jobs", "Jobs in the queue, by job and status", labels=["task", "status"])
    oldest = GaugeMetricFamily(
        "dailypapers_jobs_oldest_queued_age_seconds", "How long the longest-waiting due job has waited"
    )
    workers = GaugeMetricFamily("dailypapers_job_workers", "Workers whose heartbeat is recent")
    if queue is not None:
        names = sorted({j.name for j in catalog.jobs()} | {task for task, _ in queue.counts})
        for task in names:
            for status in store_metrics.QUEUE_STATUSES.values():
                jobs.add_metric([task, status], queue.counts.get((task, status), 0))
        age = (dt.datetime.now(dt.UTC) - queue.oldest_due).total_seconds() if queue.oldest_due else 0.0
        oldest.add_metric([], max(0.0, age))
        if queue.workers is not None:
            workers.add_metric([], queue.workers)
    yield from (jobs, oldest, workers)


def _local_client(request: Request) -> bool:
    """Whether the client is this machine and no proxy forwarded the request (a proxy on this machine
    would make every visitor look local)."""
    client = request.scope.get("client")
    if not client or any(name in FORWARDED for name, _ in request.scope["headers"]):
        return False
    try:
        return ipaddress.ip_address(client[0]).is_loopback
    except ValueError:
        return False


def refusal(request: Request, settings: Settings) -> Response | None:
    """Why `request` may not read the metrics on the site's port, as a response; None when it may."""
    if settings.metrics_port:
        return PlainTextResponse("Not Found", status_code=404)  # served on the metrics port only
    if settings.metrics_token:
        if telemetry.bearer_ok(request.headers.get("authorization"), settings.metrics_token):
            return None
        return PlainTextResponse(
            "a Bearer token is needed", status_code=401, headers={"WWW-Authenticate": 'Bearer realm="metrics"'}
        )
    return None if _local_client(request) else PlainTextResponse("Not Found", status_code=404)


def install(app: FastAPI, site: Site) -> StoreCollector:
    """Add `GET /metrics` to `app`; returns its collector of the database's gauges."""
    collector = StoreCollector(site.engine, site.settings, lambda: site.jobs.queue_stats() if site.jobs else None)

    @app.get("/metrics", include_in_schema=False)
    def metrics(request: Request) -> Response:
        """Prometheus' text format; see the module's docstring for who may read it."""
        refused = refusal(request, site.settings)
        if refused is not None:
            return refused
        body = telemetry.render(telemetry.process_collector(), collector)
        return Response(body, media_type=CONTENT_TYPE_LATEST, headers={"Cache-Control": "no-store"})

    return collector
