"""Collections: their pages, forms and exports, and the HF-style API under /api/collections.

Who may see or change a collection is `personal.collections`' rule: another reader's private collection is a
404 everywhere (page, exports, API), as an unknown slug is. Collection pages and exports are rendered for each
request (never from the shared page cache), so a collection made private disappears at once.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import asdict
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Body, Depends, Form, Query, Request, Response
from fastapi.responses import JSONResponse, RedirectResponse
from pydantic import BaseModel, ConfigDict, Field

from dailypapers.personal import collections as personal
from dailypapers.personal import export
from dailypapers.problems import NotFound, Problem, Unprocessable
from dailypapers.store import profiles
from dailypapers.store.accounts import Account
from dailypapers.store.collections import Item, StoredCollection
from dailypapers.store.db import read_tx
from dailypapers.store.feed import Entry
from dailypapers.web import errors, hf_shapes
from dailypapers.web.auth import check_csrf, rate_limit, render_personal, require_user, viewer
from dailypapers.web.cards import card_context
from dailypapers.web.params import PageParam
from dailypapers.web.saving import NEEDS_ACCOUNT, render_saved, wants_json
from dailypapers.web.site import site_of
from dailypapers.web.upvotes import local_path

router = APIRouter()
PAGE_SIZE = 50  # papers per page of a collection
API_LIMIT = 100
_LONG = 100_000  # what a body field may hold before the rules (which allow far less) see it
Visibility = Literal["private", "unlisted", "public"]
_EXPORTS = {
    "bib": "application/x-bibtex; charset=utf-8",
    "md": "text/markdown; charset=utf-8",
    "json": "application/json",
}


def _limit(request: Request) -> Account:
    account = require_user(request)
    rate_limit(request, "vote", f"user:{account.pk}")  # collection changes share the upvote's budget
    return account


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def collection_json(request: Request, c: StoredCollection) -> dict[str, Any]:
    """A collection as the API shows it (HF's `title` and `private` beside our `name` and `visibility`)."""
    return {
        "slug": c.slug,
        "name": c.name,
        "title": c.name,
        "description": c.description,
        "visibility": c.visibility,
        "private": c.visibility == "private",
        "owner": {"name": c.owner},
        "numItems": c.papers,
        "url": f"{site_of(request).settings.base_url}/collections/{c.slug}",
        "createdAt": _iso(c.created_at),
        "lastUpdated": _iso(c.updated_at),
    }


def items_json(entries: list[Entry], items: dict[int, Item], offset: int) -> list[dict[str, Any]]:
    return [
        {
            "type": "paper",
            "id": e.id,
            "position": offset + i,
            "note": {"text": items[e.pk].note} if items[e.pk].note else None,
            "addedAt": _iso(items[e.pk].added_at),
            "paper": hf_shapes.paper(e),
        }
        for i, e in enumerate(entries)
    ]


# ---- pages and forms ----


@router.get("/collections", include_in_schema=False)
def collections_index() -> Response:
    """A reader's collections are on their "Saved" page."""
    return RedirectResponse("/saved#collections", status_code=303)


@router.post("/collections", include_in_schema=False, dependencies=[Depends(check_csrf)])
def create_form(
    request: Request,
    name: Annotated[str, Form(max_length=_LONG)] = "",
    description: Annotated[str, Form(max_length=_LONG)] = "",
    visibility: Annotated[str, Form(max_length=20)] = "private",
    paper_id: Annotated[str, Form(max_length=200)] = "",
    back: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """A new collection (from the "Saved" page, or from a paper page with that paper in it)."""
    account = _limit(request)
    engine = site_of(request).engine
    try:
        made = personal.create(engine, account, name, description, visibility)
    except Problem as exc:
        if paper_id:
            raise
        form = {"error": str(exc), "name": name[:200], "description": description[:4000], "visibility": visibility}
        return render_saved(request, 0, errors.status_for(exc, api=False), **form)
    if paper_id:
        personal.set_paper(engine, account, made.slug, paper_id, True)
        return RedirectResponse(local_path(back) or f"/papers/{paper_id}", status_code=303)
    return RedirectResponse(f"/collections/{made.slug}", status_code=303)


@router.get("/collections/{slug}.{kind}", include_in_schema=False)
def export_collection(request: Request, slug: str, kind: str) -> Response:
    """The collection as BibTeX (`.bib`), Markdown (`.md`) or JSON (`.json`), as a download."""
    if kind not in _EXPORTS:
        raise NotFound("No such export: .bib, .md and .json are")
    site = site_of(request)
    found, papers = personal.for_export(site.engine, viewer(request), slug)
    base = site.settings.base_url
    if kind == "bib":
        body = export.bibtex(papers, base, header=f"{found.name}: {base}/collections/{found.slug}").encode()
    elif kind == "md":
        body = export.markdown(found, papers, base).encode()
    else:
        body = orjson.dumps(export.as_json(found, papers, base), option=orjson.OPT_INDENT_2)
    headers = {
        "Content-Disposition": f'attachment; filename="{found.slug}.{kind}"',
        "Cache-Control": "private, no-store",
        "X-Content-Type-Options": "nosniff",
    }
    return Response(body, media_type=_EXPORTS[kind], headers=headers)


def render_collection(request: Request, slug: str, page: int = 0, status: int = 200, **form: Any) -> Response:
    site = site_of(request)
    account = viewer(request)
    shown = personal.view(site.engine, account, slug, PAGE_SIZE, page * PAGE_SIZE)
    with read_tx(site.engine) as conn:
        cards = card_context(conn, site.settings, {"viewer": account}, shown.entries)
    cards.pop("viewer")
    return render_personal(
        request,
        "collection.html",
        status,
        view=shown,
        c=shown.collection,
        entries=shown.entries,
        page=page,
        pages=max(1, math.ceil(shown.collection.papers / PAGE_SIZE)),
        visibilities=personal.VISIBILITIES,
        limits={"name": personal.MAX_NAME, "description": personal.MAX_DESCRIPTION, "note": personal.MAX_NOTE},
        cat_base="/",
        form=form,
        **cards,
    )


@router.get("/collections/{slug}", include_in_schema=False)
def collection_page(request: Request, slug: str, p: PageParam = 0) -> Response:
    return render_collection(request, slug, p)


@router.post("/collections/{slug}/edit", include_in_schema=False, dependencies=[Depends(check_csrf)])
def edit_form(
    request: Request,
    slug: str,
    name: Annotated[str, Form(max_length=_LONG)] = "",
    description: Annotated[str, Form(max_length=_LONG)] = "",
    visibility: Annotated[str, Form(max_length=20)] = "private",
) -> Response:
    account = _limit(request)
    try:
        personal.update(
            site_of(request).engine, account, slug, name=name, description=description, visibility=visibility
        )
    except Unprocessable as exc:
        form = {"error": str(exc), "name": name[:200], "description": description[:4000], "visibility": visibility}
        return render_collection(request, slug, 0, errors.status_for(exc, api=False), **form)
    return RedirectResponse(f"/collections/{slug}", status_code=303)


@router.post("/collections/{slug}/delete", include_in_schema=False, dependencies=[Depends(check_csrf)])
def delete_form(request: Request, slug: str) -> Response:
    personal.delete(site_of(request).engine, _limit(request), slug)
    return RedirectResponse("/saved#collections", status_code=303)


@router.post("/papers/{paper_id:path}/collections", include_in_schema=False, dependencies=[Depends(check_csrf)])
def paper_in_collection_form(
    request: Request,
    paper_id: str,
    slug: Annotated[str, Form(max_length=200)],
    on: Annotated[str, Form(pattern="^[01]$")] = "1",
    note: Annotated[str | None, Form(max_length=_LONG)] = None,
    back: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Add the paper to one of the reader's collections (with a note, if given), or take it out (`on=0`)."""
    account = _limit(request)
    result = personal.set_paper(site_of(request).engine, account, slug, paper_id, on == "1", note)
    if wants_json(request):
        return JSONResponse(asdict(result))
    return RedirectResponse(local_path(back) or f"/collections/{slug}", status_code=303)


# ---- the API ----


class CollectionIn(BaseModel):
    """A collection's fields: `name` (HF calls it `title`), `description`, and `visibility` (or HF's `private`)."""

    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(None, max_length=_LONG)
    title: str | None = Field(None, max_length=_LONG, description="the same as name, as Hugging Face calls it")
    description: str | None = Field(None, max_length=_LONG)
    visibility: Visibility | None = None
    private: bool | None = Field(None, description="true: private; false: public (when visibility is not given)")

    def chosen_name(self) -> str | None:
        return self.name if self.name is not None else self.title

    def chosen_visibility(self) -> str | None:
        if self.visibility is not None:
            return self.visibility
        return None if self.private is None else ("private" if self.private else "public")


class NoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: str | None = Field(None, max_length=_LONG, description="your note on the paper in this collection")


@router.get("/api/collections", tags=["collections"], responses=NEEDS_ACCOUNT)
def api_list(request: Request, owner: Annotated[str | None, Query(max_length=96)] = None) -> list[dict[str, Any]]:
    """Your collections (signed in), or the public collections of `owner` (yours, all of them, if it is you)."""
    account = viewer(request)
    site = site_of(request)
    if owner is None:
        account = require_user(request)
        return [collection_json(request, c) for c in personal.mine(site.engine, account)]
    if "\x00" in owner:
        raise NotFound("No such user here")
    with read_tx(site.engine) as conn:
        user = profiles.profile_by_name(conn, owner)
    if user is None:
        raise NotFound("No such user here")
    return [collection_json(request, c) for c in personal.listed(site.engine, account, user.pk)]


@router.post("/api/collections", tags=["collections"], status_code=201, dependencies=[Depends(check_csrf)])
def api_create(request: Request, body: CollectionIn) -> dict[str, Any]:
    """Create a collection (private unless asked otherwise); answers it, with its `slug`."""
    account = _limit(request)
    name = body.chosen_name()
    if name is None:
        raise Unprocessable("A collection needs a name")
    made = personal.create(
        site_of(request).engine, account, name, body.description or "", body.chosen_visibility() or "private"
    )
    return collection_json(request, made)


@router.get("/api/collections/{slug}", tags=["collections"])
def api_get(
    request: Request, slug: str, p: PageParam = 0, limit: Annotated[int, Query(ge=1, le=API_LIMIT)] = API_LIMIT
) -> dict[str, Any]:
    """A collection and its papers (`p` pages of `limit`), the first added first."""
    shown = personal.view(site_of(request).engine, viewer(request), slug, limit, p * limit)
    return {**collection_json(request, shown.collection), "items": items_json(shown.entries, shown.items, p * limit)}


@router.patch("/api/collections/{slug}", tags=["collections"], dependencies=[Depends(check_csrf)])
def api_update(request: Request, slug: str, body: CollectionIn) -> dict[str, Any]:
    """Change a collection's name, description or visibility (its slug stays)."""
    changed = personal.update(
        site_of(request).engine,
        _limit(request),
        slug,
        name=body.chosen_name(),
        description=body.description,
        visibility=body.chosen_visibility(),
    )
    return collection_json(request, changed)


@router.delete("/api/collections/{slug}", tags=["collections"], dependencies=[Depends(check_csrf)])
def api_delete(request: Request, slug: str) -> dict[str, Any]:
    """Delete a collection (its papers stay on the site and in your saved papers)."""
    personal.delete(site_of(request).engine, _limit(request), slug)
    return {"slug": slug, "deleted": True}


@router.post("/api/collections/{slug}/papers/{paper_id:path}", tags=["collections"], dependencies=[Depends(check_csrf)])
def api_add(
    request: Request, slug: str, paper_id: str, body: Annotated[NoteIn | None, Body()] = None
) -> dict[str, Any]:
    """Put a paper in your collection (idempotent); a `note` in the body replaces its note."""
    note = body.note if body is not None else None
    return asdict(personal.set_paper(site_of(request).engine, _limit(request), slug, paper_id, True, note))


@router.delete(
    "/api/collections/{slug}/papers/{paper_id:path}", tags=["collections"], dependencies=[Depends(check_csrf)]
)
def api_remove(request: Request, slug: str, paper_id: str) -> dict[str, Any]:
    """Take a paper out of your collection (idempotent)."""
    return asdict(personal.set_paper(site_of(request).engine, _limit(request), slug, paper_id, False))
