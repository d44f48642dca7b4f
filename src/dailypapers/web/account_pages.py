"""Sign up (with an emailed activation link), sign in and out, settings: password, digest and API tokens.

The use cases and their rules are `accounts.membership`'s; these handlers turn forms into calls and
refusals into the form again, with the message. `next` (where to go once signed in) travels through sign-in,
sign-up and the activation link; when it names an upvote asked for while signed out, that vote is cast
(web/upvotes.py). `/login` and `/logout` are aliases of `/signin` and `/signout`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request, Response
from fastapi.responses import RedirectResponse
from starlette.datastructures import URL

from dailypapers.accounts import membership
from dailypapers.digest import subscribing
from dailypapers.problems import BadRequest
from dailypapers.store.accounts import Account
from dailypapers.web.auth import (
    SESSION_COOKIE,
    check_csrf,
    end_session,
    rate_limit,
    render_personal,
    require_user,
    start_session,
)
from dailypapers.web.flash import flash
from dailypapers.web.site import site_of
from dailypapers.web.upvotes import cast_intent, intent_title, local_path

router = APIRouter(include_in_schema=False)
# No NUL characters: PostgreSQL cannot store or even compare text holding them (500 otherwise).
Text = Annotated[str, Form(max_length=2000, pattern=r"^[^\x00]*$")]


def _safe_next(target: str | None) -> str:
    return local_path(target) or "/"


def _form(request: Request, template: str, next: str, status: int = 200, **context: object) -> Response:
    """The sign-in or sign-up form, carrying `next` (and saying which paper's upvote waits, if one does)."""
    next = _safe_next(next)
    return render_personal(request, template, status=status, next=next, intent=intent_title(request, next), **context)


@router.get("/signup")
def signup_form(request: Request, next: str = "/") -> Response:
    return _form(request, "signup.html", next, form={}, error=None)


@router.post("/signup", dependencies=[Depends(check_csrf)])
async def signup(request: Request, username: Text, email: Text, password: Text, next: Text = "/") -> Response:
    rate_limit(request, "signup")
    site = site_of(request)
    try:
        address = await membership.sign_up(site.engine, site.settings, username, email, password, then=_safe_next(next))
    except BadRequest as problem:
        form = {"username": username.strip(), "email": email.strip().lower()}
        return _form(request, "signup.html", next, status=400, form=form, error=str(problem))
    return render_personal(
        request,
        "notice.html",
        title="Check your inbox",
        message=f"We sent a message to {address}. Open the link in it to finish signing up.",
    )


@router.get("/activate")
def activate(request: Request, token: str = "", next: str = "/") -> Response:
    """The emailed link: activates the account, signs it in, casts the upvote it carries, if any, and says
    so on the page it leads to."""
    site = site_of(request)
    account = membership.activate(site.engine, site.settings, token)
    response = RedirectResponse(cast_intent(request, account, _safe_next(next)), status_code=303)
    start_session(request, response, account)
    return flash(response, "activated", site.settings.secure_cookies)


@router.get("/signin")
def signin_form(request: Request, next: str = "/") -> Response:
    return _form(request, "signin.html", next, error=None, login="")


@router.post("/signin", dependencies=[Depends(check_csrf)])
async def signin(request: Request, login: Text, password: Text, next: Text = "/") -> Response:
    login = login.strip()
    rate_limit(request, "signin", f"login:{login.lower()}")
    try:
        account = await membership.sign_in(site_of(request).engine, login, password)
    except BadRequest as problem:
        return _form(request, "signin.html", next, status=400, error=str(problem), login=login)
    response = RedirectResponse(cast_intent(request, account, _safe_next(next)), status_code=303)
    start_session(request, response, account)
    return response


@router.post("/signout", dependencies=[Depends(check_csrf)])
def signout(request: Request) -> Response:
    response = RedirectResponse("/", status_code=303)
    end_session(request, response)
    return response


@router.get("/signout")
def signout_form(request: Request) -> Response:
    """Signing out changes state, so a GET only shows the button (a link or a typed URL lands here)."""
    return render_personal(request, "signout.html")


@router.api_route("/login", methods=["GET", "POST"])
@router.api_route("/logout", methods=["GET", "POST"])
def alias(request: Request) -> Response:
    """`/login` is `/signin`, `/logout` is `/signout`: 307/308 keep the method and the form (and so its CSRF
    token, which the target checks), and the query."""
    target = "/signin" if request.url.path == "/login" else "/signout"
    return RedirectResponse(str(URL(target).replace(query=request.url.query)), status_code=308)


def render_settings(request: Request, account: Account, status: int = 200, **extra: object) -> Response:
    """The settings page for `account`: password, digest subscription and API tokens."""
    engine = site_of(request).engine
    tokens = membership.api_tokens(engine, account)
    digest = subscribing.subscription_of(engine, account.email)
    context: dict[str, object] = {"new_token": None, "message": None, "error": None, **extra}
    return render_personal(request, "settings.html", status=status, tokens=tokens, digest=digest, **context)


@router.get("/settings")
def settings_page(request: Request) -> Response:
    return render_settings(request, require_user(request))


@router.post("/settings/password", dependencies=[Depends(check_csrf)])
async def change_password(request: Request, current: Text, new: Text) -> Response:
    account = require_user(request)
    session = request.cookies.get(SESSION_COOKIE)
    try:
        await membership.change_password(site_of(request).engine, account, current, new, session)
    except BadRequest as problem:
        return render_settings(request, account, status=400, error=str(problem))
    return render_settings(request, account, message="Password changed; other sessions were signed out.")


@router.post("/settings/tokens", dependencies=[Depends(check_csrf)])
def create_token(request: Request, name: Annotated[str, Form(min_length=1, max_length=100)]) -> Response:
    account = require_user(request)
    token = membership.create_api_token(site_of(request).engine, account, name)
    return render_settings(request, account, new_token=token)


@router.post("/settings/tokens/{token_pk}/revoke", dependencies=[Depends(check_csrf)])
def revoke_token(request: Request, token_pk: int) -> Response:
    membership.revoke_api_token(site_of(request).engine, require_user(request), token_pk)
    return RedirectResponse("/settings", status_code=303)
