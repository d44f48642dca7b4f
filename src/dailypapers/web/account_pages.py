"""Sign up (with an emailed activation link), sign in and out, settings: password, digest and API tokens."""

from __future__ import annotations

import re
import secrets
from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request, Response
from fastapi.responses import RedirectResponse
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from starlette.concurrency import run_in_threadpool

from dailypapers.accounts.passwords import check_new_password, hash_password, verify_password
from dailypapers.mail import outbox
from dailypapers.store import accounts, subscriptions
from dailypapers.store.accounts import Account
from dailypapers.store.db import read_tx, write_tx
from dailypapers.web.auth import (
    check_csrf,
    end_session,
    rate_limit,
    render_personal,
    require_user,
    start_session,
    viewer,
)
from dailypapers.web.site import site_of

router = APIRouter(include_in_schema=False)
USERNAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{1,38}")
EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]{1,255}\.[^@\s.]{2,63}")
ACTIVATION_MAX_AGE = 2 * 24 * 3600
# No NUL characters: PostgreSQL cannot store or even compare text holding them (500 otherwise).
Text = Annotated[str, Form(max_length=2000, pattern=r"^[^\x00]*$")]


def _serializer(request: Request) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(site_of(request).settings.ensure_secret_key(), salt="activate")


def _safe_next(target: str | None) -> str:
    return target if target and target.startswith("/") and not target.startswith("//") else "/"


@router.get("/signup")
def signup_form(request: Request) -> Response:
    return render_personal(request, "signup.html", form={}, error=None)


@router.post("/signup", dependencies=[Depends(check_csrf)])
async def signup(request: Request, username: Text, email: Text, password: Text) -> Response:
    rate_limit(request, "signup")
    username, email = username.strip(), email.strip().lower()
    form = {"username": username, "email": email}
    problem = None
    if not USERNAME.fullmatch(username):
        problem = "Usernames have 2 to 39 letters, digits, '.', '_' or '-', starting with a letter or digit."
    elif not EMAIL.fullmatch(email):
        problem = "That does not look like an email address."
    else:
        problem = check_new_password(password)
    if problem:
        return render_personal(request, "signup.html", status=400, form=form, error=problem)
    site = site_of(request)
    pw_hash = await run_in_threadpool(hash_password, password)
    with write_tx(site.engine) as conn:
        existing = accounts.account_by_email(conn, email)
        account = None
        if existing is None:
            try:
                account = accounts.create_user(conn, username, email, pw_hash, active=False)
            except accounts.NameTaken:
                return render_personal(
                    request, "signup.html", status=400, form=form, error="That username is taken; choose another."
                )
    # The same answer whether or not the address already had an account; only the mail differs.
    if account is not None:
        link = f"{site.settings.base_url}/activate?token={_serializer(request).dumps(account.pk)}"
        text = f"Welcome to Daily Papers, {username}!\n\nOpen this link to activate your account:\n{link}\n\n"
        text += "It works for 48 hours. If you did not sign up, ignore this message.\n"
        msg = outbox.message(site.settings, email, "Activate your Daily Papers account", text)
    else:
        text = "Someone (maybe you) tried to sign up to Daily Papers with this address, which already has an "
        text += f"account.\nSign in at {site.settings.base_url}/signin instead. If it was not you, ignore this.\n"
        msg = outbox.message(site.settings, email, "You already have a Daily Papers account", text)
    await outbox.send(site.settings, msg)
    return render_personal(
        request,
        "notice.html",
        title="Check your inbox",
        message=f"We sent a message to {email}. Open the link in it to finish signing up.",
    )


@router.get("/activate")
def activate(request: Request, token: str = "") -> Response:
    try:
        pk = _serializer(request).loads(token, max_age=ACTIVATION_MAX_AGE)
    except SignatureExpired:
        raise HTTPException(400, "This activation link has expired. Sign up again to get a new one.") from None
    except BadSignature:
        raise HTTPException(400, "This activation link is not valid.") from None
    site = site_of(request)
    with write_tx(site.engine) as conn:
        account = accounts.account_by_pk(conn, int(pk))
        if account is None:
            raise HTTPException(400, "This activation link is not valid.")
        accounts.activate(conn, account.pk)
    response = RedirectResponse("/?welcome=1", status_code=303)
    start_session(request, response, account)
    return response


@router.get("/signin")
def signin_form(request: Request, next: str = "/") -> Response:
    return render_personal(request, "signin.html", next=_safe_next(next), error=None, login="")


@router.post("/signin", dependencies=[Depends(check_csrf)])
async def signin(request: Request, login: Text, password: Text, next: Text = "/") -> Response:
    login = login.strip()
    rate_limit(request, "signin", f"login:{login.lower()}")
    site = site_of(request)
    with read_tx(site.engine) as conn:
        account = accounts.account_by_email(conn, login) if "@" in login else accounts.account_by_name(conn, login)
        stored = accounts.password_hash_of(conn, account.pk) if account else None
    ok = await run_in_threadpool(verify_password, stored, password)
    error = None
    if not ok or account is None:
        error = "Wrong username or password."
    elif account.suspended:
        error = "This account is suspended."
    elif not account.active:
        error = "This account is not activated yet: open the link we emailed you."
    if error:
        return render_personal(request, "signin.html", status=400, next=_safe_next(next), error=error, login=login)
    assert account is not None
    response = RedirectResponse(_safe_next(next), status_code=303)
    start_session(request, response, account)
    return response


@router.post("/signout", dependencies=[Depends(check_csrf)])
def signout(request: Request) -> Response:
    response = RedirectResponse("/", status_code=303)
    end_session(request, response)
    return response


def render_settings(request: Request, account: Account, status: int = 200, **extra: object) -> Response:
    """The settings page for `account`: password, digest subscription and API tokens."""
    with read_tx(site_of(request).engine) as conn:
        tokens = accounts.tokens_of(conn, account.pk)
        digest = subscriptions.by_email(conn, account.email) if account.email else None
    context: dict[str, object] = {"new_token": None, "message": None, "error": None, **extra}
    return render_personal(request, "settings.html", status=status, tokens=tokens, digest=digest, **context)


@router.get("/settings")
def settings_page(request: Request) -> Response:
    return render_settings(request, require_user(request))


@router.post("/settings/password", dependencies=[Depends(check_csrf)])
async def change_password(request: Request, current: Text, new: Text) -> Response:
    account = require_user(request)
    site = site_of(request)
    with read_tx(site.engine) as conn:
        stored = accounts.password_hash_of(conn, account.pk)
    error = None
    if not await run_in_threadpool(verify_password, stored, current):
        error = "Your current password is not right."
    else:
        error = check_new_password(new)
    if error:
        return render_settings(request, account, status=400, error=error)
    new_hash = await run_in_threadpool(hash_password, new)
    with write_tx(site.engine) as conn:
        accounts.set_password_hash(conn, account.pk, new_hash)
        accounts.delete_sessions_of(conn, account.pk, keep=request.cookies.get("dp_session"))
    return render_settings(request, account, message="Password changed; other sessions were signed out.")


@router.post("/settings/tokens", dependencies=[Depends(check_csrf)])
def create_token(request: Request, name: Annotated[str, Form(min_length=1, max_length=100)]) -> Response:
    account = require_user(request)
    token = "dp_" + secrets.token_urlsafe(32)
    with write_tx(site_of(request).engine) as conn:
        accounts.create_token(conn, account.pk, name.strip(), token)
    return render_settings(request, account, new_token=token)


@router.post("/settings/tokens/{token_pk}/revoke", dependencies=[Depends(check_csrf)])
def revoke_token(request: Request, token_pk: int) -> Response:
    account = require_user(request)
    with write_tx(site_of(request).engine) as conn:
        if not accounts.revoke_token(conn, account.pk, token_pk):
            raise HTTPException(404, "No such token")
    return RedirectResponse("/settings", status_code=303)


def signed_in(request: Request) -> bool:
    return viewer(request) is not None
