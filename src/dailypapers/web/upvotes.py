"""Upvotes from the pages (form posts, enhanced by app.js) and from the API (bearer tokens)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request, Response
from fastapi.responses import JSONResponse, RedirectResponse

from dailypapers.curation import voting
from dailypapers.web.auth import check_csrf, rate_limit, require_user
from dailypapers.web.site import site_of

router = APIRouter()


def vote(request: Request, paper_id: str, on: bool) -> dict[str, object]:
    account = require_user(request)
    rate_limit(request, "vote", f"user:{account.pk}")
    return asdict(voting.vote(site_of(request).engine, account, paper_id, on))


@router.post("/papers/{paper_id:path}/upvote", include_in_schema=False, dependencies=[Depends(check_csrf)])
def upvote_form(request: Request, paper_id: str, on: Annotated[str, Form(pattern="^[01]$")] = "1") -> Response:
    result = vote(request, paper_id, on == "1")
    if "application/json" in request.headers.get("accept", ""):
        return JSONResponse(result)
    back = request.headers.get("referer") or f"/papers/{paper_id}"
    return RedirectResponse(back, status_code=303)


@router.post("/api/papers/{paper_id:path}/upvote", tags=["community"], dependencies=[Depends(check_csrf)])
def api_upvote(request: Request, paper_id: str) -> dict[str, object]:
    """Upvote a paper (idempotent). Send `Authorization: Bearer <token>`."""
    return vote(request, paper_id, True)


@router.delete("/api/papers/{paper_id:path}/upvote", tags=["community"], dependencies=[Depends(check_csrf)])
def api_remove_upvote(request: Request, paper_id: str) -> dict[str, object]:
    """Take back an upvote (idempotent)."""
    return vote(request, paper_id, False)
