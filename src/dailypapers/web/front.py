"""Cache hits answered before routing (docs/benchmarks.md): an ASGI layer in front of the application.

An anonymous GET whose URL names a page the page cache holds (the path and the query parameters, in the
cache's canonical order) is answered from the cache here, without routing, dependencies or a handler: its
cost does not grow with the number of routes or depend on the framework's router. Everything else goes
on to the application, which renders, caches and answers as before: signed-in readers (their pages are
their own), requests with parameters the route does not read (the route's own key drops them, so they
miss here and hit there), and pages not cached yet.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlencode

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.requests import Request, cookie_parser
from starlette.types import ASGIApp, Receive, Scope, Send

from dailypapers.web import banner, observe
from dailypapers.web.auth import SESSION_COOKIE
from dailypapers.web.cache import DUE, Cached
from dailypapers.web.site import respond

if TYPE_CHECKING:
    from dailypapers.web.cache import PageCache


def front_key(scope: Scope, cookies: dict[str, str]) -> str:
    """The page cache's key for this request, as `site.cache_key` and `banner.variant` make it when every
    query parameter is one the route reads."""
    pairs = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
    key = scope["path"] + "?" + urlencode(sorted(pairs, key=lambda kv: kv[0]))
    if cookies.get(banner.COOKIE) == "off":
        key += "#no-banner"
    return key


class CacheFront:
    """Answer anonymous GETs the page cache can answer; pass everything else to `app`."""

    def __init__(self, app: ASGIApp, cache: PageCache) -> None:
        self.app = app
        self.cache = cache
        self.hits = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        if "authorization" in headers:
            await self.app(scope, receive, send)
            return
        cookies = cookie_parser(headers.get("cookie", ""))
        if SESSION_COOKIE in cookies:
            await self.app(scope, receive, send)
            return
        key = front_key(scope, cookies)
        try:
            hit = self.cache.peek(key)  # either segment: an entry lives in one
            if hit is DUE:  # the database must be read: never on the event loop, which would stall
                hit = await run_in_threadpool(self.cache.lookup, key)
        except Exception:  # the store is not there yet (no migrations, a restart): the app will say so
            hit = None
        if not isinstance(hit, Cached):
            await self.app(scope, receive, send)
            return
        self.hits += 1
        observe.cache_lookup("hit", "front", hit.route)  # counted under the route that rendered the page
        await respond(Request(scope), hit)(scope, receive, send)
