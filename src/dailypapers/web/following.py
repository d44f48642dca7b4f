"""Follows: the follow buttons' forms, the Following page and /api/follows.

The Following page lists what the reader follows (with a form to follow more and a button to unfollow
each) and the papers new from it over the last `?days=` days, each with the follows that brought it. It
is the reader's own, rendered for each request. The follow buttons on author, organization and search
pages post to `/following/follow` and `/following/unfollow`, and come back to the page they were on.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Form, Query, Request, Response
from fastapi.responses import JSONResponse, RedirectResponse
from pydantic import BaseModel, ConfigDict, Field

from dailypapers.personal import follows
from dailypapers.personal.follows import FollowInfo
from dailypapers.problems import Problem
from dailypapers.store.accounts import Account
from dailypapers.store.convert import utc_today
from dailypapers.store.db import read_tx
from dailypapers.web import errors, hf_shapes
from dailypapers.web.auth import check_csrf, rate_limit, render_personal, require_user
from dailypapers.web.cards import card_context
from dailypapers.web.openapi_doc import ERROR
from dailypapers.web.params import PageParam, RowId
from dailypapers.web.saving import wants_json
from dailypapers.web.site import site_of
from dailypapers.web.upvotes import local_path

router = APIRouter()
PAGE_SIZE = 20
DEFAULT_DAYS = 7
MAX_DAYS = 90
DAY_CHOICES = (1, 7, 30, 90)
API_LIMIT = 100
_LONG = 20_000  # what a field may hold before the rules (which allow far less) see it
Days = Annotated[int, Query(ge=1, le=MAX_DAYS, description="papers new over this many days, today included")]
# What a GET of the reader's own answers signed out (web/openapi_doc.py documents it for writes only).
SIGNED_IN: dict[int | str, dict[str, Any]] = {
    401: {
        "description": "Not signed in: send `Authorization: Bearer <token>` (a token from the settings page)",
        "content": {"application/json": {"schema": ERROR}},
    }
}
KIND_NAMES = {"author": "Authors", "org": "Organizations", "category": "Categories", "search": "Searches"}


def follow_url(kind: str, label: str) -> str:
    """The page of what a follow follows: an author's or organization's papers, a category, a search."""
    if kind == "author":
        return "/authors/" + quote(label, safe="")
    if kind == "org":
        return "/orgs/" + quote(label, safe="")
    if kind == "category":
        return "/?" + urlencode({"cat": label})
    return "/search?" + urlencode({"q": label})


def follow_json(f: FollowInfo) -> dict[str, Any]:
    return {
        "id": f.pk,
        "kind": f.kind,
        "key": f.key,
        "label": f.label,
        "url": follow_url(f.kind, f.label),
        "created_at": f.created_at.isoformat().replace("+00:00", "Z"),
    }


def _since(days: int) -> dt.date:
    """The first day of the last `days` days, today (UTC) included."""
    return utc_today() - dt.timedelta(days=days - 1)


def _account(request: Request) -> Account:
    account = require_user(request)
    rate_limit(request, "vote", f"user:{account.pk}")  # follows share the upvote's budget
    return account


# ---- the page and its forms ----


def _page(request: Request, account: Account, days: int, page: int, status: int = 200, **extra: Any) -> Response:
    site = site_of(request)
    mine = follows.follows_of(site.engine, account.pk)
    found = follows.new_from_follows(
        site.engine, site.searcher, account.pk, _since(days), PAGE_SIZE + 1, offset=page * PAGE_SIZE
    )
    more, found = len(found) > PAGE_SIZE, found[:PAGE_SIZE]
    groups = {kind: [(f, follow_url(f.kind, f.label)) for f in mine if f.kind == kind] for kind in KIND_NAMES}
    with read_tx(site.engine) as conn:
        ctx = card_context(conn, site.settings, {"viewer": account}, [p.entry for p in found])
    ctx.pop("viewer")
    context = {
        "papers": found,
        "groups": groups,
        "kind_names": KIND_NAMES,
        "total_follows": len(mine),
        "days": days,
        "day_choices": DAY_CHOICES,
        "since": _since(days),
        "page": page,
        "more": more,
        "max_follows": follows.MAX_FOLLOWS,
        **ctx,
        **extra,
    }
    return render_personal(request, "following.html", status=status, **context)


@router.get("/following", include_in_schema=False)
def following_page(request: Request, days: Days = DEFAULT_DAYS, p: PageParam = 0) -> Response:
    """What the reader follows, and the papers new from it over the last `days` days, newest first."""
    return _page(request, require_user(request), days, p)


@router.post("/following/follow", include_in_schema=False, dependencies=[Depends(check_csrf)])
def follow_form(
    request: Request,
    kind: Annotated[str, Form(max_length=_LONG)],
    value: Annotated[str, Form(max_length=_LONG)] = "",
    back: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Follow something (the follow buttons, and the Following page's form, which shows its own errors)."""
    account = _account(request)
    try:
        f = follows.follow(site_of(request).engine, account, kind, value)
    except Problem as exc:
        if wants_json(request) or local_path(back):
            raise
        status = errors.status_for(exc, api=False)
        return _page(request, account, DEFAULT_DAYS, 0, status=status, error=str(exc), kind=kind, value=value)
    if wants_json(request):
        return JSONResponse(follow_json(f))
    return RedirectResponse(local_path(back) or "/following", status_code=303)


@router.post("/following/unfollow", include_in_schema=False, dependencies=[Depends(check_csrf)])
def unfollow_form(
    request: Request,
    kind: Annotated[str, Form(max_length=_LONG)] = "",
    value: Annotated[str, Form(max_length=_LONG)] = "",
    pk: Annotated[RowId | None, Form()] = None,
    back: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Stop following: one of the reader's follows by its `pk`, or `value` as `kind`."""
    account = _account(request)
    engine = site_of(request).engine
    if pk is not None:
        follows.unfollow_by_pk(engine, account, pk)
    else:
        follows.unfollow(engine, account, kind, value)
    if wants_json(request):
        return JSONResponse({"following": False})
    return RedirectResponse(local_path(back) or "/following", status_code=303)


# ---- the API ----


class FollowIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: str = Field(max_length=_LONG, description="author, org, category or search")
    value: str = Field(
        max_length=_LONG, description="an author's or organization's name, a category (cs.CL, or cs), a search"
    )


@router.get("/api/follows", tags=["follows"], responses=SIGNED_IN)
def api_follows(request: Request) -> list[dict[str, Any]]:
    """What you follow, oldest first."""
    account = require_user(request)
    return [follow_json(f) for f in follows.follows_of(site_of(request).engine, account.pk)]


@router.post("/api/follows", tags=["follows"], dependencies=[Depends(check_csrf)])
def api_follow(request: Request, body: FollowIn) -> dict[str, Any]:
    """Follow an author, an organization, a category or a search (idempotent: answers the follow)."""
    account = _account(request)
    return follow_json(follows.follow(site_of(request).engine, account, body.kind, body.value))


@router.delete("/api/follows", tags=["follows"], dependencies=[Depends(check_csrf)])
def api_unfollow(
    request: Request,
    kind: Annotated[str, Query(max_length=_LONG)],
    value: Annotated[str, Query(max_length=_LONG)],
) -> dict[str, Any]:
    """Stop following `value` as `kind` (idempotent); `removed` says whether you followed it."""
    account = _account(request)
    return {"removed": follows.unfollow(site_of(request).engine, account, kind, value)}


@router.delete("/api/follows/{follow_id}", tags=["follows"], dependencies=[Depends(check_csrf)])
def api_unfollow_by_id(request: Request, follow_id: RowId) -> dict[str, Any]:
    """Stop following your follow `follow_id` (404 when you have none of that id); answers the follow."""
    account = _account(request)
    return follow_json(follows.unfollow_by_pk(site_of(request).engine, account, follow_id))


@router.get("/api/follows/papers", tags=["follows"], responses=SIGNED_IN)
def api_followed_papers(
    request: Request,
    days: Days = DEFAULT_DAYS,
    limit: Annotated[int, Query(ge=1, le=API_LIMIT)] = 20,
    offset: Annotated[int, Query(ge=0, le=10_000)] = 0,
) -> list[dict[str, Any]]:
    """Papers new over the last `days` days from what you follow, newest first, each with `reasons`."""
    account = require_user(request)
    site = site_of(request)
    found = follows.new_from_follows(site.engine, site.searcher, account.pk, _since(days), limit, offset)
    return [
        {**hf_shapes.paper(p.entry), "new_on": p.day.isoformat() if p.day else None, "reasons": p.reasons}
        for p in found
    ]
