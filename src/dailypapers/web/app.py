"""The ASGI application, built by a function so tests can create as many as they need."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import anyio.to_thread
from fastapi import APIRouter, FastAPI
from fastapi.responses import JSONResponse, Response
from starlette.middleware.gzip import GZipMiddleware

from dailypapers import __version__
from dailypapers.config import Settings
from dailypapers.jobs.engine import JobSystem
from dailypapers.store.db import make_engine, pending_migrations
from dailypapers.web import (
    account_pages,
    admin,
    api,
    api_docs,
    atom,
    banner,
    browse,
    collections,
    commenting,
    curation,
    curation_day,
    digest_preview,
    errors,
    following,
    for_you,
    library,
    media,
    metrics,
    openapi_doc,
    pages,
    privacy,
    profile_pages,
    saving,
    search,
    submit,
    subscribe,
    transport,
    trending,
    upvotes,
)
from dailypapers.web.assets import STATIC, SWAGGER_PREFIX, SWAGGER_UI, VersionedStatic
from dailypapers.web.front import CacheFront
from dailypapers.web.headers import SecurityHeaders
from dailypapers.web.limits import BodyLimit, JsonDepthLimit
from dailypapers.web.observe import Observe, RouteProbe
from dailypapers.web.site import Site

if TYPE_CHECKING:
    from sqlalchemy import Engine

log = logging.getLogger(__name__)
MAX_BODY = 1 << 20

# Every route of the site, in matching order. Starlette takes the first route that matches, and the
# catch-all paper routes (`/papers/{id:path}`, `/api/papers/{id:path}`: old arXiv ids have a slash)
# would swallow `/papers/{id}/comments`, `/api/papers/search` and the like: those come first, the
# catch-alls last. tests/web/test_routes.py checks that no route is shadowed by an earlier one.
ROUTERS: tuple[APIRouter, ...] = (
    account_pages.router,
    api_docs.router,
    banner.router,
    media.router,
    upvotes.router,
    saving.router,  # /papers/{id}/save, /api/papers/{id}/save
    collections.router,
    following.router,
    library.router,
    privacy.router,
    for_you.router,
    submit.router,
    curation.router,
    commenting.router,
    admin.router,
    curation_day.router,
    profile_pages.router,
    trending.router,
    subscribe.router,
    subscribe.api_router,
    digest_preview.router,
    search.router,
    browse.router,  # /orgs/{name}/feed.atom before atom's /{kind}/{value}/feed.atom
    api.router,  # /api/papers/{paper_id:path}
    atom.router,
    pages.router,  # /papers/{paper_id:path}
)


def create_app(settings: Settings, engine: Engine | None = None, *, background: bool = True) -> FastAPI:
    """The site for `settings` (on `engine`, or one made from the settings' database URL)."""
    engine = engine or make_engine(settings.database_url)
    site = Site.build(settings, engine)
    site.paper_sections.update(
        thread=commenting.thread_section,
        curation=curation.curation_section,
        similar=search.similar_section,
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.threads > 0:
            anyio.to_thread.current_default_thread_limiter().total_tokens = settings.threads
        site.toggles = anyio.CapacityLimiter(1)
        if background:
            # Load the embedding model and the semantic index now, not on the first query (/readyz waits).
            threading.Thread(target=site.searcher.warm, daemon=True, name="search-warm-up").start()
            worker = settings.jobs == "embedded"
            site.jobs = JobSystem(settings, engine, worker=worker, on_change=site.cache.invalidate).start()
        else:
            site.searcher.warmed.set()  # nothing warms up: searches load what they need themselves
        site.pending_migrations = pending_migrations(engine)
        yield
        if site.jobs is not None:
            site.jobs.stop()
        from dailypapers.search.semantic import save_all

        save_all(engine)  # SQLite: the semantic index file, if this process changed it

    app = FastAPI(
        title="Daily Papers",
        version=__version__,
        description="Trending research papers. The JSON API follows Hugging Face's papers API.",
        lifespan=lifespan,
        docs_url=None,  # our own /docs (web/api_docs.py): Swagger UI from this origin, not a CDN
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    app.state.site = site

    errors.install(app)

    @app.get("/healthz", include_in_schema=False)
    async def health() -> dict[str, str]:
        """Liveness: the process answers."""
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False)
    async def ready() -> Response:
        """Readiness: migrations applied and, where the store holds embeddings, the model loaded."""
        waiting = site.not_ready()
        body = {"status": "waiting" if waiting else "ready", "waiting_for": waiting}
        return JSONResponse(body, status_code=503 if waiting else 200)

    metrics.install(app, site)  # GET /metrics, for Prometheus (docs/operations.md)

    for router in ROUTERS:
        app.include_router(router)
    openapi_doc.install(app)
    app.mount(SWAGGER_PREFIX, VersionedStatic(directory=SWAGGER_UI), name="swagger-ui")  # before /static
    app.mount("/static", VersionedStatic(directory=STATIC), name="static")
    app.add_middleware(RouteProbe)  # innermost: hands Observe the scope the router fills in (web/observe.py)
    app.add_middleware(JsonDepthLimit)  # inside BodyLimit: it reads bodies already bounded in size
    app.add_middleware(BodyLimit, max_bytes=MAX_BODY)
    app.add_middleware(CacheFront, cache=site.cache)  # cache hits answered before routing (web/front.py)
    app.add_middleware(SecurityHeaders, https=settings.base_url.startswith("https://"))
    app.add_middleware(GZipMiddleware, minimum_size=transport.MIN_SIZE, compresslevel=transport.LEVEL)
    app.add_middleware(transport.HeadAsGet)  # everything inside sees a GET (web/transport.py)
    app.add_middleware(Observe, routes=app.router.routes)  # outermost: request ids, metrics, access log
    return app


def create_app_from_env() -> FastAPI:
    """Entry point for `uvicorn --factory` and `dailypapers serve`."""
    return create_app(Settings.from_env())
