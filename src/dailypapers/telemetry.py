"""Prometheus metrics counted below the web (docs/operations.md): searches, imports, embeddings, digests and
job runs, and what exposes them: the web's `/metrics` (web/metrics.py) or a small exporter of their own
(`dailypapers worker --metrics-port`, `DAILYPAPERS_METRICS_PORT`).

Several web processes (`DAILYPAPERS_WORKERS`) count into files of one directory, PROMETHEUS_MULTIPROC_DIR
(prometheus-client's multiprocess mode, which `dailypapers serve` turns on for them), so that any of them
reports the whole instance's counts: a scrape lands on one process of many. The variable must be set
before this module is imported; in one process it is not needed.
"""

from __future__ import annotations

import hmac
import os
import socket
import threading
from collections.abc import Iterable, Iterator, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol
from urllib.parse import urlsplit

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
# Seconds: from a page answered from memory (well under a millisecond) to a slow search or render.
LATENCY = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
JOB_LATENCY = (0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 3600.0)

disable_created_metrics()  # no `_created` series: half the lines, and nothing a dashboard here reads

SEARCH_SECONDS = Histogram(
    "dailypapers_search_duration_seconds",
    "Searches run (not answered from the page cache), by mode",
    ["mode"],
    buckets=LATENCY,
)
IMPORTED = Counter(
    "dailypapers_imported_papers", "Papers written by imports and harvests, by job and outcome", ["source", "outcome"]
)
EMBEDDED = Counter("dailypapers_embedded_papers", "Papers embedded for search by meaning")
DIGESTS = Counter(
    "dailypapers_digests", "Digests mailed: sent, failed (tried again later) or bounced (refused for good)", ["result"]
)
JOB_RUNS = Counter("dailypapers_job_runs", "Background job runs that ended, by job and result", ["task", "result"])
JOB_SECONDS = Histogram("dailypapers_job_duration_seconds", "Background job runs", ["task"], buckets=JOB_LATENCY)

for _mode in ("hybrid", "keyword", "semantic"):  # every series there from the start: rate() needs no first event
    SEARCH_SECONDS.labels(_mode)
for _result in ("sent", "failed", "bounced"):
    DIGESTS.labels(_result)


def imported(source: str, new: int, updated: int) -> None:
    """Count what one import or harvest wrote."""
    IMPORTED.labels(source, "new").inc(new)
    IMPORTED.labels(source, "updated").inc(updated)


class Collector(Protocol):
    def collect(self) -> Iterable[Any]: ...


def process_collector() -> Collector:
    """What this process, or with PROMETHEUS_MULTIPROC_DIR every process of the instance, counted."""
    path = os.environ.get(MULTIPROC_ENV)
    if not path:
        return REGISTRY
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path)
    return registry


class _Together:
    def __init__(self, parts: Sequence[Collector]) -> None:
        self.parts = parts

    def collect(self) -> Iterator[Any]:
        for part in self.parts:
            yield from part.collect()


def render(*collectors: Collector) -> bytes:
    """The text exposition format of what `collectors` say."""
    return generate_latest(_Together(collectors))  # type: ignore[arg-type]


def bearer_ok(authorization: str | None, token: str) -> bool:
    """Whether an Authorization header carries `token` as a Bearer token (compared in constant time)."""
    if not authorization or not token:
        return False
    scheme, _, value = authorization.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(value.strip().encode(), token.encode())


def start_exporter(host: str, port: int, token: str, collectors: Sequence[Collector]) -> ThreadingHTTPServer:
    """Serve `GET /metrics` on (host, port) from a daemon thread (a worker's metrics, or `serve`'s on a port of
    their own); with `token`, only to requests bearing it. Returns the server (`shutdown()` stops it)."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            if urlsplit(self.path).path != "/metrics":
                self._answer(404, b"not found\n")
            elif token and not bearer_ok(self.headers.get("Authorization"), token):
                self._answer(401, b"a Bearer token is needed\n", [("WWW-Authenticate", 'Bearer realm="metrics"')])
            else:
                self._answer(200, render(*collectors), [("Content-Type", CONTENT_TYPE_LATEST)])

        def _answer(self, status: int, body: bytes, headers: Sequence[tuple[str, str]] = ()) -> None:
            self.send_response(status)
            for name, value in headers or [("Content-Type", "text/plain; charset=utf-8")]:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:  # scrapes are not worth a log line each
            pass

    class Server(ThreadingHTTPServer):
        address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        daemon_threads = True

    server = Server((host, port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True, name="metrics-exporter").start()
    return server
