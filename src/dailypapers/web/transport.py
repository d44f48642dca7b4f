"""How responses travel: HEAD answered as GET without its body, and compression.

- **HEAD.** FastAPI's routes answer only the methods they list, so every `GET` route would answer `HEAD`
  (what uptime monitors and link checkers send) with 405. `HeadAsGet` runs a HEAD request as a GET and
  sends the headers alone: the same status, type, length and ETag.
- **Compression.** Pages, JSON and Atom feeds from the page cache are gzipped once, when cached
  (`PageCache.store`), and sent as they are to clients that accept gzip (`site.respond`). Everything
  else (personal pages, CSS and JavaScript, uncached answers) goes through Starlette's `GZipMiddleware`,
  which leaves alone what is already encoded. Bodies under `MIN_SIZE` bytes are sent plain.
"""

from __future__ import annotations

import gzip

from starlette.types import ASGIApp, Message, Receive, Scope, Send

MIN_SIZE = 1024  # smaller bodies gain little from gzip (and fit in one packet anyway)
LEVEL = 6  # zlib's default: nearly level 9's size at a third of its time
COMPRESSIBLE = ("text/", "application/json", "application/atom+xml", "application/xml", "application/javascript")


def compressible(media_type: str, size: int) -> bool:
    return size >= MIN_SIZE and media_type.startswith(COMPRESSIBLE)


def gzipped(body: bytes) -> bytes:
    """`body` gzipped (with no timestamp, so the same body always gives the same bytes)."""
    return gzip.compress(body, compresslevel=LEVEL, mtime=0)


def accepts_gzip(accept_encoding: str) -> bool:
    """Whether an Accept-Encoding header allows gzip (`gzip`, `*`, not `gzip;q=0`)."""
    allowed: dict[str, bool] = {}
    for part in accept_encoding.lower().split(","):
        name, _, params = part.partition(";")
        q = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        allowed[name.strip()] = q > 0
    return allowed.get("gzip", allowed.get("x-gzip", allowed.get("*", False)))


class HeadAsGet:
    """ASGI middleware: a HEAD request runs as GET, and only the response's start (status, headers) is sent."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return
        done = False

        async def headers_only(message: Message) -> None:
            nonlocal done
            if message["type"] in ("http.response.body", "http.response.pathsend"):
                if done or message.get("more_body", False):
                    return
                done = True
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, headers_only)
