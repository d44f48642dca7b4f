"""Saving papers: the save toggle on cards and paper pages (a form, enhanced by app.js), the "Saved" page, and
the API's POST/DELETE /api/papers/{id}/save and GET /api/saved.

A signed-out reader's save link (`GET /papers/{id}/save`) sends them to sign in and back to it; signed in, that
link shows a form that confirms the save (no GET changes anything).
"""

from __future__ import annotations

import math
from dataclasses import asdict
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request, Response
from fastapi.responses import JSONResponse, RedirectResponse

from dailypapers.personal import collections as personal
from dailypapers.store.db import read_tx
from dailypapers.web import hf_shapes
from dailypapers.web.auth import check_csrf, rate_limit, render_personal, require_user, toggle_lane, viewer
from dailypapers.web.cards import card_context
from dailypapers.web.params import PageParam
from dailypapers.web.site import site_of
from dailypapers.web.upvotes import back_from_referer, local_path

router = APIRouter()
SAVED_PAGE = 30  # saved papers per page of /saved
API_LIMIT = 100
# A GET that needs an account answers 401 without one (web/openapi_doc.py documents 401 for writes only).
NEEDS_ACCOUNT: dict[int | str, dict[str, object]] = {
    401: {
        "description": "Not signed in: send `Authorization: Bearer <token>` (a token from the settings page)",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }
}


def wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "")


def toggle(request: Request, paper_id: str, on: bool) -> dict[str, object]:
    account = require_user(request)
    rate_limit(request, "vote", f"user:{account.pk}")  # the toggles share the upvote's budget
    return asdict(personal.save(site_of(request).engine, account, paper_id, on))


def render_saved(request: Request, page: int = 0, status: int = 200, **form: Any) -> Response:
    """The "Saved" page; `form` holds what the create form shows again (`error`, `name`, ...)."""
    account = require_user(request)
    site = site_of(request)
    found = personal.saved_view(site.engine, account, SAVED_PAGE, page * SAVED_PAGE)
    with read_tx(site.engine) as conn:
        cards = card_context(conn, site.settings, {"viewer": account}, found.entries)
    cards.pop("viewer")
    return render_personal(
        request,
        "saved.html",
        status,
        view=found,
        entries=found.entries,
        page=page,
        pages=max(1, math.ceil(found.total / SAVED_PAGE)),
        visibilities=personal.VISIBILITIES,
        limits={"name": personal.MAX_NAME, "description": personal.MAX_DESCRIPTION},
        cat_base="/",
        form=form,
        **cards,
    )


@router.get("/saved", include_in_schema=False)
def saved_page(request: Request, p: PageParam = 0) -> Response:
    """The reader's saved papers (the last saved first) and collections, with a form for a new collection."""
    return render_saved(request, p)


@router.get("/papers/{paper_id:path}/save", include_in_schema=False)
def save_link(request: Request, paper_id: str, back: str = "") -> Response:
    """The signed-out save link: off to sign in and back here; signed in, a form that confirms the save."""
    back = local_path(back) or back_from_referer(request) or f"/papers/{paper_id}"
    account = viewer(request)
    if account is None:
        here = f"/papers/{paper_id}/save?" + urlencode({"back": back})
        return RedirectResponse("/signin?" + urlencode({"next": here}), status_code=303)
    title, is_saved = personal.is_saved(site_of(request).engine, account, paper_id)
    return render_personal(request, "save.html", paper_id=paper_id, title=title, is_saved=is_saved, back=back)


@router.post("/papers/{paper_id:path}/save", include_in_schema=False, dependencies=[Depends(check_csrf)])
async def save_form(
    request: Request,
    paper_id: str,
    on: Annotated[str, Form(pattern="^[01]$")] = "1",
    back: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    result = await toggle_lane(request, toggle, request, paper_id, on == "1")
    if wants_json(request):
        return JSONResponse(result)
    to = local_path(back) or back_from_referer(request) or local_path(f"/papers/{paper_id}") or "/"
    return RedirectResponse(to, status_code=303)


@router.get("/api/saved", tags=["personal"], responses=NEEDS_ACCOUNT)
def api_saved(
    request: Request, p: PageParam = 0, limit: Annotated[int, Query(ge=1, le=API_LIMIT)] = 50
) -> dict[str, object]:
    """Your saved papers, the last saved first (`p` pages of `limit`). Send `Authorization: Bearer <token>`."""
    account = require_user(request)
    site = site_of(request)
    found = personal.saved_view(site.engine, account, limit, p * limit)
    return {
        "total": found.total,
        "papers": [
            {**hf_shapes.paper(e), "savedAt": found.saved_at[e.pk].isoformat().replace("+00:00", "Z")}
            for e in found.entries
        ],
    }


@router.post("/api/papers/{paper_id:path}/save", tags=["personal"], dependencies=[Depends(check_csrf)])
async def api_save(request: Request, paper_id: str) -> dict[str, object]:
    """Save a paper (idempotent). Send `Authorization: Bearer <token>`."""
    return await toggle_lane(request, toggle, request, paper_id, True)


@router.delete("/api/papers/{paper_id:path}/save", tags=["personal"], dependencies=[Depends(check_csrf)])
async def api_unsave(request: Request, paper_id: str) -> dict[str, object]:
    """Take a paper out of your saved papers (idempotent)."""
    return await toggle_lane(request, toggle, request, paper_id, False)
