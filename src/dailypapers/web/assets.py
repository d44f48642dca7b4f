"""Static files: links that name their content, served for a year to browsers and proxies.

`static_url("style.css")` is `/static/style.css?v=<hash of the file>`: a changed file gets a new URL,
so a URL whose `v` is the file's current hash never changes and is served `immutable` with a year's
max-age. Any other request (no `v`, or an old one) is served `no-cache`, revalidated by its ETag.
Swagger UI's files (for `/docs`, web/api_docs.py) are served the same way from the package that ships
them, so the API page works without the internet.
"""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path

from starlette.datastructures import QueryParams
from starlette.responses import Response
from starlette.staticfiles import PathLike, StaticFiles
from starlette.types import Scope
from swagger_ui_bundle import swagger_ui_path

STATIC = Path(__file__).with_name("static")
SWAGGER_UI = Path(str(swagger_ui_path))
SWAGGER_PREFIX = "/static/swagger-ui"
IMMUTABLE = "public, max-age=31536000, immutable"

_hashes: dict[str, tuple[int, int, str]] = {}  # path -> (mtime_ns, size, hash)
_lock = threading.Lock()


def fingerprint(path: Path) -> str:
    """A short hash of the file's content (re-read only when its size or mtime changes); "" when missing."""
    try:
        st = path.stat()
    except OSError:
        return ""
    key = str(path)
    known = _hashes.get(key)
    if known and known[:2] == (st.st_mtime_ns, st.st_size):
        return known[2]
    digest = hashlib.blake2b(path.read_bytes(), digest_size=6).hexdigest()
    with _lock:
        _hashes[key] = (st.st_mtime_ns, st.st_size, digest)
    return digest


def static_url(name: str) -> str:
    """The versioned URL of one of our static files (`style.css`), for templates."""
    return f"/static/{name}?v={fingerprint(STATIC / name)}"


def swagger_url(name: str) -> str:
    """The versioned URL of one of Swagger UI's files (`swagger-ui-bundle.js`)."""
    return f"{SWAGGER_PREFIX}/{name}?v={fingerprint(SWAGGER_UI / name)}"


class VersionedStatic(StaticFiles):
    """StaticFiles that lets browsers keep a file for a year when the URL names its current content."""

    def file_response(
        self, full_path: PathLike, stat_result: os.stat_result, scope: Scope, status_code: int = 200
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        wanted = QueryParams(scope.get("query_string", b"")).get("v")
        current = wanted is not None and wanted == fingerprint(Path(full_path))
        response.headers["Cache-Control"] = IMMUTABLE if current else "no-cache"
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response
