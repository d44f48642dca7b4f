"""Every error response of the site, in one place: domain refusals (`problems`), HTTP errors raised by
handlers, and requests that fail validation. The JSON API answers `{"error": ...}`; pages the error page.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException
from starlette.routing import Match

from dailypapers.problems import BadRequest, Forbidden, NotFound, Problem, Unavailable, Unprocessable
from dailypapers.web.site import HTML_HEADERS, Site

# Most specific first: the first class a problem is an instance of decides.
_STATUS: tuple[tuple[type[Problem], int, int], ...] = (  # (problem, status on pages, status in the JSON API)
    (Unprocessable, 400, 422),  # as a JSON body that fails validation
    (BadRequest, 400, 400),
    (NotFound, 404, 404),
    (Forbidden, 403, 403),
    (Unavailable, 502, 502),
)


def is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def status_for(problem: Problem, *, api: bool) -> int:
    """The HTTP status that answers `problem` on a page (`api` False) or in the JSON API."""
    for kind, page, json in _STATUS:
        if isinstance(problem, kind):
            return json if api else page
    return 400


def error_response(request: Request, status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    """`{"error": message}` in the JSON API, the error page elsewhere; redirects pass through."""
    if 300 <= status < 400 and headers and "Location" in headers:
        return Response(status_code=status, headers=headers)
    if is_api(request):
        return JSONResponse({"error": message}, status_code=status, headers=headers)
    site: Site = request.app.state.site
    body = site.render("error.html", status=status, message=message)
    all_headers = {**HTML_HEADERS, **(headers or {})}
    return Response(body, status_code=status, media_type="text/html; charset=utf-8", headers=all_headers)


def install(app: FastAPI) -> None:
    """Answer every error of `app` as above."""

    @app.exception_handler(Problem)
    async def refused(request: Request, exc: Problem) -> Response:
        return error_response(request, status_for(exc, api=is_api(request)), str(exc))

    @app.exception_handler(HTTPException)  # Starlette's: FastAPI's and the router's own (404, 405)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = ", ".join(allowed_methods(request))
        return error_response(request, exc.status_code, str(exc.detail), headers)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'][1:]) or e['loc'][0]}: {e['msg']}" for e in exc.errors()
        )
        return error_response(request, 422 if is_api(request) else 400, f"Invalid request: {problems}")

    @app.exception_handler(404)
    async def not_found(request: Request, exc: Exception) -> Response:
        return error_response(request, 404, getattr(exc, "detail", "Not found"))


def allowed_methods(request: Request) -> list[str]:
    """Every method some route answers at this path (HEAD wherever GET is, as web/transport.py does), for a
    405's `Allow`: the router names only the methods of the first route whose path matched. Each method is
    tried against the routes as the router would (included routers match as one route in FastAPI)."""
    methods = [
        method
        for method in _METHODS
        if any(
            route.matches({**request.scope, "method": method})[0] == Match.FULL for route in request.app.router.routes
        )
    ]
    if "GET" in methods and "HEAD" not in methods:
        methods.insert(methods.index("GET") + 1, "HEAD")
    return methods


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")
