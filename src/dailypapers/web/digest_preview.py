"""`/digest/preview` for admins: the digest a subscriber with no filters would get for a period."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, HTTPException, Request, Response

from dailypapers.digest.compose import compose, digest_period, period_papers
from dailypapers.ranking.score import TrendingParams
from dailypapers.store.db import read_tx
from dailypapers.store.subscribers import Subscriber
from dailypapers.web.auth import require_admin
from dailypapers.web.site import site_of

router = APIRouter(include_in_schema=False)
# The mail's own inline styles need 'unsafe-inline'; nothing else may load or run.
PREVIEW_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"


@router.get("/digest/preview")
def preview(
    request: Request,
    frequency: Literal["daily", "weekly"] = "daily",
    period: str | None = None,
    format: Literal["html", "text"] = "html",
) -> Response:
    require_admin(request)
    site = site_of(request)
    try:
        when = digest_period(frequency, period)
    except ValueError as exc:
        raise HTTPException(400, str(exc)) from exc
    sample = Subscriber(0, "preview@example.org", frequency, [], [], None, None, None)
    with read_tx(site.engine) as conn:
        papers = period_papers(conn, when, TrendingParams.from_settings(site.settings))
    if not papers:
        return Response(f"No papers were featured in {when.key}: no digest would be sent.\n", media_type="text/plain")
    msg = compose(site.settings, sample, when, papers)
    part = msg.get_body(("html",) if format == "html" else ("plain",))
    assert part is not None
    media = "text/html; charset=utf-8" if format == "html" else "text/plain; charset=utf-8"
    headers = {
        "Content-Security-Policy": PREVIEW_CSP,
        "Cache-Control": "private, no-store",
        "X-Subject": msg["Subject"],
    }
    return Response(part.get_content(), media_type=media, headers=headers)
