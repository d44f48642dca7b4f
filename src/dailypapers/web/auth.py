"""Who is asking: session cookies for browsers, bearer tokens for scripts; CSRF and rate limits."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import quote, urlsplit

import anyio
from fastapi import HTTPException, Request, Response
from starlette.concurrency import run_in_threadpool

from dailypapers.accounts import csrf, membership, signed
from dailypapers.accounts.ratelimit import RateLimits
from dailypapers.store import accounts
from dailypapers.store.accounts import Account
from dailypapers.store.db import read_tx
from dailypapers.web import banner, flash
from dailypapers.web.site import HTML_HEADERS, cached, site_of

T = TypeVar("T")

SESSION_COOKIE = "dp_session"
DEVICE_COOKIE = "dp_device"  # the accounts this browser signed in to (signed): it may try past their sign-in limit


def viewer(request: Request) -> Account | None:
    """The signed-in account of this request (session cookie or `Authorization: Bearer`), if any."""
    if hasattr(request.state, "viewer"):
        return request.state.viewer  # type: ignore[no-any-return]
    site = site_of(request)
    account = None
    auth = request.headers.get("authorization", "")
    with read_tx(site.engine) as conn:
        if auth.lower().startswith("bearer "):
            account = accounts.account_for_token(conn, auth[7:].strip())
            if account is None:
                raise HTTPException(401, "Invalid or revoked API token")
            request.state.by_token = True
        elif token := request.cookies.get(SESSION_COOKIE):
            account = accounts.account_for_session(conn, token)
    request.state.viewer = account
    return account


def require_user(request: Request) -> Account:
    account = viewer(request)
    if account is None:
        if request.url.path.startswith("/api/"):
            raise HTTPException(401, "Sign in or send an API token (Authorization: Bearer …)")
        back = request.url.path
        if request.method != "GET":  # come back to the page the form was on, not to the POST-only URL
            referer = urlsplit(request.headers.get("referer", ""))
            back = referer.path if referer.netloc == request.url.netloc and referer.path else "/"
        raise HTTPException(303, headers={"Location": f"/signin?next={quote(back)}"})
    return account


def require_curator(request: Request) -> Account:
    account = require_user(request)
    if not account.is_curator:
        raise HTTPException(403, "Only curators and admins can do this")
    return account


def require_admin(request: Request) -> Account:
    account = require_user(request)
    if not account.is_admin:
        raise HTTPException(403, "Only admins can do this")
    return account


def csrf_token(request: Request) -> str:
    """The token forms on this page must send back, bound to this browser's CSRF cookie and its session (sets
    the CSRF cookie when the browser lacks it)."""
    value = request.cookies.get(csrf.COOKIE) or getattr(request.state, "new_csrf_cookie", None)
    if value is None:
        value = csrf.new_cookie_value()
        request.state.new_csrf_cookie = value
    session = request.cookies.get(SESSION_COOKIE, "")
    return csrf.token_for(site_of(request).settings.secret, value, session)


def _set_csrf_cookie(request: Request, response: Response, value: str) -> None:
    secure = site_of(request).settings.secure_cookies
    response.set_cookie(csrf.COOKIE, value, httponly=True, samesite="lax", secure=secure, max_age=60 * 60 * 24 * 365)


def rotate_csrf(request: Request, response: Response) -> None:
    """A new CSRF cookie (signing in or out): the tokens of pages shown before stop working."""
    _set_csrf_cookie(request, response, csrf.new_cookie_value())


def finish(request: Request, response: Response) -> Response:
    """Attach the cookies this request decided on (a new CSRF cookie)."""
    if value := getattr(request.state, "new_csrf_cookie", None):
        _set_csrf_cookie(request, response, value)
    flash.clear(request, response)
    return response


async def check_csrf(request: Request) -> None:
    """Refuse a state-changing browser request whose form field or header lacks the right token."""
    if getattr(request.state, "by_token", False) or request.headers.get("authorization", "").lower().startswith(
        "bearer "
    ):
        # `viewer` answers from the token alone and refuses a bad one where the handler asks who it is, in
        # the handler's thread. Only beside a session cookie is it checked here (in the thread pool: a
        # database read on the event loop would hold up every cached page this process answers).
        if SESSION_COOKIE in request.cookies:
            await run_in_threadpool(viewer, request)
        return
    if request.url.path.startswith("/api/") and SESSION_COOKIE not in request.cookies:
        return  # no cookie carries authority here, so no forgery is possible; auth answers 401 itself
    sent = request.headers.get(csrf.HEADER)
    if sent is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()
        value = form.get(csrf.FIELD)
        sent = value if isinstance(value, str) else None
    secret, session = site_of(request).settings.secret, request.cookies.get(SESSION_COOKIE, "")
    if not csrf.valid(secret, request.cookies.get(csrf.COOKIE), sent, session):
        raise HTTPException(403, "This form has expired or did not come from this site. Reload the page and try again.")


async def toggle_lane(request: Request, fn: Callable[..., T], *args: Any) -> T:
    """`fn(*args)` in the process's one thread for toggles (Site.toggles; the thread pool when the app has not
    started). Flat-out votes then leave the other threads to page renders, and Python's lock to the event
    loop that answers cached pages (docs/benchmarks.md)."""
    return await anyio.to_thread.run_sync(fn, *args, limiter=site_of(request).toggles)


def client_key(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def limits_of(request: Request) -> RateLimits | None:
    """The rate limits for use cases that count by account (None when DAILYPAPERS_RATE_LIMITS is off)."""
    site = site_of(request)
    return site.limits if site.settings.rate_limits else None


def rate_limit(request: Request, action: str, *extra: str) -> None:
    """429 with Retry-After when this client (or account) does `action` too often."""
    site = site_of(request)
    if not site.settings.rate_limits:
        return
    verdict = site.limits.hit(action, f"ip:{client_key(request)}", *extra)
    if not verdict.allowed:
        raise HTTPException(
            429,
            f"Too many requests; try again in {verdict.retry_after} s",
            headers={"Retry-After": str(verdict.retry_after)},
        )


def known_accounts(request: Request) -> list[int]:
    """The accounts this browser signed in to before, by its known-device cookie."""
    return signed.known_accounts(site_of(request).settings.secret, request.cookies.get(DEVICE_COOKIE))


def remember_device(request: Request, response: Response, account: Account) -> None:
    """Count this browser as one `account` signed in from (or proved its address on)."""
    settings = site_of(request).settings
    value = signed.device_cookie(settings.secret, [*known_accounts(request), account.pk])
    secure = settings.secure_cookies
    response.set_cookie(
        DEVICE_COOKIE, value, httponly=True, samesite="lax", secure=secure, max_age=signed.DEVICE_MAX_AGE
    )


def start_session(request: Request, response: Response, account: Account) -> None:
    """Sign `account` in: a new session, its token in the cookie of `response`, a new CSRF cookie, and this
    browser remembered as one the account signs in from."""
    site = site_of(request)
    token = membership.start_session(site.engine, site.settings, account)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        samesite="lax",
        secure=site.settings.secure_cookies,
        max_age=site.settings.session_days * 86400,
    )
    rotate_csrf(request, response)
    remember_device(request, response, account)


def end_session(request: Request, response: Response) -> None:
    if token := request.cookies.get(SESSION_COOKIE):
        membership.end_session(site_of(request).engine, token)
    response.delete_cookie(SESSION_COOKIE)
    rotate_csrf(request, response)


def page_context(request: Request) -> dict[str, Any]:
    """What every uncached page template gets: the viewer and a CSRF token for its forms (and a one-time
    notice for the viewer, web/flash.py)."""
    account = viewer(request)
    ctx: dict[str, Any] = {"viewer": account, "csrf_token": csrf_token(request), "hide_banner": banner.hidden(request)}
    if account is not None:
        ctx["flash"] = flash.message(request, account.name)
    return ctx


Render = Callable[[dict[str, Any]], tuple[bytes, str, int]]


async def serve_page(request: Request, render: Render) -> Response:
    """A page for this viewer: rendered for them when signed in, else shared from the page cache."""
    if SESSION_COOKIE in request.cookies or "authorization" in request.headers:
        ctx = await run_in_threadpool(page_context, request)
        if ctx["viewer"] is not None:
            body, media_type, status = await run_in_threadpool(render, ctx)
            headers = dict(HTML_HEADERS) if media_type.startswith("text/html") else {}
            headers["Cache-Control"] = "private, no-store"
            return finish(request, Response(body, status_code=status, media_type=media_type, headers=headers))
    if banner.hidden(request):
        return await cached(request, lambda: render({"hide_banner": True}), variant=banner.variant(request))
    return await cached(request, lambda: render({}))


def render_personal(request: Request, template: str, status: int = 200, **context: Any) -> Response:
    """An uncacheable page (forms, settings) with the viewer and CSRF token in its context."""
    site = site_of(request)
    body = site.render(template, **{**page_context(request), **context})
    headers = dict(HTML_HEADERS)
    headers["Cache-Control"] = "private, no-store"
    return finish(request, Response(body, status_code=status, media_type="text/html; charset=utf-8", headers=headers))
