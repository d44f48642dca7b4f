"""Upvotes from the pages (form posts, enhanced by app.js) and from the API (bearer tokens).

A signed-out reader's upvote link (`GET /papers/{id}/upvote`) carries the vote through signing in: it sends
them to sign in (or up) with `next` naming the vote and the page they were on (`intent_url`). Signing in
(a CSRF-checked form) or activating the account (its secret link) then casts that vote once (a vote is
idempotent) and lands them back on that page (`cast_intent`). A signed-in GET only shows a confirmation
form: no GET changes anything.
"""

from __future__ import annotations

import re
from dataclasses import asdict
from typing import Annotated
from urllib.parse import parse_qs, quote, unquote, urlencode, urlsplit

from fastapi import APIRouter, Depends, Form, Request, Response
from fastapi.responses import JSONResponse, RedirectResponse

from dailypapers.curation import voting
from dailypapers.problems import NotFound, Problem
from dailypapers.store import feed, votes
from dailypapers.store.accounts import Account
from dailypapers.store.db import read_tx
from dailypapers.web.auth import check_csrf, rate_limit, render_personal, require_user, toggle_lane, viewer
from dailypapers.web.site import site_of

router = APIRouter()


def vote(request: Request, paper_id: str, on: bool) -> dict[str, object]:
    account = require_user(request)
    rate_limit(request, "vote", f"user:{account.pk}")
    return asdict(voting.vote(site_of(request).engine, account, paper_id, on))


# Browsers drop tabs and line breaks from URLs and read a backslash as a slash: "/<TAB>/evil" is "//evil".
_NOT_IN_PATHS = re.compile(r"[\x00-\x1f\x7f\\]")


def local_path(target: str | None) -> str | None:
    """`target` if it is a path on this site: it starts with one slash and holds no backslash or control
    character (`//host`, `/\\host` or a slash, a tab and `/host` would take a browser to another site)."""
    if target and target.startswith("/") and not target.startswith("//") and not _NOT_IN_PATHS.search(target):
        return target
    return None


def back_from_referer(request: Request) -> str | None:
    """The page (path and query) of this site the request came from, if the browser said; None for a
    `Referer` of another origin."""
    referer = urlsplit(request.headers.get("referer", ""))
    ours = {request.url.netloc, urlsplit(site_of(request).settings.base_url).netloc}
    if referer.scheme not in ("http", "https") or referer.netloc not in ours or not referer.path:
        return None
    return local_path(referer.path + ("?" + referer.query if referer.query else ""))


def intent_url(paper_id: str, back: str) -> str:
    """The URL that names an upvote of `paper_id` asked for on the page `back`."""
    return f"/papers/{quote(paper_id, safe='/')}/upvote?" + urlencode({"back": back})


def intent_of(target: str) -> tuple[str, str] | None:
    """(paper id, page to go back to) when `target` (a sign-in's `next`) names an upvote, else None."""
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/papers/") or not parts.path.endswith("/upvote"):
        return None
    paper_id = unquote(parts.path[len("/papers/") : -len("/upvote")])
    if not paper_id:
        return None
    back = local_path(parse_qs(parts.query).get("back", [""])[0]) or f"/papers/{paper_id}"
    return paper_id, back


def intent_title(request: Request, target: str) -> str | None:
    """The title of the paper whose upvote `target` names (for the sign-in page), or None."""
    intent = intent_of(target)
    if intent is None:
        return None
    with read_tx(site_of(request).engine) as conn:
        pk = feed.paper_pk_of(conn, intent[0])
        return feed.title_of(conn, pk) if pk is not None else None


def cast_intent(request: Request, account: Account, target: str) -> str:
    """Where to go after signing in: `target`, or, when it names an upvote, that upvote cast (once) and the
    page it was asked on, at the paper's card."""
    intent = intent_of(target)
    if intent is None:
        return target
    paper_id, back = intent
    try:
        voting.vote(site_of(request).engine, account, paper_id, True)
    except Problem:  # the paper is gone: the sign-in still counts
        return back
    return landing(paper_id, back)


def landing(paper_id: str, back: str) -> str:
    """The page `back` at the paper's card (a feed page), or the paper page itself."""
    return back if urlsplit(back).path == f"/papers/{paper_id}" else f"{back}#paper-{paper_id}"


@router.get("/papers/{paper_id:path}/upvote", include_in_schema=False)
def upvote_link(request: Request, paper_id: str, back: str = "") -> Response:
    """The signed-out upvote link: off to sign in, carrying the vote; signed in, a form that confirms it."""
    back = local_path(back) or back_from_referer(request) or f"/papers/{paper_id}"
    account = viewer(request)
    if account is None:
        return RedirectResponse("/signin?" + urlencode({"next": intent_url(paper_id, back)}), status_code=303)
    with read_tx(site_of(request).engine) as conn:
        pk = feed.paper_pk_of(conn, paper_id)
        if pk is None:
            raise NotFound(f"Paper {paper_id} not found")
        title, upvoted = feed.title_of(conn, pk), votes.has_voted(conn, account.pk, pk)
    context = {"paper_id": paper_id, "title": title, "upvoted": upvoted, "back": landing(paper_id, back)}
    return render_personal(request, "upvote.html", **context)


@router.post("/papers/{paper_id:path}/upvote", include_in_schema=False, dependencies=[Depends(check_csrf)])
async def upvote_form(
    request: Request,
    paper_id: str,
    on: Annotated[str, Form(pattern="^[01]$")] = "1",
    back: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    result = await toggle_lane(request, vote, request, paper_id, on == "1")
    if "application/json" in request.headers.get("accept", ""):
        return JSONResponse(result)
    to = local_path(back) or back_from_referer(request) or local_path(f"/papers/{paper_id}") or "/"
    return RedirectResponse(to, status_code=303)


@router.post("/api/papers/{paper_id:path}/upvote", tags=["community"], dependencies=[Depends(check_csrf)])
async def api_upvote(request: Request, paper_id: str) -> dict[str, object]:
    """Upvote a paper (idempotent). Send `Authorization: Bearer <token>`."""
    return await toggle_lane(request, vote, request, paper_id, True)


@router.delete("/api/papers/{paper_id:path}/upvote", tags=["community"], dependencies=[Depends(check_csrf)])
async def api_remove_upvote(request: Request, paper_id: str) -> dict[str, object]:
    """Take back an upvote (idempotent)."""
    return await toggle_lane(request, vote, request, paper_id, False)
