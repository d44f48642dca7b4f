"""The subscribe banner: shown to readers who are neither signed in nor subscribed, until they put it away.

A cookie remembers that a browser put it away or subscribed; the shared page cache keeps one copy of a page
with the banner and one without (`variant`).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

router = APIRouter(include_in_schema=False)
COOKIE = "dp_banner"
YEAR = 365 * 24 * 3600


def hidden(request: Request) -> bool:
    """This browser put the banner away, or subscribed."""
    return request.cookies.get(COOKIE) == "off"


def variant(request: Request) -> str:
    """The page cache's variant of a shared page for this browser."""
    return "no-banner" if hidden(request) else ""


def hide(response: Response, secure: bool) -> Response:
    response.set_cookie(COOKIE, "off", max_age=YEAR, httponly=True, samesite="lax", secure=secure)
    return response


@router.post("/banner/hide")
def hide_banner(request: Request) -> Response:
    """Put the banner away in this browser (a preference of the reader's own browser: no CSRF token needed, a
    forged request could only hide a banner). Back to the page it was on."""
    referer = urlsplit(request.headers.get("referer", ""))
    back = referer.path if referer.netloc == request.url.netloc and referer.path.startswith("/") else "/"
    if referer.query and back != "/":
        back += "?" + referer.query
    secure = request.app.state.site.settings.secure_cookies
    return hide(RedirectResponse(back, status_code=303), secure)
