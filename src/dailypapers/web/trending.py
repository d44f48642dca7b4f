"""`/trending`: papers featured in the last few days, ranked by the trending score (docs/ranking.md)."""

from __future__ import annotations

import datetime as dt
import math
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from dailypapers.ranking import order
from dailypapers.ranking.score import TrendingParams, window_start
from dailypapers.store import feed
from dailypapers.store.db import read_tx
from dailypapers.web.auth import serve_page
from dailypapers.web.cards import card_context
from dailypapers.web.pages import CatParam, cat_query, categories
from dailypapers.web.site import Site, site_of

router = APIRouter(include_in_schema=False)

PageParam = Annotated[int, Query(ge=0, le=10_000)]


def render_trending(
    site: Site,
    page: int,
    ctx: dict[str, Any] | None = None,
    now: dt.datetime | None = None,
    cats: tuple[str, ...] = (),
) -> tuple[bytes, str, int]:
    """The /trending page as at `now` (default: the current time), personal when `ctx` has a viewer."""
    settings = site.settings
    now = now or dt.datetime.now(dt.UTC)
    params = TrendingParams.from_settings(settings)
    size = settings.feed_page_size
    start, end = window_start(now, settings.trending_days), now.date()
    fallback = False
    only = feed.Filter(categories=cats)
    with read_tx(site.engine) as conn:
        total = feed.count_featured(conn, start, end, only)
        latest = feed.latest_day(conn)
        if total == 0 and latest is not None and latest < start:
            # Nothing featured lately (a quiet instance, or a fresh demo): the days up to the latest featured
            # one, ranked as at its end, and the page says so.
            fallback = True
            now = dt.datetime.combine(latest + dt.timedelta(days=1), dt.time(), dt.UTC)
            start, end = window_start(now, settings.trending_days), latest
            total = feed.count_featured(conn, start, end, only)
        ranked = order.trending_between(conn, start, end, now, params, limit=size, offset=page * size, only=only)
        ctx = card_context(conn, site.settings, ctx or {}, [s.item for s in ranked])
    body = site.render(
        "trending.html",
        ranked=ranked,
        params=params,
        days=settings.trending_days,
        start=start,
        end=end,
        now=now,
        latest=latest,
        fallback=fallback,
        page=page,
        pages=max(1, math.ceil(total / size)),
        total=total,
        rank_offset=page * size,
        cats=cats,
        cat_q=cat_query(cats),
        cat_base="/trending",
        **ctx,
    )
    return body, "text/html; charset=utf-8", 200


@router.get("/trending")
async def trending_page(request: Request, p: PageParam = 0, cat: CatParam = None) -> Response:
    """Trending papers (of some categories with `cat`): cached for anonymous visitors, with vote buttons
    when signed in."""
    site, cats = site_of(request), categories(cat)
    return await serve_page(request, lambda ctx: render_trending(site, p, ctx, cats=cats))
