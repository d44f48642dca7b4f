"""Server-rendered HTML pages: the feed by day, week and month, and the paper pages."""

from __future__ import annotations

import math
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Query, Request, Response
from fastapi.responses import RedirectResponse

from dailypapers.periods import BadPeriod, Period, neighbours, parse, period_of
from dailypapers.personal import follows
from dailypapers.ranking import order
from dailypapers.ranking.score import TrendingParams
from dailypapers.sources.arxiv_ids import InvalidArxivId, parse_arxiv_id
from dailypapers.sources.categories import filter_categories
from dailypapers.store import collections, feed
from dailypapers.store.db import read_tx
from dailypapers.web.auth import serve_page
from dailypapers.web.cards import card_context
from dailypapers.web.export import paper_markdown
from dailypapers.web.params import PageParam
from dailypapers.web.site import Site, site_of

router = APIRouter(include_in_schema=False)

SortParam = Annotated[str, Query(pattern="^(trending|new|stars|star-growth)$")]
CodeParam = Annotated[bool, Query(description="only papers with a code link")]
CatParam = Annotated[
    list[str] | None, Query(description="arXiv categories (cs.CL; an archive, cs, for all its classes): any of them")
]


def categories(cat: list[str] | None) -> tuple[str, ...]:
    """The `cat` parameters of a request, checked (a bad one answers 400 on pages, 422 in the API)."""
    return filter_categories(cat or ())


def cat_query(cats: tuple[str, ...]) -> str:
    """`&cat=cs.CL&cat=cs.LG`: what links on a filtered page carry ("" when unfiltered)."""
    return "".join(f"&cat={quote(c)}" for c in cats)


def render_feed(
    site: Site,
    period: Period | None,
    sort: str,
    page: int,
    ctx: dict[str, Any] | None = None,
    code: bool = False,
    cats: tuple[str, ...] = (),
) -> tuple[bytes, str, int]:
    size = site.settings.feed_page_size
    with read_tx(site.engine) as conn:
        if period is None:
            latest = feed.latest_day(conn)
            period = period_of("day", latest) if latest else None
        if period is None:
            entries, total, prev, nxt = [], 0, None, None
        else:
            params = TrendingParams.from_settings(site.settings)
            only = feed.Filter(has_code=code, categories=cats)
            entries = order.ordered(conn, params, period, sort=sort, limit=size, offset=page * size, only=only)
            total = feed.count_featured(conn, period.start, period.end, only)
            prev, nxt = neighbours(period, lambda d: feed.day_before(conn, d), lambda d: feed.day_after(conn, d))
        ctx = card_context(conn, site.settings, ctx or {}, entries)
    viewer = ctx.get("viewer")
    # The categories of a filter the (signed-in) viewer follows: the filter line offers to follow the others.
    followed_cats = (
        {c for c in cats if follows.followed(site.engine, viewer.pk, "category", c) is not None} if viewer else set()
    )
    tabs = {kind: period.containing(kind) for kind in ("day", "week", "month")} if period else {}
    body = site.render(
        "feed.html",
        period=period,
        entries=entries,
        sort=sort,
        code=code,
        cats=cats,
        followed_cats=followed_cats,
        cat_q=cat_query(cats),
        page=page,
        pages=max(1, math.ceil(total / size)),
        total=total,
        prev=prev,
        next=nxt,
        tabs=tabs,
        rank_offset=page * size,
        **ctx,
    )
    return body, "text/html; charset=utf-8", 200


def _period(kind: str, value: str) -> Period:
    try:
        return parse(kind, value)
    except BadPeriod as exc:
        raise HTTPException(404, str(exc)) from exc


@router.get("/")
async def index(
    request: Request, sort: SortParam = "trending", p: PageParam = 0, code: CodeParam = False, cat: CatParam = None
) -> Response:
    site, cats = site_of(request), categories(cat)
    return await serve_page(request, lambda ctx: render_feed(site, None, sort, p, ctx, code, cats))


@router.get("/date/{day}")
async def by_day(
    request: Request,
    day: str,
    sort: SortParam = "trending",
    p: PageParam = 0,
    code: CodeParam = False,
    cat: CatParam = None,
) -> Response:
    period, cats = _period("day", day), categories(cat)
    return await serve_page(request, lambda ctx: render_feed(site_of(request), period, sort, p, ctx, code, cats))


@router.get("/week/{week}")
async def by_week(
    request: Request,
    week: str,
    sort: SortParam = "trending",
    p: PageParam = 0,
    code: CodeParam = False,
    cat: CatParam = None,
) -> Response:
    period, cats = _period("week", week), categories(cat)
    return await serve_page(request, lambda ctx: render_feed(site_of(request), period, sort, p, ctx, code, cats))


@router.get("/month/{month}")
async def by_month(
    request: Request,
    month: str,
    sort: SortParam = "trending",
    p: PageParam = 0,
    code: CodeParam = False,
    cat: CatParam = None,
) -> Response:
    period, cats = _period("month", month), categories(cat)
    return await serve_page(request, lambda ctx: render_feed(site_of(request), period, sort, p, ctx, code, cats))


def render_paper(
    site: Site, paper_id: str, markdown: bool, ctx: dict[str, Any] | None = None
) -> tuple[bytes, str, int]:
    with read_tx(site.engine) as conn:
        detail = feed.paper_detail(conn, paper_id)
        if detail is None:
            raise HTTPException(404, f"No paper {paper_id!r} here.")
        if markdown:
            return paper_markdown(detail, site.settings.base_url).encode(), "text/markdown; charset=utf-8", 200
        ctx = card_context(conn, site.settings, ctx or {}, [detail.entry])
        extra = {name: fn(site, conn, detail, ctx) for name, fn in site.paper_sections.items()}
        if viewer := ctx.get("viewer"):  # the "add to collection" control: the viewer's collections
            extra["my_collections"] = collections.of_user(conn, viewer.pk)
            extra["in_collections"] = collections.containing(conn, viewer.pk, detail.entry.pk)
    body = site.render("paper.html", d=detail, e=detail.entry, **extra, **ctx)
    return body, "text/html; charset=utf-8", 200


@router.get("/papers/{paper_id:path}")
async def paper_page(request: Request, paper_id: str) -> Response:
    if not paper_id.isprintable() or len(paper_id) > 200:
        raise HTTPException(404, "No such paper here.")
    markdown = paper_id.endswith(".md")
    if markdown:
        paper_id = paper_id[:-3]
    canonical = _canonical_id(paper_id)
    if canonical != paper_id:
        suffix = ".md" if markdown else ""
        return RedirectResponse(f"/papers/{canonical}{suffix}", status_code=301)
    return await serve_page(request, lambda ctx: render_paper(site_of(request), paper_id, markdown, ctx))


def _canonical_id(paper_id: str) -> str:
    """`2401.01234v2` and arXiv URLs lead to the paper's page; local ids stay as they are."""
    try:
        return parse_arxiv_id(paper_id)[0]
    except InvalidArxivId:
        return paper_id
