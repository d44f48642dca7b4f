"""`/media/{name}`: the cached thumbnails and avatars (docs/media.md), served from this site.

A name is the sha256 of the file's bytes and its format's extension, so a file never changes under its name:
browsers and proxies may keep it for a year without asking again. Anything else (another name, a path
that climbs out of the folder, a file not cached) is a 404. The response may never be taken for anything
but the image it says it is (`nosniff`), and runs nothing if opened on its own (its own CSP, sandboxed).
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.responses import FileResponse

from dailypapers.ingest.media import media_dir
from dailypapers.sources.images import content_type_of
from dailypapers.web.site import site_of

router = APIRouter(include_in_schema=False)

HEADERS = {
    "Cache-Control": "public, max-age=31536000, immutable",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Referrer-Policy": "no-referrer",
}


@router.get("/media/{name}")
async def media_file(request: Request, name: str) -> Response:
    """A cached image, by its content-hash name."""
    content_type = content_type_of(name)
    if content_type is None:
        raise HTTPException(404, "No such image")
    path = media_dir(site_of(request).settings) / name
    if not path.is_file():
        raise HTTPException(404, "No such image")
    etag = f'"{name.split(".", 1)[0]}"'
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers={"ETag": etag, **HEADERS})
    headers = {"ETag": etag, **HEADERS}
    return FileResponse(path, media_type=content_type, headers=headers, stat_result=path.stat())
