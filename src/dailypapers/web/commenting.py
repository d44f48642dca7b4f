"""Comments on paper pages: form posts (create, reply, edit, delete, hide) and `POST /api/papers/{id}/comments`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, HTTPException, Request, Response
from fastapi.responses import JSONResponse, RedirectResponse
from pydantic import BaseModel, Field
from sqlalchemy import Connection

from dailypapers.comments.render import MAX_BODY
from dailypapers.store import comments as store
from dailypapers.store import feed
from dailypapers.store.accounts import Account
from dailypapers.store.db import write_tx
from dailypapers.store.feed import PaperDetail
from dailypapers.web.auth import check_csrf, rate_limit, require_curator, require_user
from dailypapers.web.pages import PAPER_SECTIONS
from dailypapers.web.site import Site, site_of

router = APIRouter()
T = TypeVar("T")
# Generous: the store says clearly when a body is over MAX_BODY; this only stops absurd posts early.
BodyField = Annotated[str, Form(max_length=MAX_BODY * 10)]


def discussion(site: Site, conn: Connection, detail: PaperDetail, ctx: dict[str, Any]) -> list[store.ThreadComment]:
    """The paper page's thread, as the viewer in `ctx` may see it."""
    viewer: Account | None = ctx.get("viewer")
    return store.thread(
        conn,
        detail.entry.pk,
        viewer_pk=viewer.pk if viewer else None,
        moderator=bool(viewer and viewer.is_curator),
    )


PAPER_SECTIONS["thread"] = discussion


def comment_json(info: store.CommentInfo) -> dict[str, Any]:
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


def _write(request: Request, action: Callable[[Connection], T], api: bool = False) -> T:
    """Run `action` in a write transaction; store refusals become HTTP errors (422 for API bodies)."""
    site = site_of(request)
    try:
        with write_tx(site.engine) as conn:
            result = action(conn)
    except store.CommentProblem as exc:
        status = 422 if api and isinstance(exc, store.InvalidComment) else exc.status
        raise HTTPException(status, str(exc)) from None
    site.cache.invalidate()
    return result


def _back(paper_id: str, anchor: str) -> Response:
    return RedirectResponse(f"/papers/{quote(paper_id, safe='/')}#{anchor}", status_code=303)


def _create(
    request: Request, account: Account, paper_id: str, body: str, parent: int | None, api: bool
) -> store.CommentInfo:
    rate_limit(request, "comment", f"user:{account.pk}")

    def action(conn: Connection) -> store.CommentInfo:
        paper_pk = feed.paper_pk_of(conn, paper_id)
        if paper_pk is None:
            raise store.CommentNotFound(f"Paper {paper_id} not found")
        info = store.get_comment(conn, store.add_comment(conn, paper_pk, account.pk, body, parent))
        assert info is not None
        return info

    return _write(request, action, api)


@router.post("/papers/{paper_id:path}/comments", include_in_schema=False, dependencies=[Depends(check_csrf)])
def post_comment(
    request: Request, paper_id: str, body: BodyField, parent: Annotated[int | None, Form()] = None
) -> Response:
    """Post a comment or a reply from the paper page."""
    account = require_user(request)
    info = _create(request, account, paper_id, body, parent, api=False)
    return _back(info.paper_id, f"comment-{info.pk}")


@router.post("/comments/{pk}/edit", include_in_schema=False, dependencies=[Depends(check_csrf)])
def edit_comment(request: Request, pk: int, body: BodyField) -> Response:
    """Change the text of one's own comment."""
    account = require_user(request)
    info = _write(request, lambda conn: store.edit_comment(conn, pk, account.pk, body))
    return _back(info.paper_id, f"comment-{pk}")


@router.post("/comments/{pk}/delete", include_in_schema=False, dependencies=[Depends(check_csrf)])
def delete_comment(request: Request, pk: int) -> Response:
    """Delete one's own comment."""
    account = require_user(request)
    info = _write(request, lambda conn: store.delete_comment(conn, pk, account.pk))
    # The comment may be gone from the page now: land on its parent, or on the discussion.
    return _back(info.paper_id, f"comment-{info.parent_pk}" if info.parent_pk else "discussion")


def _moderate(request: Request, pk: int, hidden: bool) -> Response:
    account = require_curator(request)
    info = _write(request, lambda conn: store.set_hidden(conn, pk, account.pk, hidden))
    return _back(info.paper_id, f"comment-{pk}")


@router.post("/comments/{pk}/hide", include_in_schema=False, dependencies=[Depends(check_csrf)])
def hide_comment(request: Request, pk: int) -> Response:
    """Hide a comment from everyone but its author and moderators (curators and admins)."""
    return _moderate(request, pk, True)


@router.post("/comments/{pk}/unhide", include_in_schema=False, dependencies=[Depends(check_csrf)])
def unhide_comment(request: Request, pk: int) -> Response:
    """Show a hidden comment again (curators and admins)."""
    return _moderate(request, pk, False)


class NewComment(BaseModel):
    comment: str = Field(description=f"Markdown, at most {MAX_BODY:,} characters", max_length=MAX_BODY * 10)
    parent: int | None = Field(default=None, description="The comment this replies to")


@router.post(
    "/api/papers/{paper_id:path}/comments",
    tags=["community"],
    status_code=201,
    dependencies=[Depends(check_csrf)],
)
def api_post_comment(request: Request, paper_id: str, new: NewComment) -> JSONResponse:
    """Comment on a paper (or reply to a comment). Send `Authorization: Bearer <token>`."""
    account = require_user(request)
    info = _create(request, account, paper_id, new.comment, new.parent, api=True)
    return JSONResponse(comment_json(info), status_code=201)
