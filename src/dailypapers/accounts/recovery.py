"""Getting back into an account: a new activation link, and a password reset by a mailed link.

Asking names an account by username or address, and is answered the same whether or not one exists
(the caller shows one page either way): these return the mail to send, if any, and nothing else. A reset
link works once, for an hour (`signed`); using it sets the password, activates the account (the link
proves the address, as an activation link does) and signs the account out everywhere.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from dailypapers.accounts import signed
from dailypapers.accounts.mailing import ACTIVATE, EXISTS, RESET, AccountMail, allowed
from dailypapers.accounts.passwords import check_new_password, hash_password
from dailypapers.accounts.ratelimit import RateLimits
from dailypapers.accounts.rules import CONTROL
from dailypapers.config import Settings
from dailypapers.problems import BadRequest
from dailypapers.store import accounts
from dailypapers.store.accounts import Account
from dailypapers.store.db import read_tx, write_tx

if TYPE_CHECKING:
    from sqlalchemy import Engine

BAD_RESET = "This password-reset link is not valid, or was used already. Ask for a new one."
OLD_RESET = "This password-reset link has expired. Ask for a new one."


def _account(engine: Engine, login: str) -> Account | None:
    login = login.strip()
    if not login or CONTROL.search(login):
        return None
    with read_tx(engine) as conn:
        account = accounts.account_by_login(conn, login)
    return account if account is not None and account.email else None


def ask_activation(engine: Engine, login: str, limits: RateLimits | None = None) -> AccountMail | None:
    """The mail that answers "send my activation link again": the link for an inactive account, a note
    for an active one, nothing for an unknown login or beyond `account_mail_to`."""
    account = _account(engine, login)
    if account is None or not allowed(limits, account.pk):
        return None
    return AccountMail(EXISTS if account.active else ACTIVATE, account.pk)


def ask_reset(engine: Engine, login: str, limits: RateLimits | None = None) -> AccountMail | None:
    """The mail that answers "I forgot my password": a reset link, for an account with an address."""
    account = _account(engine, login)
    if account is None or not allowed(limits, account.pk):
        return None
    return AccountMail(RESET, account.pk)


def reset_link_account(engine: Engine, settings: Settings, token: str) -> Account:
    """The account a reset link may set the password of; BadRequest when the link is not valid (any more)."""
    return _claim(engine, settings, token)[0]


def _claim(engine: Engine, settings: Settings, token: str) -> tuple[Account, str | None]:
    secret = settings.secret
    try:
        pk, fingerprint = signed.reset_claim(secret, token)
    except signed.BadLink as bad:
        raise BadRequest(OLD_RESET if bad.expired else BAD_RESET) from None
    with read_tx(engine) as conn:
        account = accounts.account_by_pk(conn, pk)
        stored = accounts.password_hash_of(conn, pk) if account else None
    if account is None or signed.password_fingerprint(secret, stored) != fingerprint:
        raise BadRequest(BAD_RESET)
    return account, stored


async def reset_password(engine: Engine, settings: Settings, token: str, new: str) -> Account:
    """Set the password a reset link is for (once), activate the account and end all its sessions."""
    account, stored = await asyncio.to_thread(_claim, engine, settings, token)
    if problem := check_new_password(new):
        raise BadRequest(problem)
    new_hash = await asyncio.to_thread(hash_password, new)
    await asyncio.to_thread(_reset, engine, account.pk, stored, new_hash)
    return account


def _reset(engine: Engine, account_pk: int, stored: str | None, new_hash: str) -> None:
    with write_tx(engine) as conn:
        if not accounts.replace_password_hash(conn, account_pk, stored, new_hash):
            raise BadRequest(BAD_RESET)  # used meanwhile, by another request
        accounts.activate(conn, account_pk)
        accounts.delete_sessions_of(conn, account_pk)
