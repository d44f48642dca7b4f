"""Submitting a paper: the `/submit` form and `POST /api/papers/submit` (the use case is
`curation.featuring.submit`; fetching a paper from arXiv blocks, so it runs in a worker thread)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request, Response
from fastapi.responses import JSONResponse, RedirectResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from dailypapers.curation import featuring
from dailypapers.problems import Problem
from dailypapers.store.convert import utc_today
from dailypapers.web.auth import check_csrf, rate_limit, render_personal, require_user
from dailypapers.web.errors import status_for
from dailypapers.web.site import site_of

router = APIRouter()


def _form(request: Request, status: int = 200, **context: object) -> Response:
    values: dict[str, object] = {"value": "", "error": None, "already": None, "today": utc_today()}
    values.update(context)
    return render_personal(request, "submit.html", status=status, **values)


@router.get("/submit", include_in_schema=False)
def submit_page(request: Request) -> Response:
    require_user(request)
    return _form(request)


@router.post("/submit", include_in_schema=False, dependencies=[Depends(check_csrf)])
async def submit_form(request: Request, arxiv_id: Annotated[str, Form(max_length=2000)] = "") -> Response:
    account = await run_in_threadpool(require_user, request)
    rate_limit(request, "submit", f"user:{account.pk}")
    site = site_of(request)
    try:
        result = await run_in_threadpool(featuring.submit, site.engine, site.settings, account, arxiv_id)
    except Problem as problem:
        value = arxiv_id.strip()[: featuring.MAX_INPUT]
        return _form(request, status_for(problem, api=False), value=value, error=str(problem))
    if result.already_featured:
        return _form(request, already=result)
    return RedirectResponse(f"/papers/{result.paper_id}", status_code=303)


class SubmitBody(BaseModel):
    arxiv_id: str = Field(max_length=2000, description="An arXiv id (`2401.01234`, `hep-th/9901001`) or arXiv URL")


class SubmitAnswer(BaseModel):
    id: str
    featured_on: dt.date
    already_featured: bool


@router.post(
    "/api/papers/submit",
    tags=["community"],
    status_code=201,
    response_model=SubmitAnswer,
    dependencies=[Depends(check_csrf)],
    responses={
        200: {"description": "Already featured today; nothing changed", "model": SubmitAnswer},
        400: {"description": "Not an arXiv id, or arXiv rejected it"},
        404: {"description": "arXiv has no such paper"},
        502: {"description": "arXiv could not be reached"},
    },
)
async def api_submit(request: Request, body: SubmitBody) -> Response:
    """Feature a paper on today's (UTC) feed, fetching it from arXiv if needed. Send `Authorization: Bearer <token>`.

    201 when featured now, 200 when it already was today (`already_featured`); errors are `{"error": ...}`.
    """
    account = await run_in_threadpool(require_user, request)
    rate_limit(request, "submit", f"user:{account.pk}")
    site = site_of(request)
    result = await run_in_threadpool(featuring.submit, site.engine, site.settings, account, body.arxiv_id)
    answer = {"id": result.paper_id, "featured_on": result.day.isoformat(), "already_featured": result.already_featured}
    return JSONResponse(answer, status_code=200 if result.already_featured else 201)
