"""A reader's data: export all of it as JSON, and delete the account (`personal.privacy` holds the rules).

- `GET /settings/data`: the page, with what the site stores about the reader, the download and the deletion
  form (password and username typed again, CSRF-checked).
- `GET /settings/data/export.json` and `GET /api/me/export` (a bearer token or the session): the export, as
  a file to save (`Content-Disposition: attachment`), never cached.
- `POST /settings/data/delete` and `DELETE /api/me` (`{"password": ..., "username": ...}`, the username
  optional there): the deletion; the browser is signed out (its session cookie cleared).
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from dailypapers.personal import privacy
from dailypapers.problems import NotFound, Problem
from dailypapers.store.accounts import Account
from dailypapers.web.auth import check_csrf, end_session, rate_limit, render_personal, require_user
from dailypapers.web.errors import status_for
from dailypapers.web.site import site_of

router = APIRouter()
# No NUL characters: PostgreSQL cannot store or even compare text holding them.
Secret = Annotated[str, Form(max_length=1024, pattern=r"^[^\x00]*$")]
Name = Annotated[str, Form(max_length=200, pattern=r"^[^\x00]*$")]
# What the page counts, in its words, by the export's keys.
KINDS = (
    ("votes", "upvotes"),
    ("comments", "comments"),
    ("submissions", "papers you submitted"),
    ("saves", "saved papers"),
    ("collections", "collections"),
    ("follows", "follows"),
    ("library", "library entries"),
    ("not_interested", "papers marked not interested"),
    ("digest_subscriptions", "digest subscriptions"),
    ("api_tokens", "API tokens"),
)
_ME = {"security": [{"bearerAuth": []}, {"sessionCookie": []}]}
_ERROR = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


def _counts(data: dict[str, Any]) -> list[tuple[str, int]]:
    return [(label, len(data.get(key) or [])) for key, label in KINDS] + [("sessions", data["sessions"]["count"])]


def render_data_page(request: Request, account: Account, status: int = 200, **extra: object) -> Response:
    """The page for `account`: what is stored, the download, the deletion form (with `error` if it failed)."""
    data = privacy.export_data(site_of(request).engine, account)
    context: dict[str, object] = {"error": None, "confirm": "", **extra}
    return render_personal(request, "settings_data.html", status=status, counts=_counts(data), **context)


@router.get("/settings/data", include_in_schema=False)
def data_page(request: Request) -> Response:
    return render_data_page(request, require_user(request))


def _download(request: Request) -> Response:
    account = require_user(request)
    data = privacy.export_data(site_of(request).engine, account)
    headers = {
        "Content-Disposition": f'attachment; filename="{privacy.export_filename(account)}"',
        "Cache-Control": "private, no-store",
    }
    return JSONResponse(data, headers=headers)


@router.get("/settings/data/export.json", include_in_schema=False)
def export_file(request: Request) -> Response:
    return _download(request)


@router.get(
    "/api/me/export",
    tags=["account"],
    openapi_extra=_ME,
    responses={401: {"description": "Not signed in: send `Authorization: Bearer <token>`", **_ERROR}},
)
def api_export(request: Request) -> Response:
    """Everything the site stores about you, as one JSON document (also a file to save): account, API tokens
    (names and dates), sessions (dates), votes, comments, submissions, saves, collections, follows, library,
    "not interested" papers, digest subscriptions and what they sent, and your reader profile's metadata."""
    return _download(request)


def _deleted(request: Request, response: Response) -> Response:
    """`response`, signing this browser out (its session is gone with the account)."""
    end_session(request, response)
    return response


@router.post("/settings/data/delete", include_in_schema=False, dependencies=[Depends(check_csrf)])
def delete_form(request: Request, password: Secret = "", confirm: Name = "") -> Response:
    account = require_user(request)
    rate_limit(request, "signin", f"user:{account.pk}")  # a password check: as many tries as signing in
    try:
        privacy.delete_account(site_of(request).engine, account, password, confirm)
    except NotFound:
        pass  # a request that came first deleted it: the same answer
    except Problem as problem:
        status = status_for(problem, api=False)
        return render_data_page(request, account, status=status, error=str(problem), confirm=confirm.strip())
    request.state.viewer = None  # the page that answers is a signed-out one
    message = (
        f"The account {account.name} and everything personal of it are deleted, and this browser is signed out. "
        "Your comments that had replies stay as “[deleted]”, without text or name."
    )
    return _deleted(request, render_personal(request, "notice.html", title="Account deleted", message=message))


class DeleteAccount(BaseModel):
    """What deleting your account asks for."""

    password: str = Field(max_length=1024, pattern=r"^[^\x00]*$", description="your password")
    username: str | None = Field(
        default=None, max_length=200, pattern=r"^[^\x00]*$", description="your username (optional: checked if sent)"
    )


@router.delete(
    "/api/me",
    tags=["account"],
    dependencies=[Depends(check_csrf)],
    responses={404: {"description": "The account was deleted already (by a request that came first)", **_ERROR}},
)
def api_delete(request: Request, body: DeleteAccount) -> Response:
    """Delete your account and everything personal of it, for good: saves, collections, follows, library, votes
    (the papers' counts drop), digest subscriptions, sessions and API tokens. Comments lose their text and
    author (those with replies stay as "[deleted]"), submissions their submitter. Send your password; the last
    admin cannot leave."""
    account = require_user(request)
    rate_limit(request, "signin", f"user:{account.pk}")
    done = privacy.delete_account(site_of(request).engine, account, body.password, body.username)
    return _deleted(request, JSONResponse({"deleted": True, **asdict(done)}))
