"""What every handler needs, built once per application: store, settings, templates, cache."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

import anyio
import jinja2
from fastapi import Request, Response
from markupsafe import Markup
from starlette.concurrency import run_in_threadpool

from dailypapers import __version__
from dailypapers.accounts.ratelimit import RateLimits
from dailypapers.config import Settings
from dailypapers.personal.for_you import Pool
from dailypapers.search.service import Searcher
from dailypapers.sources.arxiv_ids import abs_url, pdf_url
from dailypapers.sources.names import tex_to_unicode
from dailypapers.web import observe, transport
from dailypapers.web.assets import static_url, swagger_url
from dailypapers.web.cache import PAGES, VARIED, Cached, PageCache, Rendered
from dailypapers.web.mathtext import FILTERS as MATH_FILTERS

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from dailypapers.jobs.engine import JobSystem

TEMPLATES = Path(__file__).with_name("templates")
HTML_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "object-src 'none'; base-uri 'self'; frame-ancestors 'none'"
    ),
}


def snippet(text: str, length: int = 300) -> str:
    """The start of a text, cut at a word boundary."""
    if len(text) <= length:
        return text
    cut = text[:length].rsplit(" ", 1)[0]
    return cut.rstrip(",;:.") + "…"


def short_date(value: dt.date | dt.datetime | None) -> str:
    return value.strftime("%b %-d, %Y") if value else ""


def compact(count: int | None) -> str:
    """A count as a card shows it: 950, 1.2k, 12k, 1.3M."""
    if count is None:
        return ""
    if count < 1000:
        return str(count)
    for size, unit in ((1_000_000, "M"), (1000, "k")):
        if count >= size:
            value = count / size
            text = f"{value:.1f}" if value < 10 else f"{value:.0f}"
            return text.removesuffix(".0") + unit
    return str(count)  # unreachable


def author_names(authors: list[dict[str, Any]], limit: int = 6) -> str:
    names = [tex_to_unicode(a["name"]) for a in authors]
    if len(names) > limit:
        return ", ".join(names[:limit]) + f" and {len(names) - limit} more"
    return ", ".join(names)


def author_slug(name: str) -> str:
    """An author's name as their /authors/ path segment."""
    return quote(tex_to_unicode(name), safe="")


def author_links(authors: list[dict[str, Any]], limit: int = 6) -> Markup:
    """Authors' names (TeX accents decoded) linked to their /authors/ pages; "and N more" past `limit`."""
    links = []
    for a in authors[:limit]:
        name = tex_to_unicode(a["name"])
        links.append(Markup('<a href="/authors/{}">{}</a>').format(author_slug(name), name))
    more = Markup(f" and {len(authors) - limit} more") if len(authors) > limit else Markup("")
    return Markup(", ").join(links) + more


# What a paper page shows besides the paper: name -> fn(site, conn, detail, ctx) -> value for its template.
PaperSection = Callable[["Site", Any, Any, dict[str, Any]], Any]


@dataclass
class Site:
    settings: Settings
    engine: Engine
    cache: PageCache
    templates: jinja2.Environment
    limits: RateLimits
    searcher: Searcher
    paper_sections: dict[str, PaperSection] = field(default_factory=dict)  # filled by the app factory
    jobs: JobSystem | None = None  # the job engine, once the app has started (with background work)
    pending_migrations: list[str] | None = None  # known once the app has started
    for_you: Pool | None = None  # the recent papers "for you" ranks, kept by this process (personal.for_you)
    # One thread per process for the toggles (votes, saves, "not interested"), set when the app starts: quick
    # writes that clients can send flat out, so they never hold the whole thread pool (web.auth.toggle_lane).
    toggles: anyio.CapacityLimiter | None = None

    def not_ready(self) -> list[str]:
        """What this process still waits for before it should get traffic (empty: ready)."""
        waiting = []
        if self.pending_migrations is None:
            waiting.append("start-up")
        elif self.pending_migrations:
            waiting.append(f"migrations {', '.join(self.pending_migrations)} (run `dailypapers migrate`)")
        if not self.searcher.warmed.is_set():
            waiting.append("the embedding model and the semantic index")
        return waiting

    @classmethod
    def build(cls, settings: Settings, engine: Engine) -> Site:
        env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(TEMPLATES),
            autoescape=jinja2.select_autoescape(["html", "xml"]),
            trim_blocks=True,
            lstrip_blocks=True,
        )
        env.filters.update(
            snippet=snippet,
            short_date=short_date,
            author_names=author_names,
            author_links=author_links,
            author_slug=author_slug,
            author_name=tex_to_unicode,
            compact=compact,
        )
        env.filters.update(MATH_FILTERS)  # math_title, math_abstract, math_snippet, math_marked, plain_text
        env.globals.update(abs_url=abs_url, pdf_url=pdf_url, version=__version__, base_url=settings.base_url)
        env.globals.update(static_url=static_url, swagger_url=swagger_url)  # versioned links (web/assets.py)
        limits = RateLimits(settings.redis_url or "memory://")
        cache = PageCache(engine, ttl=settings.page_cache_ttl, max_bytes=settings.page_cache_mb << 20)
        site = cls(settings, engine, cache, env, limits, Searcher(engine, settings))
        site.for_you = Pool(engine, settings)
        return site

    def render(self, template: str, **context: Any) -> bytes:
        return self.templates.get_template(template).render(**context).encode()


def site_of(request: Request) -> Site:
    return request.app.state.site  # type: ignore[no-any-return]


def respond(request: Request, item: Cached, extra_headers: dict[str, str] | None = None) -> Response:
    """A cached item as a response: gzipped when the client accepts it (the ETag then weak, as the bytes
    differ), or 304 when the client's copy is current (compared weakly: either encoding's ETag matches)."""
    shared = site_of(request).settings.shared_cache_seconds
    # Browsers revalidate (max-age=0); shared caches (a proxy, a CDN) may keep it `shared` seconds.
    control = f"public, max-age=0, s-maxage={shared}, stale-while-revalidate={shared}" if shared > 0 else "no-cache"
    body, etag, headers = item.body, item.etag, {"Cache-Control": control}
    if item.gzipped is not None:
        headers["Vary"] = "Accept-Encoding"
        if transport.accepts_gzip(request.headers.get("accept-encoding", "")):
            body, etag = item.gzipped, "W/" + item.etag
            headers["Content-Encoding"] = "gzip"
    headers["ETag"] = etag
    if item.media_type.startswith("text/html"):
        headers.update(HTML_HEADERS)
    headers.update(item.headers)
    if extra_headers:
        headers.update(extra_headers)
    if item.status == 200 and item.etag in _etags(request.headers.get("if-none-match", "")):
        # RFC 9110 15.4.5: a 304 carries the headers a 200 would have that a cache needs.
        kept = ("ETag", "Vary", "Cache-Control")
        return Response(status_code=304, headers={k: v for k, v in headers.items() if k in kept})
    return Response(body, status_code=item.status, media_type=item.media_type, headers=headers)


def _etags(if_none_match: str) -> list[str]:
    """The entity tags an If-None-Match header lists, weak ones as strong (its comparison is weak)."""
    return [tag.strip().removeprefix("W/") for tag in if_none_match.split(",")]


def cache_key(request: Request) -> tuple[str, str]:
    """The page cache's key for a request, and its segment (web/cache.py).

    Only the query parameters the route reads count, in a canonical order: the page a route renders
    depends on nothing else, so `?junk=1` or reordered parameters must not make new entries. Routes that
    take free text (`q`) go to the segment for pages a stranger can vary at will."""
    route = request.scope.get("route")
    known = _query_names(route) if route is not None else frozenset()
    pairs = sorted(((k, v) for k, v in request.query_params.multi_items() if k in known), key=lambda kv: kv[0])
    segment = VARIED if "q" in known else PAGES
    return request.url.path + "?" + urlencode(pairs), segment


def _query_names(route: Any) -> frozenset[str]:
    """The query parameters `route` reads, remembered on the route (routes are not hashable)."""
    known = getattr(route, "_dp_query_names", None)
    if known is not None:
        return known  # type: ignore[no-any-return]
    names: set[str] = set()
    stack = [getattr(route, "dependant", None)]
    while stack:  # the route's own parameters and its dependencies'
        dependant = stack.pop()
        if dependant is not None:
            names.update(p.alias for p in getattr(dependant, "query_params", ()))
            stack.extend(getattr(dependant, "dependencies", ()))
    route._dp_query_names = frozenset(names)
    return route._dp_query_names  # type: ignore[no-any-return]


async def cached(request: Request, render: Callable[[], Rendered], variant: str = "") -> Response:
    """Serve from the page cache, rendering in a worker thread on a miss (`variant`: another copy of the same
    URL, e.g. without the subscribe banner)."""
    cache = site_of(request).cache
    key, segment = cache_key(request)
    if variant:
        key += "#" + variant
    hit = cache.peek(key, segment)  # on the event loop only when no database read is due
    if isinstance(hit, Cached):
        observe.cache_lookup("hit")
    else:  # get_or_render counts its hit or miss
        hit = await run_in_threadpool(cache.get_or_render, key, render, segment)
    return respond(request, hit)
