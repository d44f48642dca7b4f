"""Upvotes from the pages (form posts, enhanced by app.js) and from the API (bearer tokens)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request, Response
from fastapi.responses import JSONResponse, RedirectResponse

from dailypapers.store import feed
from dailypapers.store import votes as votes_store
from dailypapers.store.accounts import Account
from dailypapers.store.db import write_tx
from dailypapers.web.auth import check_csrf, rate_limit, require_user
from dailypapers.web.site import site_of

router = APIRouter()


def vote(request: Request, account: Account, paper_id: str, on: bool) -> dict[str, object]:
    rate_limit(request, "vote", f"user:{account.pk}")
    with write_tx(site_of(request).engine) as conn:
        pk = feed.paper_pk_of(conn, paper_id)
        if pk is None:
            raise HTTPException(404, f"Paper {paper_id} not found")
        votes_store.set_vote(conn, account.pk, pk, on)
        return {
            "id": paper_id,
            "upvoted": votes_store.has_voted(conn, account.pk, pk),
            "upvotes": votes_store.upvotes_of(conn, pk),
        }


@router.post("/papers/{paper_id:path}/upvote", include_in_schema=False, dependencies=[Depends(check_csrf)])
def upvote_form(request: Request, paper_id: str, on: Annotated[str, Form(pattern="^[01]$")] = "1") -> Response:
    account = require_user(request)
    result = vote(request, account, paper_id, on == "1")
    if "application/json" in request.headers.get("accept", ""):
        return JSONResponse(result)
    back = request.headers.get("referer") or f"/papers/{paper_id}"
    return RedirectResponse(back, status_code=303)


@router.post("/api/papers/{paper_id:path}/upvote", tags=["community"], dependencies=[Depends(check_csrf)])
def api_upvote(request: Request, paper_id: str) -> dict[str, object]:
    """Upvote a paper (idempotent). Send `Authorization: Bearer <token>`."""
    return vote(request, require_user(request), paper_id, True)


@router.delete("/api/papers/{paper_id:path}/upvote", tags=["community"], dependencies=[Depends(check_csrf)])
def api_remove_upvote(request: Request, paper_id: str) -> dict[str, object]:
    """Take back an upvote (idempotent)."""
    return vote(request, require_user(request), paper_id, False)
