"""Comments on paper pages: form posts (create, reply, edit, delete, hide) and `POST /api/papers/{id}/comments`.

The rules are `comments.discussion`'s; refusals become responses in `web.errors`.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

import orjson
from fastapi import APIRouter, Depends, Form, HTTPException, Request, Response
from fastapi.responses import JSONResponse, RedirectResponse
from pydantic import BaseModel, Field

from dailypapers.comments import discussion
from dailypapers.comments.discussion import ThreadComment
from dailypapers.comments.markdown import MAX_BODY
from dailypapers.store import feed
from dailypapers.store.comments import CommentInfo
from dailypapers.store.db import read_tx
from dailypapers.store.feed import PaperDetail
from dailypapers.web.api import check_paper_id
from dailypapers.web.auth import check_csrf, rate_limit, require_user
from dailypapers.web.params import RowId
from dailypapers.web.site import Site, cached, site_of

router = APIRouter()
# Generous: the rules say clearly when a body is over MAX_BODY; this only stops absurd posts early.
BodyField = Annotated[str, Form(max_length=MAX_BODY * 10)]


def thread_section(site: Site, conn: Any, detail: PaperDetail, ctx: dict[str, Any]) -> list[ThreadComment]:
    """The paper page's thread, as the viewer in `ctx` may see it."""
    return discussion.thread(conn, detail.entry.pk, ctx.get("viewer"))


def comment_json(info: CommentInfo) -> dict[str, Any]:
    """A comment as the JSON API answers it."""

    def ts(value: Any) -> str | None:
        return value.isoformat().replace("+00:00", "Z") if value else None

    return {
        "id": info.pk,
        "paper": info.paper_id,
        "parent": info.parent_pk,
        "author": {"name": info.author},
        "comment": info.body,
        "html": info.html,
        "createdAt": ts(info.created_at),
        "editedAt": ts(info.edited_at),
        "hidden": info.hidden,
    }


def _back(paper_id: str, anchor: str) -> Response:
    return RedirectResponse(f"/papers/{quote(paper_id, safe='/')}#{anchor}", status_code=303)


def _post(request: Request, paper_id: str, body: str, parent: int | None) -> CommentInfo:
    account = require_user(request)
    rate_limit(request, "comment", f"user:{account.pk}")
    site = site_of(request)
    info = discussion.post(site.engine, paper_id, account, body, parent)
    site.cache.invalidate()
    return info


@router.post("/papers/{paper_id:path}/comments", include_in_schema=False, dependencies=[Depends(check_csrf)])
def post_comment(
    request: Request, paper_id: str, body: BodyField, parent: Annotated[RowId | None, Form()] = None
) -> Response:
    """Post a comment or a reply from the paper page."""
    info = _post(request, paper_id, body, parent)
    return _back(info.paper_id, f"comment-{info.pk}")


@router.post("/comments/{pk}/edit", include_in_schema=False, dependencies=[Depends(check_csrf)])
def edit_comment(request: Request, pk: RowId, body: BodyField) -> Response:
    """Change the text of one's own comment."""
    site = site_of(request)
    info = discussion.edit(site.engine, pk, require_user(request), body)
    site.cache.invalidate()
    return _back(info.paper_id, f"comment-{pk}")


@router.post("/comments/{pk}/delete", include_in_schema=False, dependencies=[Depends(check_csrf)])
def delete_comment(request: Request, pk: RowId) -> Response:
    """Delete one's own comment."""
    site = site_of(request)
    info = discussion.delete(site.engine, pk, require_user(request))
    site.cache.invalidate()
    # The comment may be gone from the page now: land on its parent, or on the discussion.
    return _back(info.paper_id, f"comment-{info.parent_pk}" if info.parent_pk else "discussion")


def _moderate(request: Request, pk: RowId, hidden: bool) -> Response:
    site = site_of(request)
    info = discussion.set_hidden(site.engine, pk, require_user(request), hidden)
    site.cache.invalidate()
    return _back(info.paper_id, f"comment-{pk}")


@router.post("/comments/{pk}/hide", include_in_schema=False, dependencies=[Depends(check_csrf)])
def hide_comment(request: Request, pk: RowId) -> Response:
    """Hide a comment from everyone but its author and moderators (curators and admins)."""
    return _moderate(request, pk, True)


@router.post("/comments/{pk}/unhide", include_in_schema=False, dependencies=[Depends(check_csrf)])
def unhide_comment(request: Request, pk: RowId) -> Response:
    """Show a hidden comment again (curators and admins)."""
    return _moderate(request, pk, False)


class NewComment(BaseModel):
    comment: str = Field(description=f"Markdown, at most {MAX_BODY:,} characters", max_length=MAX_BODY * 10)
    parent: RowId | None = Field(default=None, description="The comment this replies to")


def render_api_comments(site: Site, paper_id: str) -> tuple[bytes, str, int]:
    with read_tx(site.engine) as conn:
        detail = feed.paper_detail(conn, paper_id)
        if detail is None:
            raise HTTPException(404, f"Paper {paper_id} not found")
        shown = discussion.thread(conn, detail.entry.pk, None)
    items = []
    for top in shown:
        for c in (top, *top.replies):
            item = comment_json(c)
            if not c.readable:  # a deleted comment kept as the head of its replies
                item.update(comment=None, html=None, author=None)
            items.append(item)
    return orjson.dumps(items), "application/json", 200


@router.get("/api/papers/{paper_id:path}/comments", tags=["community"], summary="A paper's comments")
async def api_comments(request: Request, paper_id: str) -> Response:
    """A paper's public discussion, oldest first, each reply after its parent (`parent` is its id)."""
    canonical = check_paper_id(paper_id)
    return await cached(request, lambda: render_api_comments(site_of(request), canonical))


@router.post(
    "/api/papers/{paper_id:path}/comments",
    tags=["community"],
    status_code=201,
    dependencies=[Depends(check_csrf)],
)
def api_post_comment(request: Request, paper_id: str, new: NewComment) -> JSONResponse:
    """Comment on a paper (or reply to a comment). Send `Authorization: Bearer <token>`."""
    info = _post(request, paper_id, new.comment, new.parent)
    return JSONResponse(comment_json(info), status_code=201)
