"""Submitting a paper: a signed-in user features an arXiv paper on today's (UTC) feed.

A paper the store lacks is fetched from the arXiv API first (a blocking call, so it runs in a
worker thread). A paper already featured today stays as it is: the second submitter is told.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request, Response
from fastapi.responses import JSONResponse, RedirectResponse
from pydantic import BaseModel, Field
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from dailypapers.ingest.lookup import ArxivRejected, ArxivUnreachable, find_or_fetch
from dailypapers.sources.arxiv_ids import InvalidArxivId, normalize_arxiv_id
from dailypapers.store import feed, listings
from dailypapers.store.accounts import Account
from dailypapers.store.db import write_tx
from dailypapers.web.auth import check_csrf, rate_limit, render_personal, require_user
from dailypapers.web.site import Site, site_of

router = APIRouter()
MAX_INPUT = 300
EXAMPLES = "Use an id such as 2401.01234, arXiv:2401.01234v2 or hep-th/9901001, or a link to its arXiv page or PDF."


class SubmitProblem(Exception):
    """Why a submission was refused: an HTTP status and a message for the submitter."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True, slots=True)
class Submitted:
    """The outcome of a submission: the paper and day, and whether someone had featured it already."""

    paper_id: str
    title: str
    day: dt.date
    already_featured: bool
    submitter: str | None


def submit_paper(site: Site, account: Account, text: str) -> Submitted:
    """Feature the paper `text` names (id or URL) today, submitted by `account`; blocking.

    Raises SubmitProblem: 400 for text that is no arXiv id or that arXiv rejects, 404 for a
    paper arXiv does not have, 502 when arXiv cannot be reached.
    """
    text = text.strip()
    if not text:
        raise SubmitProblem(400, f"Enter an arXiv id or URL. {EXAMPLES}")
    if len(text) > MAX_INPUT:
        raise SubmitProblem(400, f"That is too long for an arXiv id or URL. {EXAMPLES}")
    try:
        arxiv_id = normalize_arxiv_id(text)
    except InvalidArxivId as exc:
        reason = str(exc)
        raise SubmitProblem(400, f"{reason[:1].upper()}{reason[1:]}. {EXAMPLES}") from exc
    try:
        paper_id = find_or_fetch(site.engine, site.settings, arxiv_id)
    except ArxivRejected as exc:
        raise SubmitProblem(400, f"{exc}.") from exc
    except ArxivUnreachable as exc:
        raise SubmitProblem(502, f"{exc}. Please try again in a few minutes.") from exc
    if paper_id is None:
        raise SubmitProblem(404, f"arXiv has no paper {arxiv_id}. Check the id and try again.")
    day = listings.utc_today()
    with write_tx(site.engine) as conn:
        pk = feed.paper_pk_of(conn, paper_id)
        if pk is None:  # deleted between the lookup and now
            raise SubmitProblem(404, f"Paper {paper_id} is not available.")
        added = listings.feature(conn, pk, day, account.pk, source=listings.USER_SOURCE)
        existing = None if added else listings.listing_of(conn, pk, day)
        title = conn.execute(select(listings.papers.c.title).where(listings.papers.c.pk == pk)).scalar() or ""
    submitter = existing.submitter if existing else account.name
    return Submitted(paper_id, title, day, not added, submitter)


def _form(request: Request, status: int = 200, **context: object) -> Response:
    values: dict[str, object] = {"value": "", "error": None, "already": None, "today": listings.utc_today()}
    values.update(context)
    return render_personal(request, "submit.html", status=status, **values)


@router.get("/submit", include_in_schema=False)
def submit_page(request: Request) -> Response:
    require_user(request)
    return _form(request)


@router.post("/submit", include_in_schema=False, dependencies=[Depends(check_csrf)])
async def submit_form(request: Request, arxiv_id: Annotated[str, Form(max_length=2000)] = "") -> Response:
    account = require_user(request)
    rate_limit(request, "submit", f"user:{account.pk}")
    try:
        result = await run_in_threadpool(submit_paper, site_of(request), account, arxiv_id)
    except SubmitProblem as problem:
        return _form(request, problem.status, value=arxiv_id.strip()[:MAX_INPUT], error=problem.message)
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
    account = require_user(request)
    rate_limit(request, "submit", f"user:{account.pk}")
    try:
        result = await run_in_threadpool(submit_paper, site_of(request), account, body.arxiv_id)
    except SubmitProblem as problem:
        return JSONResponse({"error": problem.message}, status_code=problem.status)
    answer = {"id": result.paper_id, "featured_on": result.day.isoformat(), "already_featured": result.already_featured}
    return JSONResponse(answer, status_code=200 if result.already_featured else 201)
