"""Sign up (with an emailed activation link), sign in and out, new activation links and password resets,
settings: password, digest and API tokens.

The use cases and their rules are `accounts.membership`'s and `accounts.recovery`'s; these handlers turn
forms into calls and refusals into the form again, with the message. Mail never holds up an answer: it goes
to the `account-mail` job (retried while the mail server fails), or after the response where this process
has no job engine. `next` (where to go once signed in) travels through sign-in, sign-up and the activation
link; when it names an upvote asked for while signed out, that vote is cast (web/upvotes.py). `/login` and
`/logout` are aliases of `/signin` and `/signout`.
"""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Depends, Form, Request, Response
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import URL

from dailypapers.accounts import mailing, membership, recovery
from dailypapers.accounts.mailing import AccountMail
from dailypapers.digest import subscribing
from dailypapers.problems import BadRequest
from dailypapers.store.accounts import Account
from dailypapers.web.auth import (
    SESSION_COOKIE,
    check_csrf,
    end_session,
    known_accounts,
    limits_of,
    rate_limit,
    remember_device,
    render_personal,
    require_user,
    start_session,
)
from dailypapers.web.flash import flash
from dailypapers.web.site import site_of
from dailypapers.web.upvotes import cast_intent, intent_title, local_path

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)
# No NUL characters: PostgreSQL cannot store or even compare text holding them (500 otherwise).
Text = Annotated[str, Form(max_length=2000, pattern=r"^[^\x00]*$")]
# What asking for a link answers, whether or not the login names an account.
LINK_ON_ITS_WAY = (
    "If {login} names an account of this site, a message with a link is on its way to its address. "
    "It can take a few minutes; check your spam folder too."
)


def _safe_next(target: str | None) -> str:
    return local_path(target) or "/"


def _form(request: Request, template: str, next: str, status: int = 200, **context: object) -> Response:
    """The sign-in or sign-up form, carrying `next` (and saying which paper's upvote waits, if one does)."""
    next = _safe_next(next)
    return render_personal(request, template, status=status, next=next, intent=intent_title(request, next), **context)


async def send_later(request: Request, background: BackgroundTasks, outgoing: AccountMail | None) -> None:
    """Hand `outgoing` to the job engine (retried while the mail server fails), or, in a process without
    one that runs it (SQLite's queue lives in the serving process), send it after the response. Never
    raises: the answer does not depend on mail."""
    if outgoing is None:
        return
    site = site_of(request)
    if site.jobs is not None and (site.jobs.worker or not site.settings.is_sqlite):
        try:
            await run_in_threadpool(site.jobs.defer, mailing.JOB, **outgoing.job_args())
            return
        except Exception:
            log.exception("could not queue the %s mail; sending it after the response", outgoing.kind)
    background.add_task(mailing.send_quietly, site.engine, site.settings, outgoing)


@router.get("/signup")
def signup_form(request: Request, next: str = "/") -> Response:
    return _form(request, "signup.html", next, form={}, error=None)


@router.post("/signup", dependencies=[Depends(check_csrf)])
async def signup(
    request: Request, background: BackgroundTasks, username: Text, email: Text, password: Text, next: Text = "/"
) -> Response:
    await run_in_threadpool(rate_limit, request, "signup")
    site = site_of(request)
    try:
        address, outgoing = await membership.sign_up(
            site.engine, username, email, password, then=_safe_next(next), limits=limits_of(request)
        )
    except BadRequest as problem:
        form = {"username": username.strip(), "email": email.strip().lower()}
        return await run_in_threadpool(_form, request, "signup.html", next, status=400, form=form, error=str(problem))
    await send_later(request, background, outgoing)
    message = f"A message to {address} is on its way. Open the link in it to finish signing up."
    return await run_in_threadpool(
        render_personal, request, "notice.html", title="Check your inbox", message=message, resend=True
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


def _ask_form(request: Request, kind: str, status: int = 200, **context: object) -> Response:
    return render_personal(request, "account_link.html", status=status, kind=kind, **context)


@router.get("/activate/resend")
def resend_form(request: Request) -> Response:
    return _ask_form(request, "activate", login="")


@router.get("/password/forgot")
def forgot_form(request: Request) -> Response:
    return _ask_form(request, "reset", login="")


async def _ask(request: Request, background: BackgroundTasks, login: str, kind: str) -> Response:
    """Send the link asked for, if the login names an account; the same answer either way."""
    await run_in_threadpool(rate_limit, request, "account_mail")
    login = login.strip()
    if not login:
        return await run_in_threadpool(
            _ask_form, request, kind, 400, login="", error="Give your username or email address."
        )
    engine, limits = site_of(request).engine, limits_of(request)
    ask = recovery.ask_activation if kind == "activate" else recovery.ask_reset
    await send_later(request, background, await run_in_threadpool(ask, engine, login, limits))
    message = LINK_ON_ITS_WAY.format(login=login)
    return await run_in_threadpool(render_personal, request, "notice.html", title="Check your inbox", message=message)


@router.post("/activate/resend", dependencies=[Depends(check_csrf)])
async def resend(request: Request, background: BackgroundTasks, login: Text) -> Response:
    return await _ask(request, background, login, "activate")


@router.post("/password/forgot", dependencies=[Depends(check_csrf)])
async def forgot(request: Request, background: BackgroundTasks, login: Text) -> Response:
    return await _ask(request, background, login, "reset")


@router.get("/password/reset")
def reset_form(request: Request, token: str = "") -> Response:
    """The emailed link: a form for the new password (or why the link does not work)."""
    site = site_of(request)
    account = recovery.reset_link_account(site.engine, site.settings, token)
    response = render_personal(request, "reset_password.html", token=token, name=account.name, error=None)
    response.headers["Referrer-Policy"] = "no-referrer"  # the link's token stays out of other requests
    return response


@router.post("/password/reset", dependencies=[Depends(check_csrf)])
async def reset(request: Request, token: Text, password: Text) -> Response:
    site = site_of(request)
    try:
        account = await recovery.reset_password(site.engine, site.settings, token, password)
    except BadRequest as problem:
        return await run_in_threadpool(_reset_refused, request, token, str(problem))
    return await run_in_threadpool(_reset_done, request, account)


def _reset_refused(request: Request, token: str, error: str) -> Response:
    """The form again with why; a dead link (used, expired) gives its own error page instead."""
    site = site_of(request)
    account = recovery.reset_link_account(site.engine, site.settings, token)
    return render_personal(request, "reset_password.html", 400, token=token, name=account.name, error=error)


def _reset_done(request: Request, account: Account) -> Response:
    message = f"The password of {account.name} is changed, and every session of the account ended. Sign in with it."
    response = render_personal(request, "notice.html", title="Password changed", message=message, signin=True)
    remember_device(request, response, account)  # the link proved the address: this browser may sign in
    return response


@router.get("/signin")
def signin_form(request: Request, next: str = "/") -> Response:
    return _form(request, "signin.html", next, error=None, login="")


@router.post("/signin", dependencies=[Depends(check_csrf)])
async def signin(request: Request, login: Text, password: Text, next: Text = "/") -> Response:
    login = login.strip()
    await run_in_threadpool(rate_limit, request, "signin")
    engine, limits, known = site_of(request).engine, limits_of(request), known_accounts(request)
    try:
        account = await membership.sign_in(engine, login, password, limits=limits, known=known)
    except membership.TooManyAttempts as refused:
        response = await run_in_threadpool(_form, request, "signin.html", next, 429, error=str(refused), login=login)
        response.headers["Retry-After"] = str(refused.retry_after)
        return response
    except BadRequest as problem:
        return await run_in_threadpool(_form, request, "signin.html", next, 400, error=str(problem), login=login)
    return await run_in_threadpool(_signed_in, request, account, next)


def _signed_in(request: Request, account: Account, next: str) -> Response:
    """On to `next`, signed in, with the upvote it carries cast."""
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
    account = await run_in_threadpool(require_user, request)
    session = request.cookies.get(SESSION_COOKIE)
    try:
        await membership.change_password(site_of(request).engine, account, current, new, session)
    except BadRequest as problem:
        return await run_in_threadpool(render_settings, request, account, 400, error=str(problem))
    return await run_in_threadpool(
        render_settings, request, account, message="Password changed; other sessions were signed out."
    )


@router.post("/settings/tokens", dependencies=[Depends(check_csrf)])
def create_token(request: Request, name: Annotated[str, Form(min_length=1, max_length=100)]) -> Response:
    account = require_user(request)
    token = membership.create_api_token(site_of(request).engine, account, name)
    return render_settings(request, account, new_token=token)


@router.post("/settings/tokens/{token_pk}/revoke", dependencies=[Depends(check_csrf)])
def revoke_token(request: Request, token_pk: int) -> Response:
    membership.revoke_api_token(site_of(request).engine, require_user(request), token_pk)
    return RedirectResponse("/settings", status_code=303)
