"""Email digest subscriptions: subscribe (double opt-in), confirm, manage and unsubscribe by signed link."""

from __future__ import annotations

import functools
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Form, HTTPException, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from dailypapers.digest import links, subscribing
from dailypapers.digest.prefs import InvalidRequest, check
from dailypapers.store.subscribers import Subscriber
from dailypapers.web import banner
from dailypapers.web.account_pages import render_settings
from dailypapers.web.auth import check_csrf, rate_limit, render_personal, require_user
from dailypapers.web.site import site_of

router = APIRouter(include_in_schema=False)
api_router = APIRouter()
PENDING = (
    "Thanks! If that address can receive mail, a confirmation link is on its way. "
    "Nothing else is sent before you confirm."
)
ASK_AGAIN = "Check the details and press Subscribe to get a confirmation mail."


@router.get("/subscribe")
def subscribe_form(request: Request) -> Response:
    return render_personal(request, "subscribe.html", form={"frequency": "daily"}, error=None, done=False)


async def _from_this_site(request: Request) -> bool:
    """A valid CSRF token, or a browser saying the form was on one of our pages (the banner on cached pages).

    A forged subscription could only mail a confirmation link, which anyone can ask for anyway; still,
    cross-site posts are not acted on but shown back as a form to confirm.
    """
    try:
        await check_csrf(request)
        return True
    except HTTPException:
        pass
    if request.headers.get("sec-fetch-site") == "same-origin":
        return True
    origin = request.headers.get("origin")
    ours = {request.headers.get("host"), urlsplit(site_of(request).settings.base_url).netloc}
    return bool(origin) and urlsplit(origin).netloc in ours


@router.post("/subscribe")
async def subscribe(
    request: Request,
    email: str = Form(""),
    frequency: str = Form("daily"),
    categories: str = Form(""),
    keywords: str = Form(""),
) -> Response:
    form = {"email": email, "frequency": frequency, "categories": categories, "keywords": keywords}
    page = functools.partial(run_in_threadpool, render_personal, request, "subscribe.html")
    if not await _from_this_site(request):
        return await page(form=form, error=None, done=False, message=ASK_AGAIN)
    await run_in_threadpool(rate_limit, request, "subscribe")
    try:
        prefs = check(email, frequency, categories, keywords)
    except InvalidRequest as exc:
        return await page(status=400, form=form, error=str(exc), done=False)
    site = site_of(request)
    await subscribing.request(site.engine, site.settings, prefs)
    done = await page(form={}, error=None, done=True, message=PENDING, hide_banner=True)
    return banner.hide(done, site.settings.secure_cookies)


@api_router.post("/api/subscriptions", status_code=202, tags=["subscriptions"])
async def subscribe_api(request: Request) -> Response:
    """Ask for a digest; answers 202 with the same body whether the address was known or not."""
    await run_in_threadpool(rate_limit, request, "subscribe")
    try:
        body = await request.json()
    except ValueError:
        raise HTTPException(400, "The body must be JSON.") from None
    if not isinstance(body, dict):
        raise HTTPException(400, "The body must be a JSON object.")
    prefs = check(body.get("email"), body.get("frequency"), body.get("categories"), body.get("keywords"))
    site = site_of(request)
    await subscribing.request(site.engine, site.settings, prefs)
    return JSONResponse({"status": "pending", "message": PENDING}, status_code=202)


@router.get("/subscribe/confirm")
def confirm(request: Request, token: str = "") -> Response:
    site = site_of(request)
    sub = subscribing.confirm(site.engine, site.settings, token)
    page = _manage_page(request, sub, "Confirmed: your digest starts with the next period.")
    return banner.hide(page, site.settings.secure_cookies)


def _manage_page(
    request: Request, sub: Subscriber, message: str | None, status: int = 200, error: str | None = None
) -> Response:
    """The preferences form for `sub`, with a fresh manage token and the unsubscribe button."""
    settings = site_of(request).settings
    token = links.subscriber_token(settings.secret, "manage", sub.pk, sub.email)
    return render_personal(
        request,
        "subscription_manage.html",
        status=status,
        sub=sub,
        token=token,
        message=message,
        error=error,
        unsubscribe_url=links.unsubscribe_url(settings, sub.pk, sub.email),
    )


@router.get("/subscribe/manage")
def manage_form(request: Request, token: str = "") -> Response:
    return _manage_page(request, _subscriber(request, "manage", token), None)


def _subscriber(request: Request, kind: str, token: str) -> Subscriber:
    site = site_of(request)
    return subscribing.subscriber(site.engine, site.settings, kind, token)


@router.post("/subscribe/manage")
def manage(
    request: Request,
    token: str = "",
    frequency: str = Form("daily"),
    categories: str = Form(""),
    keywords: str = Form(""),
) -> Response:
    """Change preferences; the signed token is the authority (no sign-in, no CSRF cookie needed)."""
    sub = _subscriber(request, "manage", token)
    try:
        prefs = check(sub.email, frequency, categories, keywords)
    except InvalidRequest as exc:
        return _manage_page(request, sub, None, status=400, error=str(exc))
    return _manage_page(request, subscribing.save_preferences(site_of(request).engine, sub, prefs), "Saved.")


def _unsubscribe_page(request: Request, sub: Subscriber, token: str, *, done: bool) -> Response:
    settings = site_of(request).settings
    manage = links.subscriber_token(settings.secret, "manage", sub.pk, sub.email)
    page = render_personal(request, "unsubscribe.html", sub=sub, token=token, manage_token=manage, done=done)
    page.headers["Referrer-Policy"] = "no-referrer"  # the link's token stays out of other requests
    return page


@router.get("/unsubscribe")
def unsubscribe_link(request: Request, token: str = "") -> Response:
    """The link in the mail (`List-Unsubscribe`): a page asking to confirm with a button that POSTs here.

    A GET changes nothing: mail scanners and link previews open the links of a mail, and must not
    unsubscribe its reader."""
    return _unsubscribe_page(request, _subscriber(request, "unsubscribe", token), token, done=False)


@router.post("/unsubscribe")
def unsubscribe_post(request: Request, token: str = "") -> Response:
    """Unsubscribe: RFC 8058's one-click (`List-Unsubscribe=One-Click`, posted by the mail client, as the
    digest's `List-Unsubscribe-Post` header announces) or the confirmation page's button.

    The signed token in the URL is the authority: no session and no CSRF token, which a mail client has
    not got; a forged cross-site POST would need the token, which only the subscriber's mail holds."""
    sub = _subscriber(request, "unsubscribe", token)
    subscribing.unsubscribe(site_of(request).engine, sub)
    return _unsubscribe_page(request, sub, token, done=True)


@router.post("/settings/digest", dependencies=[Depends(check_csrf)])
def settings_digest(
    request: Request,
    action: str = Form("save"),
    frequency: str = Form("daily"),
    categories: str = Form(""),
    keywords: str = Form(""),
    content: str = Form("trending", pattern="^(trending|for_you)$"),
) -> Response:
    """Signed-in users subscribe at once: their address was confirmed when they activated the account.
    `content` "for_you" mails their own ranking (docs/personal.md) instead of the trending papers."""
    account = require_user(request)
    if not account.email:
        return render_settings(request, account, status=400, error="Your account has no email address to mail.")
    engine = site_of(request).engine
    if action == "unsubscribe":
        subscribing.unsubscribe_member(engine, account.email)
        return render_settings(request, account, message="Unsubscribed: no more digests will be sent.")
    try:
        prefs = check(account.email, frequency, categories, keywords)
    except InvalidRequest as exc:
        return render_settings(request, account, status=400, error=str(exc))
    own = content == "for_you"
    subscribing.subscribe_member(engine, prefs, user_pk=account.pk, for_you=own)
    what = "“for you” digest" if own else "digest"
    return render_settings(request, account, message=f"Saved: you get the {prefs.frequency} {what}.")
