"""Curators' tools on the paper page: feature a paper on any day, take it off a day, pin or unpin it.

Form posts (CSRF-checked) for curators and admins; everyone else gets 403. Every action is
written to the audit log by the store. The paper page's `_curation.html` shows the tools to
curators, and to a user who submitted the paper today a notice that it is on today's feed.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Request, Response
from fastapi.responses import RedirectResponse
from sqlalchemy import Connection

from dailypapers.store import feed, listings
from dailypapers.store.db import write_tx
from dailypapers.store.feed import PaperDetail
from dailypapers.web.auth import check_csrf, require_curator
from dailypapers.web.pages import PAPER_SECTIONS
from dailypapers.web.site import Site, site_of

router = APIRouter(include_in_schema=False)
FIRST_DAY = dt.date(1991, 1, 1)  # arXiv's first year
AHEAD = dt.timedelta(days=366)
Day = Annotated[dt.date, Form()]


def _check_day(day: dt.date) -> None:
    last = listings.utc_today() + AHEAD
    if not FIRST_DAY <= day <= last:
        raise HTTPException(400, f"Choose a day from {FIRST_DAY.isoformat()} to {last.isoformat()}.")


def _paper_pk(conn: Connection, paper_id: str) -> int:
    pk = feed.paper_pk_of(conn, paper_id)
    if pk is None:
        raise HTTPException(404, f"No paper {paper_id!r} here.")
    return pk


def _back(paper_id: str) -> Response:
    return RedirectResponse(f"/papers/{paper_id}#curation", status_code=303)


@router.post("/papers/{paper_id:path}/feature", dependencies=[Depends(check_csrf)])
def feature(request: Request, paper_id: str, day: Day) -> Response:
    """Feature the paper on `day` (nothing changes when it already is)."""
    account = require_curator(request)
    _check_day(day)
    with write_tx(site_of(request).engine) as conn:
        listings.feature(conn, _paper_pk(conn, paper_id), day, account.pk, source=listings.CURATOR_SOURCE)
    return _back(paper_id)


@router.post("/papers/{paper_id:path}/unfeature", dependencies=[Depends(check_csrf)])
def unfeature(request: Request, paper_id: str, day: Day) -> Response:
    """Take the paper off `day`'s feed; 404 when it is not on it."""
    account = require_curator(request)
    with write_tx(site_of(request).engine) as conn:
        if not listings.unfeature(conn, _paper_pk(conn, paper_id), day, account.pk):
            raise HTTPException(404, f"Paper {paper_id} is not featured on {day.isoformat()}.")
    return _back(paper_id)


@router.post("/papers/{paper_id:path}/pin", dependencies=[Depends(check_csrf)])
def pin(request: Request, paper_id: str, day: Day, on: Annotated[str, Form(pattern="^[01]$")] = "1") -> Response:
    """Pin (`on=1`) or unpin (`on=0`) the paper on `day`; 404 when it is not featured that day."""
    account = require_curator(request)
    with write_tx(site_of(request).engine) as conn:
        pk = _paper_pk(conn, paper_id)
        if listings.listing_of(conn, pk, day) is None:
            raise HTTPException(404, f"Paper {paper_id} is not featured on {day.isoformat()}.")
        listings.set_pinned(conn, pk, day, account.pk, on == "1")
    return _back(paper_id)


def curation_section(site: Site, conn: Connection, detail: PaperDetail, ctx: dict[str, Any]) -> dict[str, Any] | None:
    """What `_curation.html` shows this viewer: nothing for visitors, the tools for curators."""
    viewer = ctx.get("viewer")
    if viewer is None:
        return None
    today = listings.utc_today()
    days = listings.listings_of(conn, detail.entry.pk)
    submitted_today = any(
        li.day == today and li.submitter_pk == viewer.pk and li.source == listings.USER_SOURCE for li in days
    )
    return {
        "today": today,
        "submitted_today": submitted_today,
        "is_curator": viewer.is_curator,
        "listings": days if viewer.is_curator else [],
    }


PAPER_SECTIONS["curation"] = curation_section
