"""`/search` (the results page, like the seed), `/api/papers/search` and similar papers (page and API)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

import orjson
from fastapi import APIRouter, HTTPException, Query, Request, Response

from dailypapers.personal import follows
from dailypapers.problems import Unprocessable
from dailypapers.search.highlight import highlights
from dailypapers.search.service import MODES, Results
from dailypapers.store import feed
from dailypapers.store.db import read_tx
from dailypapers.store.feed import Entry, PaperDetail
from dailypapers.web import hf_shapes
from dailypapers.web.api import check_paper_id
from dailypapers.web.auth import serve_page
from dailypapers.web.cards import card_context
from dailypapers.web.site import Site, cached, site_of

if TYPE_CHECKING:
    from sqlalchemy import Connection

router = APIRouter()
Mode = Literal["hybrid", "keyword", "semantic"]
PAGE_SIZE = 20
MAX_PAGE = 49
SIMILAR_ON_PAGE = 6
_JSON = "application/json"


def _entries(conn: Connection, results: Results) -> list[Entry]:
    return feed.entries_by_pk(conn, [h.pk for h in results.hits])


def render_results_page(site: Site, q: str, mode: str, page: int, ctx: dict[str, Any]) -> tuple[bytes, str, int]:
    results = site.searcher.search(q, mode, limit=PAGE_SIZE + 1, offset=page * PAGE_SIZE)
    more = len(results.hits) > PAGE_SIZE
    results.hits = results.hits[:PAGE_SIZE]
    with read_tx(site.engine) as conn:
        entries = _entries(conn, results)
        ctx = card_context(conn, site.settings, ctx, entries)
    marks = highlights(results.query, {e.pk: (e.title, e.abstract) for e in entries})
    ctx = {**ctx, **_follow_args(site, q, ctx)}
    body = site.render(
        "search.html",
        q=q,
        mode=mode,
        modes=MODES,
        results=results,
        entries=entries,
        marks=marks,
        page=page,
        more=more,
        **ctx,
    )
    return body, "text/html; charset=utf-8", 200


def _follow_args(site: Site, q: str, ctx: dict[str, Any]) -> dict[str, Any]:
    """The "Follow this search" button's: whether `q` can be followed, and whether the viewer (signed in: a
    fresh render) does."""
    try:
        follows.normalize("search", q)
    except Unprocessable:
        return {"followable": False, "followed": False}
    viewer = ctx.get("viewer")
    followed = viewer is not None and follows.followed(site.engine, viewer.pk, "search", q) is not None
    return {"followable": True, "followed": followed}


@router.get("/search", include_in_schema=False)
async def search_page(
    request: Request,
    q: Annotated[str, Query(max_length=500)] = "",
    mode: Mode = "hybrid",
    p: Annotated[int, Query(ge=0, le=MAX_PAGE)] = 0,
) -> Response:
    site = site_of(request)
    return await serve_page(request, lambda ctx: render_results_page(site, q, mode, p, ctx))


def render_api_search(site: Site, q: str, mode: str, limit: int) -> tuple[bytes, str, int]:
    results = site.searcher.search(q, mode, limit=limit)
    with read_tx(site.engine) as conn:
        entries = _entries(conn, results)
    items = [hf_shapes.daily_item(e, site.settings.base_url) for e in entries]
    return orjson.dumps(items), _JSON, 200


@router.get("/api/papers/search", summary="Search papers", tags=["papers"])
async def api_search(
    request: Request,
    q: Annotated[str, Query(max_length=500)] = "",
    limit: Annotated[int, Query(ge=1, le=120)] = 20,
    mode: Mode = "hybrid",
) -> Response:
    """Papers for `q`, like Hugging Face's paper search (`HfApi.list_papers(query=...)`).

    `mode`: `hybrid` (default: keyword and semantic fused), `keyword` or `semantic`. Besides words,
    `q` understands "quoted phrases", `author:name`, `cat:cs.CL`, and date filters (docs/search.md).
    """
    return await cached(request, lambda: render_api_search(site_of(request), q, mode, limit))


def render_similar(site: Site, paper_id: str, limit: int) -> tuple[bytes, str, int]:
    with read_tx(site.engine) as conn:
        pk = feed.paper_pk_of(conn, paper_id)
        if pk is None:
            raise HTTPException(404, f"Paper {paper_id} not found")
    nearest = site.searcher.similar(pk, limit)
    with read_tx(site.engine) as conn:
        entries = feed.entries_by_pk(conn, [n for n, _ in nearest])
    similarity = dict(nearest)
    items = [{**hf_shapes.paper(e), "similarity": round(similarity[e.pk], 4)} for e in entries]
    return orjson.dumps(items), _JSON, 200


@router.get("/api/papers/{paper_id:path}/similar", summary="Papers similar to one paper", tags=["papers"])
async def api_similar(request: Request, paper_id: str, limit: Annotated[int, Query(ge=1, le=50)] = 10) -> Response:
    """The papers nearest in meaning (title and abstract embeddings), each with its cosine `similarity`.

    Empty while the paper has not been embedded yet.
    """
    canonical = check_paper_id(paper_id)
    return await cached(request, lambda: render_similar(site_of(request), canonical, limit))


def similar_section(site: Site, conn: Connection, detail: PaperDetail, ctx: dict[str, Any]) -> list[Entry]:
    """The paper page's "Similar papers"."""
    try:
        nearest = site.searcher.similar(detail.entry.pk, SIMILAR_ON_PAGE)
    except Exception:  # the page must render without them
        return []
    return feed.entries_by_pk(conn, [pk for pk, _ in nearest])
