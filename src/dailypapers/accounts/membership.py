"""Membership: sign-up with an emailed activation link, sign-in and sessions, passwords, API tokens,
roles and suspension. Rules live here (and in `rules`, `passwords` and `signed`); the store keeps the rows.
Activation links asked for again and password resets are `recovery`'s; the mails, `mailing`'s.

Refusals are `problems`: BadRequest (with `NameTaken` for a username or address in use), NotFound, and
`TooManyAttempts` for sign-ins to an account that too many wrong passwords were tried on.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Collection
from typing import TYPE_CHECKING

from dailypapers.accounts import signed
from dailypapers.accounts.mailing import ACTIVATE, EXISTS, FINISH, AccountMail, allowed
from dailypapers.accounts.passwords import check_new_password, hash_password, verify_password
from dailypapers.accounts.ratelimit import RateLimits
from dailypapers.accounts.rules import (
    email_problem,
    new_api_token,
    new_session_token,
    normal_email,
    role_problem,
    username_problem,
)
from dailypapers.config import Settings
from dailypapers.problems import BadRequest, NotFound, Problem
from dailypapers.store import accounts, comments
from dailypapers.store.accounts import Account
from dailypapers.store.db import read_tx, write_tx

if TYPE_CHECKING:
    from sqlalchemy import Engine


class NameTaken(BadRequest):
    """The username or address belongs to someone else."""


class TooManyAttempts(Problem):
    """Too many wrong passwords for this account lately, from browsers it never signed in from."""

    def __init__(self, retry_after: int) -> None:
        minutes = max(1, round(retry_after / 60))
        super().__init__(
            f"Too many failed sign-ins for this account. Try again in {minutes} minute{'s' if minutes != 1 else ''}, "
            "sign in from a browser you have signed in from before, or reset your password."
        )
        self.retry_after = retry_after


async def sign_up(
    engine: Engine,
    username: str,
    email: str,
    password: str,
    *,
    then: str = "",
    limits: RateLimits | None = None,
) -> tuple[str, AccountMail | None]:
    """Create an inactive account; returns the address and the mail to send it (its activation link), to be
    sent after the answer. `then`, a path on the site, is where the link leads once it has activated the
    account (what the reader was doing).

    An address that already has an account gets a note saying so instead (with a link to choose the
    password, for an account never activated), and the caller answers the same either way, so sign-up
    cannot tell who is a member. Notes beyond `account_mail_to` are not sent.
    """
    username, email = username.strip(), normal_email(email)
    problem = username_problem(username) or email_problem(email) or check_new_password(password)
    if problem:
        raise BadRequest(problem)
    password_hash = await asyncio.to_thread(hash_password, password)
    return await asyncio.to_thread(_sign_up, engine, username, email, password_hash, then, limits)


def _sign_up(
    engine: Engine, username: str, email: str, password_hash: str, then: str, limits: RateLimits | None
) -> tuple[str, AccountMail | None]:
    with write_tx(engine) as conn:
        existing = accounts.account_by_email(conn, email)
        if existing is None:
            try:
                account = accounts.create_user(conn, username, email, password_hash, active=False)
            except accounts.NameTaken:
                raise NameTaken("That username is taken; choose another.") from None
            return email, AccountMail(ACTIVATE, account.pk, then)
    if not allowed(limits, existing.pk):
        return email, None
    return email, AccountMail(EXISTS if existing.active else FINISH, existing.pk)


def activate(engine: Engine, settings: Settings, token: str) -> Account:
    """Activate the account an activation link names (it works once, for 48 hours)."""
    try:
        pk = signed.activation_account(settings.secret, token)
    except signed.BadLink as bad:
        if bad.expired:
            raise BadRequest("This activation link has expired. Ask for a new one at /activate/resend.") from None
        raise BadRequest("This activation link is not valid.") from None
    with write_tx(engine) as conn:
        account = accounts.account_by_pk(conn, pk)
        if account is None:
            raise BadRequest("This activation link is not valid.")
        if account.active:
            raise BadRequest("This activation link was used already: your account is active, sign in.")
        accounts.activate(conn, account.pk)
    return account


async def sign_in(
    engine: Engine, login: str, password: str, *, limits: RateLimits | None = None, known: Collection[int] = ()
) -> Account:
    """The account `login` (a username or an address) names, if `password` is its password and it may sign
    in. Takes as long for unknown accounts as for wrong passwords.

    With `limits`, wrong passwords count against the account (`signin_failures`, from any address; against
    the login itself when no account has it), and once over the limit only browsers that signed in to it
    before (the accounts in `known`, from the known-device cookie) may try: TooManyAttempts for others.
    """
    account, stored, key = await asyncio.to_thread(_may_try, engine, login.strip(), limits, known)
    if not await asyncio.to_thread(verify_password, stored, password) or account is None:
        if limits is not None:
            await asyncio.to_thread(limits.count, "signin_failures", key)
        raise BadRequest("Wrong username or password.")
    if account.suspended:
        raise BadRequest("This account is suspended.")
    if not account.active:
        raise BadRequest(
            "This account is not activated yet: open the link we emailed you, or ask for a new one at /activate/resend."
        )
    return account


def _may_try(
    engine: Engine, login: str, limits: RateLimits | None, known: Collection[int]
) -> tuple[Account | None, str | None, str]:
    """The account `login` names, its password hash and the key its failures count under; TooManyAttempts
    when this browser may not try it now."""
    with read_tx(engine) as conn:
        account = accounts.account_by_login(conn, login)
        stored = accounts.password_hash_of(conn, account.pk) if account else None
    key = f"account:{account.pk}" if account else f"login:{login.lower()}"
    if limits is not None and not (account is not None and account.pk in known):
        verdict = limits.peek("signin_failures", key)
        if not verdict.allowed:
            raise TooManyAttempts(verdict.retry_after)
    return account, stored, key


def start_session(engine: Engine, settings: Settings, account: Account) -> str:
    """A new session for `account`; returns the token its cookie carries."""
    token = new_session_token()
    with write_tx(engine) as conn:
        accounts.create_session(conn, account.pk, token, dt.timedelta(days=settings.session_days))
    return token


def end_session(engine: Engine, token: str) -> None:
    with write_tx(engine) as conn:
        accounts.delete_session(conn, token)


async def change_password(engine: Engine, account: Account, current: str, new: str, session: str | None) -> None:
    """Replace the password after checking the current one; every other session of the account ends."""
    stored = await asyncio.to_thread(_password_hash, engine, account.pk)
    if not await asyncio.to_thread(verify_password, stored, current):
        raise BadRequest("Your current password is not right.")
    if problem := check_new_password(new):
        raise BadRequest(problem)
    new_hash = await asyncio.to_thread(hash_password, new)
    await asyncio.to_thread(_set_password, engine, account.pk, new_hash, session)


def _password_hash(engine: Engine, account_pk: int) -> str | None:
    with read_tx(engine) as conn:
        return accounts.password_hash_of(conn, account_pk)


def _set_password(engine: Engine, account_pk: int, new_hash: str, keep: str | None) -> None:
    with write_tx(engine) as conn:
        accounts.set_password_hash(conn, account_pk, new_hash)
        accounts.delete_sessions_of(conn, account_pk, keep=keep)


def create_api_token(engine: Engine, account: Account, name: str) -> str:
    """A new personal API token named `name`; the secret is returned once and stored only hashed."""
    secret = new_api_token()
    with write_tx(engine) as conn:
        accounts.create_token(conn, account.pk, name.strip(), secret)
    return secret


def api_tokens(engine: Engine, account: Account) -> list[accounts.TokenInfo]:
    """The account's API tokens that are not revoked (names and dates, never the secrets)."""
    with read_tx(engine) as conn:
        return accounts.tokens_of(conn, account.pk)


def revoke_api_token(engine: Engine, account: Account, token_pk: int) -> None:
    with write_tx(engine) as conn:
        if not accounts.revoke_token(conn, account.pk, token_pk):
            raise NotFound("No such token")


def create_member(
    engine: Engine, name: str, email: str, role: str, password: str | None, *, with_token: bool
) -> tuple[Account, str | None]:
    """An active account made by the operator (no activation mail), with an API token if asked for.

    It needs a password (to sign in on the site) or a token (API only), or both.
    """
    name, email = name.strip(), normal_email(email)
    problem = username_problem(name) or email_problem(email) or role_problem(role)
    if not problem and password is None and not with_token:
        problem = "give --password-stdin (to sign in on the site) or --token (API only), or both"
    if not problem and password is not None:
        problem = check_new_password(password)
    if problem:
        raise BadRequest(problem)
    password_hash = hash_password(password) if password is not None else None
    secret = new_api_token() if with_token else None
    with write_tx(engine) as conn:
        if accounts.account_by_name(conn, name):
            raise NameTaken(f"a user named {name!r} already exists")
        if accounts.account_by_email(conn, email):
            raise NameTaken(f"a user with email {email!r} already exists")
        try:
            account = accounts.create_user(conn, name, email, password_hash, role=role, active=True)
        except accounts.NameTaken as exc:
            raise NameTaken(f"a user named {name!r} or with email {email!r} already exists") from exc
        if secret:
            accounts.create_token(conn, account.pk, "cli", secret)
        accounts.log_action(conn, None, "create_user", f"user:{name}", role=role, via="cli")
    return account, secret


def _member(conn: object, account: Account | None, what: str) -> Account:
    if account is None or not accounts.is_member(conn, account.pk):  # type: ignore[arg-type]
        raise NotFound(what)
    return account


def set_role(engine: Engine, actor: Account | None, target: int | str, role: str) -> tuple[Account, str]:
    """Give the member `target` (a pk, or a name from the command line) `role`; returns them with their old
    role. Admins cannot demote themselves; a change is written to the audit log."""
    if problem := role_problem(role):
        raise BadRequest(problem)
    if actor is not None and target == actor.pk and role != "admin":
        raise BadRequest("You cannot demote yourself; ask another admin to change your role.")
    with write_tx(engine) as conn:
        if isinstance(target, str):
            account = _member(conn, accounts.account_by_name(conn, target), f"no user named {target!r}")
        else:
            account = _member(conn, accounts.account_by_pk(conn, target), "No such user")
        if account.role != role:
            accounts.set_role(conn, account.pk, role)
            via = {} if actor else {"via": "cli"}
            actor_pk = actor.pk if actor else None
            accounts.log_action(conn, actor_pk, "set_role", f"user:{account.name}", old=account.role, new=role, **via)
    return account, account.role


def set_suspended(engine: Engine, actor: Account, target_pk: int, suspended: bool) -> Account:
    """Suspend a member (signed out everywhere, cannot sign in, comments hidden) or reinstate them."""
    if target_pk == actor.pk and suspended:
        raise BadRequest("You cannot suspend yourself.")
    with write_tx(engine) as conn:
        account = _member(conn, accounts.account_by_pk(conn, target_pk), "No such user")
        if account.suspended != suspended:
            accounts.set_suspended(conn, account.pk, suspended)
            comments.recount_comments(conn, account.pk)
            accounts.log_action(conn, actor.pk, "suspend" if suspended else "reinstate", f"user:{account.name}")
    return account
