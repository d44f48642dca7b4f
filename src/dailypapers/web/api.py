"""The JSON API, shaped like Hugging Face's papers API (see hf_shapes)."""

from __future__ import annotations

from typing import Annotated, Literal
from urllib.parse import urlencode

import orjson
from fastapi import APIRouter, HTTPException, Query, Request, Response

from dailypapers.periods import BadPeriod, Period, parse
from dailypapers.ranking import order
from dailypapers.ranking.score import TrendingParams
from dailypapers.sources.arxiv_ids import InvalidArxivId, parse_arxiv_id
from dailypapers.sources.categories import filter_categories
from dailypapers.sources.seed import LOCAL_PREFIX
from dailypapers.store import feed
from dailypapers.store.db import read_tx
from dailypapers.web import hf_shapes
from dailypapers.web.cache import Rendered
from dailypapers.web.site import Site, cached, site_of

router = APIRouter(prefix="/api", tags=["papers"])
_JSON = "application/json"
MAX_OFFSET = 100_000 * 100  # the last page `p` and `limit` can reach
_SORTS = {"publishedAt": "new", "trending": "trending", "stars": "stars", "starGrowth": "star-growth"}


def _dump(value: object) -> bytes:
    return orjson.dumps(value)


def render_daily(
    site: Site, period: tuple[str, str] | None, sort: str, p: int, limit: int, only: feed.Filter, next_url: str
) -> Rendered:
    span: Period | None = None
    if period:
        try:
            span = parse(*period)
        except BadPeriod as exc:
            raise HTTPException(422, str(exc)) from exc
    params = TrendingParams.from_settings(site.settings)
    with read_tx(site.engine) as conn:
        entries = order.ordered(conn, params, span, sort=sort, limit=limit + 1, offset=p * limit, only=only)
    body = _dump([hf_shapes.daily_item(e, site.settings.base_url) for e in entries[:limit]])
    # Hugging Face pages this list with a Link header, as GitHub does; clients follow rel="next".
    more = len(entries) > limit and (p + 1) * limit <= MAX_OFFSET
    return body, _JSON, 200, ((("Link", f'<{next_url}>; rel="next"'),) if more else ())


@router.get("/daily_papers", summary="Papers featured on a day, week or month")
async def daily_papers(
    request: Request,
    date: Annotated[str | None, Query(description="YYYY-MM-DD")] = None,
    week: Annotated[str | None, Query(description="ISO week, YYYY-Www")] = None,
    month: Annotated[str | None, Query(description="YYYY-MM")] = None,
    submitter: Annotated[str | None, Query(max_length=96)] = None,
    has_code: Annotated[bool, Query(alias="hasCode", description="only papers with a code link")] = False,
    cat: Annotated[
        list[str] | None,
        Query(description="arXiv categories, repeated or comma-separated (cs.CL; cs for all of cs.*): any of them"),
    ] = None,
    sort: Literal["publishedAt", "trending", "stars", "starGrowth"] = "publishedAt",
    p: Annotated[int, Query(ge=0, le=100_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
) -> Response:
    """Featured papers, like `huggingface_hub.HfApi.list_daily_papers`.

    `sort=publishedAt` (the default, as on Hugging Face) puts the newest papers first; `sort=trending`
    ranks by upvotes within a day and by the trending score (docs/ranking.md) across days; `sort=stars`
    the most starred GitHub repositories, `sort=starGrowth` the most stars gained over the last 7 days
    (docs/github.md). With no period, recent days come first. `hasCode=true` keeps only papers with a code
    link; `cat=cs.CL` (repeated, `cat=cs.CL&cat=cs.LG`, or comma-separated) only papers in any of those arXiv categories
    (an archive, `cat=cs`, stands for all its classes). Hugging Face's API has no such filter.
    """
    given = [(k, v) for k, v in (("day", date), ("week", week), ("month", month)) if v is not None]
    if len(given) > 1:
        raise HTTPException(422, "give at most one of date, week and month")
    how = _SORTS[sort]
    only = feed.Filter(submitter=submitter, has_code=has_code, categories=filter_categories(cat or ()))
    site = site_of(request)
    named = {"date": date, "week": week, "month": month, "submitter": submitter, "sort": sort, "limit": limit}
    query = [(k, str(v)) for k, v in named.items() if v is not None] + [("cat", c) for c in cat or ()]
    query += [("hasCode", "true")] * has_code + [("p", str(p + 1))]
    next_url = f"{site.settings.base_url}{request.url.path}?{urlencode(query)}"
    return await cached(request, lambda: render_daily(site, given[0] if given else None, how, p, limit, only, next_url))


def check_paper_id(paper_id: str) -> str:
    """The canonical id; 400 for text that is neither an arXiv id nor one of our local ids."""
    if paper_id.startswith(LOCAL_PREFIX) and paper_id[len(LOCAL_PREFIX) :].isalnum():
        return paper_id
    try:
        return parse_arxiv_id(paper_id)[0]
    except InvalidArxivId as exc:
        raise HTTPException(400, str(exc)) from exc


def render_paper_info(site: Site, paper_id: str) -> tuple[bytes, str, int]:
    with read_tx(site.engine) as conn:
        detail = feed.paper_detail(conn, paper_id)
    if detail is None:
        raise HTTPException(404, f"Paper {paper_id} not found")
    return _dump(hf_shapes.paper_info(detail)), _JSON, 200


@router.get("/papers/{paper_id:path}", summary="One paper")
async def paper(request: Request, paper_id: str) -> Response:
    """A paper's metadata, like `huggingface_hub.HfApi.paper_info`."""
    canonical = check_paper_id(paper_id)
    return await cached(request, lambda: render_paper_info(site_of(request), canonical))
