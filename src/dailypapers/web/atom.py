"""Atom feeds of the feed pages (`/feed.atom`, `/date/…/feed.atom`, `/week/…`, `/month/…`), each filtered
by category as its page is (`?cat=cs.CL&cat=cs.LG`)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request, Response
from feedgen.feed import FeedGenerator
from lxml import etree

from dailypapers.periods import BadPeriod, Period, parse, period_of
from dailypapers.ranking import order
from dailypapers.ranking.score import TrendingParams
from dailypapers.sources.arxiv_ids import abs_url
from dailypapers.sources.categories import filter_categories
from dailypapers.sources.latex import plain_text
from dailypapers.store import feed
from dailypapers.store.db import read_tx
from dailypapers.store.feed import Entry
from dailypapers.web.site import Site, cached, site_of

router = APIRouter(include_in_schema=False)
ATOM = "application/atom+xml; charset=utf-8"
_NS = "http://www.w3.org/2005/Atom"


def _at(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)


CatParam = Annotated[list[str] | None, Query()]


def render_atom(site: Site, period: Period | None, cats: tuple[str, ...] = ()) -> tuple[bytes, str, int]:
    base = site.settings.base_url
    latest_feed = period is None
    with read_tx(site.engine) as conn:
        if period is None:
            latest = feed.latest_day(conn)
            period = period_of("day", latest) if latest else None
        params = TrendingParams.from_settings(site.settings)
        only = feed.Filter(categories=cats)
        entries = order.ordered(conn, params, period, limit=100, only=only) if period else []
    fg = FeedGenerator()
    query = "?" + "&".join(f"cat={c}" for c in cats) if cats else ""  # checked names: nothing to escape
    page = f"{base}{period.path}" if period else f"{base}/"
    self_url = (f"{base}/feed.atom" if latest_feed or not period else f"{page.rstrip('/')}/feed.atom") + query
    # A feed's id never changes (RFC 4287 4.2.6): a period's page, or for the latest day the feed itself.
    fg.id(self_url if latest_feed else page + query)
    title = f"Daily Papers: {period.label}" if period else "Daily Papers"
    fg.title(f"{title} ({', '.join(cats)})" if cats else title)
    fg.subtitle("Trending research papers, by AK and the research community")
    fg.link(href=page + query, rel="alternate")
    fg.link(href=self_url, rel="self")
    fg.language("en")
    fg.updated(_at(period.end) if period else dt.datetime(1970, 1, 1, tzinfo=dt.UTC))
    add_entries(fg, entries, base)
    return atom_bytes(fg), ATOM, 200


def atom_bytes(fg: FeedGenerator) -> bytes:
    """The feed as Atom, with its entries' links as they were added.

    feedgen 1.0 writes an entry link's `href` only, so every link read as `rel="alternate"` with no
    type: two alternates of one type, which RFC 4287 4.1.1 forbids. Its links are written again here."""
    root = etree.fromstring(fg.atom_str(pretty=False))
    for entry, item in zip(root.iter(f"{{{_NS}}}entry"), reversed(fg.entry()), strict=True):
        elements = entry.findall(f"{{{_NS}}}link")
        for element, link in zip(elements, item.link(), strict=True):
            for name in ("rel", "type", "title"):
                if link.get(name):
                    element.set(name, link[name])
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def add_entries(fg: FeedGenerator, entries: list[Entry], base: str) -> None:
    """The papers of a feed, in order."""
    # feedgen prepends entries; add them in reverse so the feed reads best first.
    for e in reversed(entries):
        item = fg.add_entry()
        url = f"{base}/papers/{e.id}"
        item.id(url)
        item.title(plain_text(e.title))
        item.link(href=url, rel="alternate", type="text/html")
        if not e.local:
            item.link(href=abs_url(e.id), rel="related", type="text/html", title="arXiv")
        for a in e.authors[:20] or [{"name": "Unknown"}]:
            item.author(name=plain_text(a["name"]))
        item.summary(plain_text(e.abstract or e.title))
        when = _at(e.day) if e.day else e.published or dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
        item.updated(when)
        if e.published:
            item.published(e.published)
        for c in e.categories:
            item.category(term=c)


@router.get("/feed.atom")
async def latest_atom(request: Request, cat: CatParam = None) -> Response:
    cats = filter_categories(cat or ())
    return await cached(request, lambda: render_atom(site_of(request), None, cats))


@router.get("/{kind}/{value}/feed.atom")
async def period_atom(request: Request, kind: str, value: str, cat: CatParam = None) -> Response:
    cats = filter_categories(cat or ())
    kinds = {"date": "day", "week": "week", "month": "month"}
    if kind not in kinds:
        raise HTTPException(404, "Not found")
    try:
        period = parse(kinds[kind], value)
    except BadPeriod as exc:
        raise HTTPException(404, str(exc)) from exc
    return await cached(request, lambda: render_atom(site_of(request), period, cats))
