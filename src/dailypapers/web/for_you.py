"""The reader's own ranking: /for-you, GET /api/for-you and the "not interested" button (docs/personal.md).

Signed-out visitors and readers who have told us nothing yet see the community's trending papers and an
invitation to say what they read; the ranking itself is personal.for_you's."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request, Response
from fastapi.responses import JSONResponse, RedirectResponse

from dailypapers.personal import for_you
from dailypapers.store.db import read_tx
from dailypapers.web import hf_shapes
from dailypapers.web.auth import check_csrf, rate_limit, require_user, serve_page, toggle_lane
from dailypapers.web.cards import card_context
from dailypapers.web.site import Site, site_of
from dailypapers.web.upvotes import back_from_referer, local_path

router = APIRouter()

DaysParam = Annotated[int, Query(ge=1, le=for_you.MAX_DAYS, description="Papers of the last `days` days")]
LimitParam = Annotated[int, Query(ge=1, le=for_you.MAX_LIMIT, description="How many papers")]
PAGE_SIZE = 30


def _ranking(site: Site, user_pk: int, days: int, limit: int) -> for_you.ForYou:
    assert site.for_you is not None
    return for_you.recommend(site.engine, site.settings, site.for_you, site.searcher, user_pk, days, limit)


def _render(site: Site, days: int, ctx: dict[str, Any]) -> tuple[bytes, str, int]:
    viewer = ctx.get("viewer")
    result = _ranking(site, viewer.pk, days, PAGE_SIZE) if viewer else None
    if result is None:
        result = for_you.community_trending(site.engine, site.settings, 0, PAGE_SIZE, days)
    entries = [p.entry for p in result.picks]
    with read_tx(site.engine) as conn:
        ctx = card_context(conn, site.settings, ctx, entries)
    body = site.render("for_you.html", result=result, days=days, day_choices=(1, 3, 7, 14, 30), **ctx)
    return body, "text/html; charset=utf-8", 200


@router.get("/for-you", include_in_schema=False)
async def for_you_page(request: Request, days: DaysParam = for_you.DEFAULT_DAYS) -> Response:
    """The reader's ranking; for anonymous visitors (cached) the trending papers and an invitation."""
    site = site_of(request)
    return await serve_page(request, lambda ctx: _render(site, days, ctx))


@router.get("/api/for-you", tags=["personal"])
def api_for_you(request: Request, days: DaysParam = for_you.DEFAULT_DAYS, limit: LimitParam = 20) -> dict[str, Any]:
    """Recent papers ranked for the signed-in reader from their saves, collections, upvotes, follows,
    imported library and "not interested" clicks, each with a reason. `personalized` is false while the
    reader has told us nothing: the papers are then the community's trending ones."""
    account = require_user(request)
    site = site_of(request)
    result = _ranking(site, account.pk, days, limit)
    base = site.settings.base_url
    return {
        "personalized": result.personal,
        "days": result.days,
        "since": result.since.isoformat() if result.since else None,
        "until": result.until.isoformat() if result.until else None,
        "signals": result.signals,
        "follows": result.follows,
        "papers": [
            {
                **hf_shapes.daily_item(p.entry, base),
                "reason": p.reason,
                "reasonKind": p.kind,
                "score": round(p.score, 4),
            }
            for p in result.picks
        ],
    }


def _dismiss(request: Request, paper_id: str, on: bool) -> dict[str, object]:
    account = require_user(request)
    rate_limit(request, "vote", f"user:{account.pk}")
    state = for_you.not_interested(site_of(request).engine, account.pk, paper_id, on)
    return {"paper_id": paper_id, "not_interested": state}


@router.post("/papers/{paper_id:path}/not-interested", include_in_schema=False, dependencies=[Depends(check_csrf)])
async def not_interested_form(
    request: Request,
    paper_id: str,
    on: Annotated[str, Form(pattern="^[01]$")] = "1",
    back: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    result = await toggle_lane(request, _dismiss, request, paper_id, on == "1")
    if "application/json" in request.headers.get("accept", ""):
        return JSONResponse(result)
    return RedirectResponse(local_path(back) or back_from_referer(request) or "/for-you", status_code=303)


@router.post("/api/papers/{paper_id:path}/not-interested", tags=["personal"], dependencies=[Depends(check_csrf)])
async def api_not_interested(request: Request, paper_id: str) -> dict[str, object]:
    """Not interested in this paper: it leaves your "for you" list, and papers like it sink (idempotent)."""
    return await toggle_lane(request, _dismiss, request, paper_id, True)


@router.delete("/api/papers/{paper_id:path}/not-interested", tags=["personal"], dependencies=[Depends(check_csrf)])
async def api_take_back(request: Request, paper_id: str) -> dict[str, object]:
    """Take back a "not interested" (idempotent)."""
    return await toggle_lane(request, _dismiss, request, paper_id, False)
