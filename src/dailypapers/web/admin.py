"""Admin pages: accounts (roles, suspension), the audit log of every moderation action, background jobs."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request, Response
from fastapi.responses import RedirectResponse

from dailypapers.accounts import membership
from dailypapers.accounts.rules import ROLES
from dailypapers.problems import Problem
from dailypapers.store import accounts
from dailypapers.store.db import read_tx
from dailypapers.web import jobs_view
from dailypapers.web.auth import check_csrf, render_personal, require_admin
from dailypapers.web.errors import status_for
from dailypapers.web.params import RowId
from dailypapers.web.site import site_of

router = APIRouter(prefix="/admin", include_in_schema=False)
PAGE_SIZE = 200
RoleField = Annotated[str, Form(max_length=16)]


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
        roles=ROLES,
        message=message,
        error=error,
    )


@router.get("/users")
def users_page(request: Request, p: Annotated[int, Query(ge=0, le=100_000)] = 0) -> Response:
    """Every account with its role and state, and forms to change them."""
    require_admin(request)
    return _users_page(request, p)


@router.post("/users/{user_pk}/role", dependencies=[Depends(check_csrf)])
def change_role(request: Request, user_pk: RowId, role: RoleField) -> Response:
    """Make a user a plain user, a curator or an admin. Admins cannot demote themselves."""
    admin = require_admin(request)
    try:
        target, _ = membership.set_role(site_of(request).engine, admin, user_pk, role)
    except Problem as problem:
        return _users_page(request, status=status_for(problem, api=False), error=str(problem))
    return _users_page(request, message=f"{target.name} is now {'an' if role == 'admin' else 'a'} {role}.")


@router.post("/users/{user_pk}/suspend", dependencies=[Depends(check_csrf)])
def suspend(request: Request, user_pk: RowId) -> Response:
    """Suspend a user: they are signed out everywhere, cannot sign in, and their comments hide."""
    return _set_suspended(request, user_pk, True)


@router.post("/users/{user_pk}/reinstate", dependencies=[Depends(check_csrf)])
def reinstate(request: Request, user_pk: RowId) -> Response:
    """Lift a suspension."""
    return _set_suspended(request, user_pk, False)


def _set_suspended(request: Request, user_pk: RowId, suspended: bool) -> Response:
    admin = require_admin(request)
    try:
        target = membership.set_suspended(site_of(request).engine, admin, user_pk, suspended)
    except Problem as problem:
        return _users_page(request, status=status_for(problem, api=False), error=str(problem))
    done = "suspended; their sessions ended and their comments are hidden" if suspended else "reinstated"
    return _users_page(request, message=f"{target.name} is {done}.")


@router.get("/audit")
def audit_page(request: Request) -> Response:
    """The latest moderation actions, newest first."""
    require_admin(request)
    with read_tx(site_of(request).engine) as conn:
        entries = accounts.audit_entries(conn, limit=PAGE_SIZE)
    return render_personal(request, "admin_audit.html", entries=entries)


@router.get("/jobs")
def jobs_page(request: Request) -> Response:
    """Background jobs: the schedule, the queue, what runs now, what failed (with a retry button), recent runs."""
    require_admin(request)
    site = site_of(request)
    with read_tx(site.engine) as conn:
        overview = jobs_view.overview(conn, site.settings, site.jobs)
    return render_personal(request, "admin_jobs.html", view=overview)


@router.post("/jobs/{job_id}/retry", dependencies=[Depends(check_csrf)])
def retry_job(request: Request, job_id: RowId) -> Response:
    """Run a failed job again now."""
    require_admin(request)
    site = site_of(request)
    if site.jobs is None or job_id not in {j.id for j in site.jobs.jobs("failed")}:
        raise HTTPException(404, f"No failed job #{job_id} in this process's queue.")
    site.jobs.retry(job_id)
    return RedirectResponse("/admin/jobs", status_code=303)


@router.post("/jobs/run/{name}", dependencies=[Depends(check_csrf)])
def run_job(request: Request, name: str) -> Response:
    """Queue a job now (a periodic one as if its time had come)."""
    require_admin(request)
    site = site_of(request)
    if site.jobs is None:
        raise HTTPException(404, "Background jobs do not run in this process.")
    try:
        site.jobs.defer(name)
    except ValueError as exc:
        raise HTTPException(404, str(exc)) from exc
    return RedirectResponse("/admin/jobs", status_code=303)
