"""Pages of what readers browse by: an organization's papers (`/orgs/{name}`, and its Atom feed
`/orgs/{name}/feed.atom`) and an author's (`/authors/{name}`: the spellings of a name meet, see
`sources.names`). Both read the `paper_names` index (`store.paper_names`)."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Request, Response
from feedgen.feed import FeedGenerator

from dailypapers.personal import follows
from dailypapers.sources.names import MAX_NAME, author_key, most_written, org_key, tex_to_unicode
from dailypapers.store import paper_names
from dailypapers.store.db import read_tx
from dailypapers.web.atom import ATOM, add_entries, atom_bytes
from dailypapers.web.auth import serve_page
from dailypapers.web.cards import card_context
from dailypapers.web.params import PageParam
from dailypapers.web.site import Site, cached, site_of

router = APIRouter(include_in_schema=False)

ATOM_ENTRIES = 50
OTHER_SPELLINGS = 5


def _shown(name: str) -> str:
    """A name from the URL as an error message may quote it."""
    return repr(name if len(name) <= 80 else name[:80] + "…")


def _key(name: str, keyer: Any, what: str) -> str:
    key = keyer(name) if len(name) <= MAX_NAME and name.isprintable() else ""
    if not key:
        raise HTTPException(404, f"No {what} {_shown(name)} here.")
    return key


def _follow_args(site: Site, ctx: dict[str, Any] | None, kind: str, value: str, back: str) -> dict[str, Any]:
    """What the follow button needs: whether the viewer (signed in: a fresh render) follows `value` as `kind`.
    Pages shared from the cache have no viewer: their button is a link to sign in, back to `back`."""
    viewer = (ctx or {}).get("viewer")
    followed = viewer is not None and follows.followed(site.engine, viewer.pk, kind, value) is not None
    return {"follow_value": value, "followed": followed, "back": back}


def _render(site: Site, template_args: dict[str, Any], ctx: dict[str, Any] | None) -> tuple[bytes, str, int]:
    body = site.render("browse.html", **template_args, **(ctx or {}))
    return body, "text/html; charset=utf-8", 200


def render_org(site: Site, name: str, page: int, ctx: dict[str, Any] | None = None) -> tuple[bytes, str, int]:
    key = _key(name, org_key, "organization")
    size = site.settings.feed_page_size
    with read_tx(site.engine) as conn:
        names = paper_names.org_names(conn, key)
        if names is None:
            raise HTTPException(404, f"No organization {_shown(name)} here.")
        total = paper_names.count_papers(conn, paper_names.ORG, key)
        entries = paper_names.papers_of_org(conn, key, limit=size, offset=page * size)
        ctx = card_context(conn, site.settings, ctx or {}, entries)
    handle, fullname = names
    args = {
        "kind": "org",
        "heading": fullname or handle,
        "handle": handle,
        "atom": f"/orgs/{quote(handle, safe='')}/feed.atom",
        "entries": entries,
        "total": total,
        "page": page,
        "pages": max(1, math.ceil(total / size)),
        **_follow_args(site, ctx, "org", handle, f"/orgs/{quote(handle, safe='')}"),
    }
    return _render(site, args, ctx)


def render_author(site: Site, name: str, page: int, ctx: dict[str, Any] | None = None) -> tuple[bytes, str, int]:
    key = _key(name, author_key, "author")
    size = site.settings.feed_page_size
    with read_tx(site.engine) as conn:
        total = paper_names.count_papers(conn, paper_names.AUTHOR, key)
        if not total:
            raise HTTPException(404, f"No author {_shown(name)} here.")
        spellings = paper_names.author_spellings(conn, key)
        entries = paper_names.papers_by_author(conn, key, limit=size, offset=page * size)
        ctx = card_context(conn, site.settings, ctx or {}, entries)
    shown = most_written(spellings) or tex_to_unicode(name)
    others = [s for s in dict.fromkeys(tex_to_unicode(s) for s in spellings) if s != shown][:OTHER_SPELLINGS]
    args = {
        "kind": "author",
        "heading": shown,
        "others": others,
        "search": "/search?q=" + quote(f'author:"{shown}"'),
        "entries": entries,
        "total": total,
        "page": page,
        "pages": max(1, math.ceil(total / size)),
        **_follow_args(site, ctx, "author", shown, f"/authors/{quote(name, safe='')}"),
    }
    return _render(site, args, ctx)


def render_org_atom(site: Site, name: str) -> tuple[bytes, str, int]:
    key = _key(name, org_key, "organization")
    base = site.settings.base_url
    with read_tx(site.engine) as conn:
        names = paper_names.org_names(conn, key)
        if names is None:
            raise HTTPException(404, f"No organization {_shown(name)} here.")
        entries = paper_names.papers_of_org(conn, key, limit=ATOM_ENTRIES)
    handle, fullname = names
    page = f"{base}/orgs/{quote(handle, safe='')}"
    fg = FeedGenerator()
    fg.id(page)
    fg.title(f"Daily Papers: {fullname or handle}")
    fg.subtitle(f"Papers of {fullname or handle} ({handle} on Hugging Face), the most recently featured first")
    fg.link(href=page, rel="alternate")
    fg.link(href=f"{page}/feed.atom", rel="self")
    fg.language("en")
    days = [e.day for e in entries if e.day]
    newest = max(days) if days else dt.date(1970, 1, 1)
    fg.updated(dt.datetime(newest.year, newest.month, newest.day, tzinfo=dt.UTC))
    add_entries(fg, entries, base)
    return atom_bytes(fg), ATOM, 200


@router.get("/orgs/{name}/feed.atom")
async def org_atom(request: Request, name: str) -> Response:
    return await cached(request, lambda: render_org_atom(site_of(request), name))


@router.get("/orgs/{name}")
async def org_page(request: Request, name: str, p: PageParam = 0) -> Response:
    """The papers of a Hugging Face organization, the most recently featured first."""
    site = site_of(request)
    return await serve_page(request, lambda ctx: render_org(site, name, p, ctx))


@router.get("/authors/{name:path}")
async def author_page(request: Request, name: str, p: PageParam = 0) -> Response:
    """The papers of an author, newest first, whichever way their name is written."""
    site = site_of(request)
    return await serve_page(request, lambda ctx: render_author(site, name, p, ctx))
