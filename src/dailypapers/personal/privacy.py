"""A reader's data: all of it as one JSON document, and deleting the account with everything personal.

- `export_data` is everything the site stores about the account (store/account_data.py says what), in plain
  JSON values: never a password's or a token's hash, library vectors or the trained model's bytes.
- `delete_account` asks for the password and, on the pages, the username typed again; then, in one
  transaction, the account and its personal rows go, its votes are taken back (the counters drop with
  them), its comments lose text and author (those with replies stay as "[deleted]" so the thread holds),
  and its submissions stay without a submitter. The last admin may not leave: the site would have none.

Refusals are `problems`: Unprocessable (the typed name is not the username), Forbidden (wrong password,
the last admin), NotFound (the account was deleted already, by a request that came first).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from dailypapers.accounts.passwords import verify_password
from dailypapers.problems import Forbidden, NotFound, Unprocessable
from dailypapers.store import account_data, accounts
from dailypapers.store.account_data import Deleted
from dailypapers.store.accounts import Account
from dailypapers.store.convert import utc_now
from dailypapers.store.db import read_tx, write_tx

if TYPE_CHECKING:
    from sqlalchemy import Engine

FORMAT = "dailypapers-export"
VERSION = 1


def _plain(value: Any) -> Any:
    """`value` with every timestamp and day as ISO 8601 text (JSON has neither)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, bytes):  # no column of the export holds bytes; should one appear, not its contents
        return None
    return value


def export_data(engine: Engine, account: Account) -> dict[str, Any]:
    """Everything the site stores about `account`, as JSON values (NotFound when it was deleted)."""
    with read_tx(engine) as conn:
        data = account_data.export_of(conn, account.pk)
    if data is None:
        raise NotFound("This account no longer exists.")
    return {"format": FORMAT, "version": VERSION, "exported_at": utc_now().isoformat(), **_plain(data)}


def export_filename(account: Account) -> str:
    """What the downloaded export is called: `dailypapers-<username>-<day>.json`."""
    return f"dailypapers-{account.name}-{utc_now().date().isoformat()}.json"


def delete_account(engine: Engine, account: Account, password: str, confirm_name: str | None) -> Deleted:
    """Delete `account` and everything personal of it, once `password` is its password and `confirm_name`
    its username (None: not asked, as the API does not ask). Returns what was removed."""
    if confirm_name is not None and confirm_name.strip() != account.name:
        raise Unprocessable(f"To confirm, type your username, {account.name}, exactly as it is written.")
    with read_tx(engine) as conn:
        current = accounts.account_by_pk(conn, account.pk)
        stored = accounts.password_hash_of(conn, account.pk) if current else None
    if current is None:
        raise NotFound("This account no longer exists: it was deleted already.")
    if not verify_password(stored, password):
        if stored is None:
            raise Forbidden("Your account has no password: set one (Forgot your password?) before deleting it.")
        raise Forbidden("The password is not right.")
    with write_tx(engine) as conn:
        doomed = account_data.lock_for_deletion(conn, account.pk)
        if doomed is None:  # a request that came first deleted it meanwhile
            raise NotFound("This account no longer exists: it was deleted already.")
        if doomed.role == "admin" and doomed.other_admins == 0:
            raise Forbidden(
                "You are the last admin of this site: make another member an admin before deleting your account."
            )
        return account_data.delete_account(conn, doomed)
