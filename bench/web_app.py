"""The production app plus one bench-only route: a precomputed static 20 KB page, the ceiling."""

from __future__ import annotations

from fastapi import FastAPI, Response

from dailypapers.web.app import create_app_from_env

STATIC_PAGE = (b"<!doctype html><html><body>" + b"<p>" + b"x" * 96 + b"</p>" * 1 + b"\n") * 190 + b"</body></html>"


def create() -> FastAPI:
    app = create_app_from_env()

    @app.get("/bench/static", include_in_schema=False)
    async def static_page() -> Response:
        return Response(STATIC_PAGE, media_type="text/html; charset=utf-8")

    return app


def create_bare() -> FastAPI:
    """Bare FastAPI with the one static route: the ceiling the issue measures the feed against."""
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)

    @app.get("/healthz", include_in_schema=False)
    async def health() -> dict[str, str]:  # what the benchmark waits for
        return {"status": "ok"}

    @app.get("/bench/static", include_in_schema=False)
    async def static_page() -> Response:
        return Response(STATIC_PAGE, media_type="text/html; charset=utf-8")

    return app
