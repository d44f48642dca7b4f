"""Admin pages: accounts (roles, suspension) and the audit log of every moderation action."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request, Response
from sqlalchemy import Connection

from dailypapers.store import accounts
from dailypapers.store.accounts import Account
from dailypapers.store.db import read_tx, write_tx
from dailypapers.web.auth import check_csrf, render_personal, require_admin
from dailypapers.web.site import site_of

router = APIRouter(prefix="/admin", include_in_schema=False)
log = logging.getLogger(__name__)
PAGE_SIZE = 200
RoleField = Annotated[str, Form(max_length=16)]


def recount_comments_of(conn: Connection, user_pk: int) -> None:
    """Let the comment counters follow a suspension or reinstatement (the user's comments hide or show)."""
    # `dailypapers.store.comments` is written alongside this module and may not have landed yet.
    # Import it here, at call time, and tolerate only *that module* being absent: suspension still
    # ends the user's sessions; counters catch up once comments exist. Any other error propagates.
    try:
        from dailypapers.store.comments import recount_comments  # type: ignore[import-not-found,unused-ignore]
    except ModuleNotFoundError as exc:
        if exc.name != "dailypapers.store.comments":
            raise
        log.warning("dailypapers.store.comments is not available; comment counts not recomputed")
        return
    recount_comments(conn, user_pk)


def _users_page(
    request: Request, page: int = 0, *, status: int = 200, message: str | None = None, error: str | None = None
) -> Response:
    with read_tx(site_of(request).engine) as conn:
        users = accounts.list_accounts(conn, limit=PAGE_SIZE + 1, offset=page * PAGE_SIZE)
    return render_personal(
        request,
        "admin_users.html",
        status=status,
        users=users[:PAGE_SIZE],
        page=page,
        more=len(users) > PAGE_SIZE,
        roles=accounts.ROLES,
        message=message,
        error=error,
    )


def _target(conn: Connection, user_pk: int) -> Account:
    account = accounts.account_by_pk(conn, user_pk)
    if account is None:
        raise HTTPException(404, "No such user")
    return account


@router.get("/users")
def users_page(request: Request, p: Annotated[int, Query(ge=0, le=100_000)] = 0) -> Response:
    """Every account with its role and state, and forms to change them."""
    require_admin(request)
    return _users_page(request, p)


@router.post("/users/{user_pk}/role", dependencies=[Depends(check_csrf)])
def change_role(request: Request, user_pk: int, role: RoleField) -> Response:
    """Make a user a plain user, a curator or an admin. Admins cannot demote themselves."""
    admin = require_admin(request)
    if role not in accounts.ROLES:
        return _users_page(request, status=400, error=f"Unknown role {role!r}; choose {', '.join(accounts.ROLES)}.")
    if user_pk == admin.pk and role != "admin":
        return _users_page(
            request, status=400, error="You cannot demote yourself; ask another admin to change your role."
        )
    with write_tx(site_of(request).engine) as conn:
        target = _target(conn, user_pk)
        if target.role != role:
            accounts.set_role(conn, target.pk, role)
            accounts.log_action(conn, admin.pk, "set_role", f"user:{target.name}", old=target.role, new=role)
    return _users_page(request, message=f"{target.name} is now {'an' if role == 'admin' else 'a'} {role}.")


@router.post("/users/{user_pk}/suspend", dependencies=[Depends(check_csrf)])
def suspend(request: Request, user_pk: int) -> Response:
    """Suspend a user: they are signed out everywhere, cannot sign in, and their comments hide."""
    return _set_suspended(request, user_pk, True)


@router.post("/users/{user_pk}/reinstate", dependencies=[Depends(check_csrf)])
def reinstate(request: Request, user_pk: int) -> Response:
    """Lift a suspension."""
    return _set_suspended(request, user_pk, False)


def _set_suspended(request: Request, user_pk: int, suspended: bool) -> Response:
    admin = require_admin(request)
    if user_pk == admin.pk and suspended:
        return _users_page(request, status=400, error="You cannot suspend yourself.")
    with write_tx(site_of(request).engine) as conn:
        target = _target(conn, user_pk)
        if target.suspended != suspended:
            accounts.set_suspended(conn, target.pk, suspended)
            recount_comments_of(conn, target.pk)
            action = "suspend" if suspended else "reinstate"
            accounts.log_action(conn, admin.pk, action, f"user:{target.name}")
    done = "suspended; their sessions ended and their comments are hidden" if suspended else "reinstated"
    return _users_page(request, message=f"{target.name} is {done}.")


@router.get("/audit")
def audit_page(request: Request) -> Response:
    """The latest moderation actions, newest first."""
    require_admin(request)
    with read_tx(site_of(request).engine) as conn:
        entries = accounts.audit_entries(conn, limit=PAGE_SIZE)
    # In UTC whatever the database session's time zone (SQLite hands back naive UTC times).
    utc = [
        dataclasses.replace(e, created_at=e.created_at.astimezone(dt.UTC) if e.created_at.tzinfo else e.created_at)
        for e in entries
    ]
    return render_personal(request, "admin_audit.html", entries=utc)
