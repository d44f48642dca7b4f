"""Account mail: activation and password-reset links, and notes about an address's account.

Requests never wait for a mail server: the use cases return an `AccountMail` (what to send to which
account), and the web hands it to the `account-mail` job (retried while the server fails) or, in a process
without a job engine, sends it after the response. The message is composed when it is sent, so its link is
fresh however long the mail server was down, and the job's arguments (on the admin's jobs page) hold no
secret: only the kind of mail and the account.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import asdict, dataclass
from email.message import EmailMessage
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from dailypapers import mail
from dailypapers.accounts import signed
from dailypapers.accounts.ratelimit import RateLimits
from dailypapers.config import Settings
from dailypapers.store import accounts
from dailypapers.store.accounts import Account
from dailypapers.store.db import read_tx

if TYPE_CHECKING:
    from sqlalchemy import Engine

log = logging.getLogger(__name__)

ACTIVATE = "activate"  # the link that activates a new account
EXISTS = "exists"  # asked for an account or an activation link, for an address whose account is active
FINISH = "finish"  # signed up again with the address of an account never activated: choose its password
RESET = "reset"  # a password-reset link
KINDS = (ACTIVATE, EXISTS, FINISH, RESET)
JOB = "account-mail"  # the job that sends them (jobs/work.py)


@dataclass(frozen=True)
class AccountMail:
    """A mail to send to an account's address: its `kind`, and for an activation link the page it leads to."""

    kind: str
    account_pk: int
    then: str = ""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"{self.kind!r} is not a kind of account mail ({', '.join(KINDS)})")

    def job_args(self) -> dict[str, object]:
        return asdict(self)


def allowed(limits: RateLimits | None, account_pk: int) -> bool:
    """Whether another account mail may go to this account now (`account_mail_to`). Asks beyond the limit are
    answered as any other, and send nothing: nobody can flood an address, or learn whether it has an account."""
    return limits is None or limits.hit("account_mail_to", f"account:{account_pk}").allowed


def _text(settings: Settings, account: Account, password_hash: str | None, outgoing: AccountMail) -> tuple[str, str]:
    base, name = settings.base_url, account.name
    if outgoing.kind == ACTIVATE:
        link = f"{base}/activate?token={signed.activation_token(settings.secret, account.pk)}"
        if outgoing.then and outgoing.then != "/":
            link += "&" + urlencode({"next": outgoing.then})
        hours = signed.ACTIVATION_MAX_AGE // 3600
        text = f"Welcome to Daily Papers, {name}!\n\nOpen this link to activate your account:\n{link}\n\n"
        text += f"It works once, for {hours} hours. If you did not sign up, ignore this message.\n"
        return "Activate your Daily Papers account", text
    if outgoing.kind == EXISTS:
        text = "Someone (maybe you) asked Daily Papers for an account or an activation link for this address, "
        text += f"which already has an active account, {name}.\nSign in at {base}/signin instead; forgot your "
        text += f"password? Choose a new one at {base}/password/forgot\nIf it was not you, ignore this.\n"
        return "You already have a Daily Papers account", text
    token = signed.reset_token(settings.secret, account.pk, password_hash)
    link = f"{base}/password/reset?token={token}"
    minutes = signed.RESET_MAX_AGE // 60
    if outgoing.kind == FINISH:
        text = "Someone (maybe you) tried to sign up to Daily Papers with this address, which already has an "
        text += f"account waiting for activation, {name}.\n\nChoose its password with this link to activate it:\n"
        text += f"{link}\n\nIt works once, for {minutes} minutes. If it was not you, ignore this message.\n"
        return "Finish signing up to Daily Papers", text
    text = f"Someone (hopefully you) asked to reset the password of the Daily Papers account {name}.\n\n"
    text += f"Choose a new password with this link:\n{link}\n\nIt works once, for {minutes} minutes, and signs "
    text += "the account out everywhere. If it was not you, ignore this message: your password stays as it is.\n"
    return "Reset your Daily Papers password", text


def compose(settings: Settings, account: Account, password_hash: str | None, outgoing: AccountMail) -> EmailMessage:
    """The mail, with a fresh link in it (mail.BadAddress when the account's address is not one to mail)."""
    assert account.email
    subject, text = _text(settings, account, password_hash, outgoing)
    return mail.message(settings, account.email, subject, text)


async def send(engine: Engine, settings: Settings, outgoing: AccountMail) -> str:
    """Compose and send `outgoing` now; returns what happened. Raises when trying again later may work
    (the mail server is out of reach or answered 4xx); a mail that can never go is only reported."""
    account, password_hash = await asyncio.to_thread(_recipient, engine, outgoing.account_pk)
    what = f"{outgoing.kind} mail for account {outgoing.account_pk}"
    if account is None or not account.email:
        return f"{what}: not sent, the account has no address (any more)"
    if outgoing.kind == ACTIVATE and account.active:
        return f"{what}: not sent, the account is active already"
    try:
        await mail.send(settings, compose(settings, account, password_hash, outgoing))
    except Exception as exc:
        if mail.is_permanent(exc):
            log.warning("%s: not sent, refused for good: %s", what, exc)
            return f"{what}: not sent, refused for good: {exc}"
        raise
    return f"{what}: sent"


def _recipient(engine: Engine, account_pk: int) -> tuple[Account | None, str | None]:
    with read_tx(engine) as conn:
        account = accounts.account_by_pk(conn, account_pk)
        return account, accounts.password_hash_of(conn, account_pk) if account else None


async def send_quietly(engine: Engine, settings: Settings, outgoing: AccountMail) -> None:
    """`send`, where nothing retries it (after a response, without a job engine): a failure is logged, and
    the reader can ask for the link again."""
    try:
        log.info(await send(engine, settings, outgoing))
    except Exception:
        log.exception("could not send the %s mail for account %s", outgoing.kind, outgoing.account_pk)
