"""Importing a library (BibTeX, CSL JSON) from the settings page and through POST /api/library/import.

The page (`/settings/library`) takes a multipart upload and shows what the import did; the API takes the
file as multipart (field `file`) or as the raw body (Content-Type application/x-bibtex, text/x-bibtex,
application/vnd.citationstyles.csl+json or application/json), with an optional `format` (bibtex or
csl-json; detected from the content otherwise). Uploads may be up to 16 MiB (web/limits.py lets these two
paths past the site's 1 MiB body limit); the use case is `personal.library`.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from dailypapers.personal import library
from dailypapers.problems import Problem, Unprocessable
from dailypapers.sources.library_record import MAX_LIBRARY_BYTES
from dailypapers.store.accounts import Account
from dailypapers.web.auth import check_csrf, rate_limit, render_personal, require_user
from dailypapers.web.errors import status_for
from dailypapers.web.site import site_of

router = APIRouter()
PAGE_PATH = "/settings/library"
IMPORT_PATHS = ("/settings/library/import", "/api/library/import")  # web/limits.py: larger bodies here
RAW_TYPES = {
    "application/x-bibtex": "bibtex",
    "text/x-bibtex": "bibtex",
    "application/vnd.citationstyles.csl+json": "csl-json",
    "application/json": None,  # CSL JSON, or another JSON the parser refuses
    "text/plain": None,
    "application/octet-stream": None,
}
FormatParam = Annotated[str | None, Query(max_length=20, pattern=r"^[A-Za-z_-]*$")]


async def _read_upload(value: object) -> bytes:
    if not isinstance(value, UploadFile):
        raise Unprocessable("Choose a file to import (a .bib BibTeX file or a CSL JSON export).")
    data = await value.read(MAX_LIBRARY_BYTES + 1)
    if len(data) > MAX_LIBRARY_BYTES:
        raise Unprocessable(f"The file is larger than {MAX_LIBRARY_BYTES >> 20} MiB.")
    return data


async def _multipart(request: Request) -> tuple[bytes, str | None]:
    form = await request.form(max_files=2, max_fields=10)
    fmt = form.get("format")
    return await _read_upload(form.get("file")), (fmt if isinstance(fmt, str) and fmt.strip() else None)


def render_library(request: Request, account: Account, status: int = 200, **extra: Any) -> Response:
    engine = site_of(request).engine
    context: dict[str, Any] = {"summary": None, "message": None, "error": None, **extra}
    counts = library.library_counts(engine, account)
    recent = library.library_of(engine, account, 1, 10).entries if counts.entries else []
    return render_personal(request, "settings_library.html", status=status, counts=counts, recent=recent, **context)


@router.get(PAGE_PATH, include_in_schema=False)
def library_page(request: Request) -> Response:
    return render_library(request, require_user(request))


@router.post("/settings/library/import", include_in_schema=False, dependencies=[Depends(check_csrf)])
async def library_import_form(request: Request) -> Response:
    account = await run_in_threadpool(require_user, request)
    rate_limit(request, "library_import", f"user:{account.pk}")
    try:
        data, fmt = await _multipart(request)
        summary = await run_in_threadpool(library.import_library, site_of(request).engine, account, data, fmt)
    except Problem as problem:
        return render_library(request, account, status=status_for(problem, api=False), error=str(problem))
    return render_library(request, account, summary=summary)


@router.post("/settings/library/remove", include_in_schema=False, dependencies=[Depends(check_csrf)])
def library_remove_form(request: Request) -> Response:
    account = require_user(request)
    removed = library.remove_library(site_of(request).engine, account)
    message = f"Your library is removed ({removed:,} entries)." if removed else "Your library was already empty."
    return render_library(request, account, message=message)


# -- the API ------------------------------------------------------------------------------------


def _entry_json(e: Any) -> dict[str, object]:
    return {
        "title": e.title,
        "authors": e.authors_text,
        "arxiv_id": e.arxiv_id or None,
        "doi": e.doi or None,
        "year": e.year,
        "source": e.source,
        "paper_id": e.paper_id,
        "embedded": e.embedded,
        "imported_at": e.imported_at.isoformat(),
    }


@router.get("/api/library", tags=["personal"])
def api_library(
    request: Request,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=library.MAX_PER_PAGE)] = 50,
) -> dict[str, object]:
    """Your imported library, in import order, a page at a time (`Authorization: Bearer <token>`)."""
    account = require_user(request)
    found = library.library_of(site_of(request).engine, account, page, per_page)
    return {
        "total": found.counts.entries,
        "matched": found.counts.matched,
        "unmatched": found.counts.unmatched,
        "embedded": found.counts.embedded,
        "page": found.page,
        "per_page": found.per_page,
        "entries": [_entry_json(e) for e in found.entries],
    }


@router.post("/api/library/import", tags=["personal"], dependencies=[Depends(check_csrf)])
async def api_library_import(request: Request, format: FormatParam = None) -> Response:
    """Import a BibTeX or CSL JSON library: multipart (field `file`) or the raw body with its Content-Type
    (application/x-bibtex, text/x-bibtex, application/vnd.citationstyles.csl+json, application/json).
    `format` (bibtex or csl-json) overrides detection. Re-importing a file adds nothing twice."""
    account = await run_in_threadpool(require_user, request)
    rate_limit(request, "library_import", f"user:{account.pk}")
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    fmt = format or None
    if media == "multipart/form-data":
        data, form_fmt = await _multipart(request)
        fmt = fmt or form_fmt
    elif media in RAW_TYPES or not media:
        data = await request.body()
        fmt = fmt or RAW_TYPES.get(media)
    else:
        raise Unprocessable(
            f"Unsupported Content-Type {media[:80]!r}: send multipart/form-data (field file), "
            "application/x-bibtex or application/vnd.citationstyles.csl+json."
        )
    summary = await run_in_threadpool(library.import_library, site_of(request).engine, account, data, fmt)
    return JSONResponse(summary.as_dict())


@router.delete("/api/library", tags=["personal"], dependencies=[Depends(check_csrf)])
def api_remove_library(request: Request) -> dict[str, int]:
    """Remove your whole imported library."""
    account = require_user(request)
    return {"removed": library.remove_library(site_of(request).engine, account)}
