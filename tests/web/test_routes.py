"""Every route is reachable: none is shadowed by an earlier one (the catch-all paper routes come last)."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute, Match

from dailypapers.config import Settings
from dailypapers.store.db import make_engine
from dailypapers.web.app import ROUTERS, create_app

SAMPLES = {"paper_id": "2401.01234", "kind": "date", "value": "2026-01-05", "day": "2026-01-05"}
SAMPLES |= {"week": "2026-W02", "month": "2026-01", "name": "ada", "token": "t"}


def sample_path(route: APIRoute) -> str:
    """A path this route matches: its parameters filled with plausible values."""
    return re.sub(r"{(\w+)(:\w+)?}", lambda m: SAMPLES.get(m[1], "1"), route.path)


def in_order(app: FastAPI) -> list[BaseRoute]:
    """The app's routes in matching order (FastAPI 0.165 keeps included routers as one entry each)."""
    routes: list[BaseRoute] = []
    for entry in app.router.routes:
        included = getattr(entry, "original_router", None)
        routes.extend(included.routes if included is not None else [entry])
    return routes


def shadowed(app: FastAPI) -> list[str]:
    """Routes whose own sample request is answered by an earlier route."""
    routes = in_order(app)
    found = []
    for route in [r for r in routes if isinstance(r, APIRoute)]:
        for method in route.methods:
            scope = {"type": "http", "path": sample_path(route), "method": method, "root_path": ""}
            first = next(r for r in routes if r.matches(scope)[0] == Match.FULL)
            if first is not route:
                found.append(f"{method} {route.path} is answered by {getattr(first, 'path', first)}")
    return found


def _app(tmp_path: Path) -> FastAPI:
    settings = Settings(data_dir=tmp_path, secret_key="k")
    return create_app(settings, make_engine(settings.database_url), background=False)


def test_no_route_is_shadowed(tmp_path: Path) -> None:
    app = _app(tmp_path)
    assert len([r for r in in_order(app) if isinstance(r, APIRoute)]) > 50
    assert shadowed(app) == []


def test_the_check_sees_a_shadowed_route(tmp_path: Path) -> None:
    app = _app(tmp_path)
    routes = in_order(app)
    routes.sort(key=lambda r: not getattr(r, "path", "").endswith("{paper_id:path}"))  # catch-alls first
    app.router.routes[:] = routes
    problems = shadowed(app)
    assert any("/api/papers/search" in p for p in problems)
    assert any(p.startswith("GET /api/papers/{paper_id:path}/similar") for p in problems)


def test_the_catch_all_paper_routes_are_the_last_routers() -> None:
    tails = [{r.path for r in router.routes} for router in ROUTERS[-3:]]
    assert "/api/papers/{paper_id:path}" in tails[0] and "/papers/{paper_id:path}" in tails[2]
