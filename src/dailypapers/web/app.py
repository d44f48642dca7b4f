"""The ASGI application, built by a function so tests can create as many as they need."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import AsyncIterator

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine
from sqlalchemy.exc import DataError

from dailypapers import __version__
from dailypapers.config import Settings
from dailypapers.store import search_index
from dailypapers.store.db import make_engine
from dailypapers.web import (
    account_pages,
    admin,
    api,
    comments,
    community,
    curation,
    digest_preview,
    feeds,
    pages,
    profiles,
    search,
    submit,
    subscriptions,
    trending,
)
from dailypapers.web.limits import BodyLimit
from dailypapers.web.site import HTML_HEADERS, Site

log = logging.getLogger(__name__)
STATIC = pages.__file__.rsplit("/", 1)[0] + "/static"
MAX_BODY = 1 << 20


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def _error(request: Request, status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    if 300 <= status < 400 and headers and "Location" in headers:
        return Response(status_code=status, headers=headers)
    if _is_api(request):
        return JSONResponse({"error": message}, status_code=status, headers=headers)
    site: Site = request.app.state.site
    body = site.render("error.html", status=status, message=message)
    all_headers = {**HTML_HEADERS, **(headers or {})}
    return Response(body, status_code=status, media_type="text/html; charset=utf-8", headers=all_headers)


def _background(site: Site, stop: threading.Event) -> None:
    """Keeps the keyword index caught up with papers written by other processes or commands."""
    while not stop.wait(5.0):
        try:
            if search_index.index_pending(site.engine):
                site.cache.invalidate()
        except Exception:  # keep serving; the next round retries
            log.exception("keyword indexing failed")


def create_app(settings: Settings, engine: Engine | None = None, *, background: bool = True) -> FastAPI:
    """The site for `settings` (on `engine`, or one made from the settings' database URL)."""
    engine = engine or make_engine(settings.database_url)
    site = Site.build(settings, engine)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        stop = threading.Event()
        workers: list[threading.Thread] = []
        scheduler = None
        if background:
            workers.append(threading.Thread(target=_background, args=(site, stop), daemon=True, name="fts"))
            workers.append(threading.Thread(target=site.searcher.warm, daemon=True, name="search-warm-up"))
            if settings.fetch_categories:
                from dailypapers.ingest.scheduler import HarvestScheduler

                scheduler = HarvestScheduler(engine, settings)
                scheduler.start()
        embedding = None
        if background and settings.embed_background:
            from dailypapers.search.background import EmbeddingWorker

            # Embeds new papers (loading the model only then); semantic indexes catch up after each chunk.
            embedding = EmbeddingWorker(engine, settings, on_embedded=lambda _n: site.cache.invalidate())
            embedding.start()
        digests = None
        if background and settings.digest_scheduler:
            from dailypapers.digest.scheduler import DigestScheduler

            digests = DigestScheduler(engine, settings)
            digests.start()
        for t in workers:
            t.start()
        yield
        stop.set()
        if scheduler:
            scheduler.stop()
        if digests:
            digests.stop()
        if embedding:
            embedding.stop()
        from dailypapers.search.semantic import save_all

        save_all(engine)  # SQLite: the semantic index file, if this process changed it

    app = FastAPI(
        title="Daily Papers",
        version=__version__,
        description="Trending research papers. The JSON API follows Hugging Face's papers API.",
        lifespan=lifespan,
        docs_url="/docs",
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    app.state.site = site

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        return _error(request, exc.status_code, str(exc.detail), exc.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'][1:]) or e['loc'][0]}: {e['msg']}" for e in exc.errors()
        )
        status = 422 if _is_api(request) else 400
        return _error(request, status, f"Invalid request: {problems}")

    @app.exception_handler(DataError)
    async def bad_data(request: Request, exc: DataError) -> Response:
        # A value the database refuses (e.g. a NUL character on PostgreSQL) is the client's error.
        return _error(request, 400, "Invalid characters in the request")

    @app.exception_handler(404)
    async def not_found(request: Request, exc: Exception) -> Response:
        return _error(request, 404, getattr(exc, "detail", "Not found"))

    @app.get("/healthz", include_in_schema=False)
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    app.include_router(account_pages.router)
    app.include_router(community.router)
    for module in (submit, curation, comments, admin, profiles, trending, subscriptions, digest_preview):
        app.include_router(module.router)
    app.include_router(subscriptions.api_router)
    app.include_router(search.router)  # before api.router: /api/papers/{id}/similar, /api/papers/search
    app.include_router(api.router)
    app.include_router(feeds.router)
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.add_middleware(BodyLimit, max_bytes=MAX_BODY)
    return app


def create_app_from_env() -> FastAPI:
    """Entry point for `uvicorn --factory` and `dailypapers serve`."""
    return create_app(Settings.from_env())
