"""Every request observed (docs/operations.md): its id, its latency by route, its line in the access log.

`Observe`, the outermost layer, gives each request an id (a valid incoming `X-Request-ID`, or a fresh one),
echoes it in the response, puts it on every log record emitted while the request runs (logs.REQUEST_ID),
times the request and counts it by route template, method and status class, and writes the access line.
The route is the template the router matched (`/papers/{paper_id}`, never the path: ids would make a series
each), read from the scope the router filled in, which `RouteProbe`, the innermost layer, hands over;
a request the cache front answered (web/front.py) gets the route of the page it was answered with, and
one that matched no route the label `unmatched`.
"""

from __future__ import annotations

import logging
import time
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from prometheus_client import Counter, Histogram
from starlette.routing import Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dailypapers import logs, telemetry

if TYPE_CHECKING:
    from starlette.routing import BaseRoute

UNMATCHED = "unmatched"
FRONT = "cache-front"  # a front hit whose page did not say its route (cached before this process counted)
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
MAX_LOGGED_PATH = 300

HTTP_SECONDS = Histogram(
    "dailypapers_http_request_duration_seconds",
    "HTTP requests, by route template, method and status class",
    ["route", "method", "status"],
    buckets=telemetry.LATENCY,
)
PAGE_CACHE = Counter(
    "dailypapers_page_cache_lookups",
    "Page cache lookups of cacheable requests: hits (before routing, `front`, or in the route) and misses",
    ["result", "layer"],
)
_COUNTED = {key: PAGE_CACHE.labels(*key) for key in (("hit", "front"), ("hit", "route"), ("miss", "route"))}
access_log = logging.getLogger("dailypapers.access")
error_log = logging.getLogger("dailypapers.web")
_SERIES: dict[tuple[str, str, int], Any] = {}  # HTTP_SECONDS' children, found without `labels()` each time


@dataclass(slots=True)
class RequestInfo:
    """What the layers of one request tell `Observe` (through CURRENT: the same object in every layer)."""

    request_id: str
    inner: Scope | None = None  # the scope the router fills in (set by RouteProbe)
    route: str | None = None  # set by the cache front, which answers before routing
    cache: str | None = None  # "hit" or "miss", for the access line


CURRENT: ContextVar[RequestInfo | None] = ContextVar("dailypapers_request", default=None)


def _route_templates(routes: list[BaseRoute], into: dict[Any, str]) -> dict[Any, str]:
    """Endpoint -> path template of the routes FastAPI does not name in the scope (Starlette's own: mounts,
    the OpenAPI document), found through included routers."""
    for route in routes:
        included = getattr(route, "original_router", None)  # FastAPI's include_router keeps the router
        if isinstance(route, Mount):
            into[route.app] = route.path_format
        elif included is not None:
            _route_templates(list(included.routes), into)
        elif getattr(route, "endpoint", None) is not None and getattr(route, "path_format", None):
            into.setdefault(route.endpoint, route.path_format)  # type: ignore[attr-defined]
    return into


def route_of(info: RequestInfo, templates: dict[Any, str] | None = None) -> str:
    """The route label of a request: the matched route's template, or UNMATCHED."""
    if info.route:
        return info.route
    scope = info.inner
    if scope is None:
        return UNMATCHED
    template = getattr(scope.get("route"), "path_format", None)
    if template:
        return str(template)
    endpoint = scope.get("endpoint")
    if templates and endpoint is not None:
        try:
            return templates.get(endpoint, UNMATCHED)
        except TypeError:  # an unhashable endpoint
            return UNMATCHED
    return UNMATCHED


def current_route() -> str:
    """The route template of the request being handled ("" outside a request), for the page cache to keep
    with a page, so that a hit before routing is counted under the page's route."""
    info = CURRENT.get()
    if info is None:
        return ""
    found = route_of(info)
    return "" if found == UNMATCHED else found


def cache_lookup(result: str, layer: str = "route", route: str = "") -> None:
    """Count a page cache hit or miss of the current request (and, for a hit before routing, its route)."""
    _COUNTED[(result, layer)].inc()
    info = CURRENT.get()
    if info is not None:
        info.cache = result
        if layer == "front":
            info.route = route or FRONT


class RouteProbe:
    """The innermost layer: hands `Observe` the scope the router is about to fill in (the outer layers may
    see a copy: web/transport.py turns HEAD into GET in a new one)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        info = CURRENT.get()
        if info is not None and scope["type"] == "http":
            info.inner = scope
        await self.app(scope, receive, send)


def _printable_path(path: str) -> str:
    path = path if len(path) <= MAX_LOGGED_PATH else path[:MAX_LOGGED_PATH] + "…"
    return path if path.isprintable() else "".join(c if c.isprintable() else repr(c)[1:-1] for c in path)


class Observe:
    """The outermost layer: request id, latency histogram, access log (see the module's docstring)."""

    def __init__(self, app: ASGIApp, routes: list[BaseRoute] | None = None) -> None:
        self.app = app
        self.templates = _route_templates(list(routes or ()), {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = None
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                incoming = value.decode("latin-1")
                break
        info = RequestInfo(logs.request_id(incoming))
        echoed = (b"x-request-id", info.request_id.encode("ascii"))
        status, started = 500, False  # 500 unless a response starts (an exception, a client gone first)
        began = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status, started
            if message["type"] == "http.response.start":
                status, started = message["status"], True
                message = {**message, "headers": [*message.get("headers", ()), echoed]}
            await send(message)

        named, current = logs.REQUEST_ID.set(info.request_id), CURRENT.set(info)
        try:
            await self.app(scope, receive, send_with_id)
        except Exception as exc:
            # Logged here, with the request's id (the server's own line, without it, is dropped: logs.py),
            # and answered here so that the 500 carries the id too; raised on for the server and tests.
            error_log.exception("%s %s failed", scope["method"][:16], _printable_path(scope["path"]))
            logs.mark_logged(exc)
            if not started:
                headers = [(b"content-type", b"text/plain; charset=utf-8")]
                await send_with_id({"type": "http.response.start", "status": 500, "headers": headers})
                await send_with_id({"type": "http.response.body", "body": b"Internal Server Error"})
            raise
        finally:
            elapsed = time.perf_counter() - began
            CURRENT.reset(current)
            self._record(scope, info, status, elapsed)
            logs.REQUEST_ID.reset(named)

    def _record(self, scope: Scope, info: RequestInfo, status: int, elapsed: float) -> None:
        method = scope["method"] if scope["method"] in METHODS else "other"
        route = route_of(info, self.templates)
        key = (route, method, status // 100)
        series = _SERIES.get(key)
        if series is None:  # bounded: routes x methods x status classes
            series = _SERIES[key] = HTTP_SECONDS.labels(route, method, f"{status // 100}xx")
        series.observe(elapsed)
        if access_log.isEnabledFor(logging.INFO):
            path = _printable_path(scope["path"])
            ms = round(elapsed * 1000, 2)
            extra = {"method": scope["method"][:16], "route": route, "path": path, "status": status, "duration_ms": ms}
            if info.cache:
                extra["cache"] = info.cache
            access_log.info("%s %s %d %.1f ms", extra["method"], path, status, ms, extra=extra)
