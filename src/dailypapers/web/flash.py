"""One-time notices shown on the next page a signed-in reader sees (after a redirect), such as the
confirmation that an account is active. The cookie holds only a code: the words are ours, so no other
site can make ours say anything."""

from __future__ import annotations

from fastapi import Request, Response

COOKIE = "dp_flash"
MESSAGES = {
    "activated": "Welcome, {name}! Your account is active and you are signed in.",
}


def flash(response: Response, code: str, secure: bool) -> Response:
    """Show the notice `code` (one of MESSAGES) on the next page this browser renders for its reader."""
    response.set_cookie(COOKIE, code, max_age=300, httponly=True, samesite="lax", secure=secure)
    return response


def message(request: Request, name: str) -> str | None:
    """The notice waiting for this request's page, naming the signed-in `name` (it is cleared by `clear`)."""
    text = MESSAGES.get(request.cookies.get(COOKIE, ""))
    if text is None:
        return None
    request.state.flash_shown = True
    return text.format(name=name)


def clear(request: Request, response: Response) -> None:
    """Forget the notice once a page showed it."""
    if getattr(request.state, "flash_shown", False):
        response.delete_cookie(COOKIE)
