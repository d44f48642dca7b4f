"""Curators' tools on the paper page: feature a paper on any day, take it off a day, pin or unpin it.

Form posts (CSRF-checked). Who may do what, the day range and the audit log are
`curation.featuring`'s. The paper page's `_curation.html` shows the tools to curators, and to a user
who submitted the paper today a notice that it is on today's feed.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request, Response
from fastapi.responses import RedirectResponse

from dailypapers.curation import featuring
from dailypapers.store.feed import PaperDetail
from dailypapers.web.auth import check_csrf, require_user
from dailypapers.web.site import Site, site_of

router = APIRouter(include_in_schema=False)
Day = Annotated[dt.date, Form()]


def _back(paper_id: str) -> Response:
    return RedirectResponse(f"/papers/{paper_id}#curation", status_code=303)


@router.post("/papers/{paper_id:path}/feature", dependencies=[Depends(check_csrf)])
def feature(request: Request, paper_id: str, day: Day) -> Response:
    """Feature the paper on `day` (nothing changes when it already is)."""
    featuring.feature(site_of(request).engine, require_user(request), paper_id, day)
    return _back(paper_id)


@router.post("/papers/{paper_id:path}/unfeature", dependencies=[Depends(check_csrf)])
def unfeature(request: Request, paper_id: str, day: Day) -> Response:
    """Take the paper off `day`'s feed; 404 when it is not on it."""
    featuring.unfeature(site_of(request).engine, require_user(request), paper_id, day)
    return _back(paper_id)


@router.post("/papers/{paper_id:path}/pin", dependencies=[Depends(check_csrf)])
def pin(request: Request, paper_id: str, day: Day, on: Annotated[str, Form(pattern="^[01]$")] = "1") -> Response:
    """Pin (`on=1`) or unpin (`on=0`) the paper on `day`; 404 when it is not featured that day."""
    featuring.set_pinned(site_of(request).engine, require_user(request), paper_id, day, on == "1")
    return _back(paper_id)


def curation_section(site: Site, conn: Any, detail: PaperDetail, ctx: dict[str, Any]) -> featuring.Panel | None:
    """What `_curation.html` shows this viewer: nothing for visitors, the tools for curators."""
    return featuring.panel(conn, detail.entry.pk, ctx.get("viewer"))
