"""`/admin/curation`: a day's new papers as the curation model ranks them, for curators, who feature or skip
from there. The ranking and the rules are `curation.auto`'s; feature, skip and unskip are
`curation.featuring`'s (checked and logged there). Form posts, CSRF-checked, back to the same day.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse

from dailypapers.curation import auto, featuring
from dailypapers.web.auth import check_csrf, render_personal, require_curator
from dailypapers.web.site import site_of

router = APIRouter(prefix="/admin/curation", include_in_schema=False)
Day = Annotated[dt.date, Form()]
PaperId = Annotated[str, Form(min_length=1, max_length=64)]
ACTIONS = {"feature": featuring.feature, "skip": featuring.skip, "unskip": featuring.unskip}


@router.get("")
async def curation_page(request: Request, date: Annotated[str | None, Query(max_length=10)] = None) -> Response:
    """The day's ranking (the latest announcement day by default)."""
    await run_in_threadpool(require_curator, request)
    day = None
    if date:
        try:
            day = dt.date.fromisoformat(date)
        except ValueError as exc:
            raise HTTPException(400, f"date: {date!r} is not a YYYY-MM-DD date") from exc
    site = site_of(request)
    review = await run_in_threadpool(auto.review_day, site.engine, site.settings, day)
    return render_personal(request, "admin_curation.html", review=review)


@router.post("/{action}", dependencies=[Depends(check_csrf)])
def act(request: Request, action: str, paper_id: PaperId, day: Day) -> Response:
    """Feature the paper on the day, skip it (not for this community), or take the skip back."""
    if action not in ACTIONS:
        raise HTTPException(404, f"No action {action!r}: feature, skip or unskip")
    ACTIONS[action](site_of(request).engine, require_curator(request), paper_id, day)
    return RedirectResponse(f"/admin/curation?date={day.isoformat()}#paper-{paper_id}", status_code=303)
