"""`dailypapers user create|role`: accounts made by the operator, e.g. the first admin.

Messages go to stderr; `--token` prints only the new API token on stdout, so scripts can
capture it: `TOKEN=$(dailypapers user create bot --email bot@example.org --token)`.
"""

from __future__ import annotations

import secrets
import sys
from typing import Annotated

import typer
from rich.markup import escape
from sqlalchemy import Connection, select

from dailypapers.cli_common import console, load_settings, open_store
from dailypapers.store.accounts import ROLES

users_app = typer.Typer(help="Create accounts and change their roles.", no_args_is_help=True)


def _check_role(value: str) -> str:
    if value not in ROLES:
        raise typer.BadParameter(f"{value!r} is not a role; choose from {', '.join(ROLES)}")
    return value


def _fail(message: str, code: int = 1) -> typer.Exit:
    console.print(f"[red]error:[/red] {escape(message)}", highlight=False)
    return typer.Exit(code)


def _read_password() -> str:
    from dailypapers.accounts.passwords import check_new_password

    password = sys.stdin.readline().rstrip("\r\n")
    problem = check_new_password(password)
    if problem:
        raise _fail(f"password from stdin refused: {problem}", 2)
    return password


@users_app.command("create")
def create(
    name: Annotated[str, typer.Argument(help="Username: 2 to 39 letters, digits, '.', '_' or '-'")],
    email: Annotated[str, typer.Option("--email", help="Email address (unique)")],
    role: Annotated[str, typer.Option("--role", callback=_check_role, help="admin, curator or user")] = "user",
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from the first line of stdin")
    ] = False,
    token: Annotated[bool, typer.Option("--token", help="Create an API token and print it (alone) on stdout")] = False,
) -> None:
    """Create an active account (no activation mail).

    There is no interactive prompt. With --password-stdin the account can sign in on the site.
    Without it the account has no password and can only use the API with a token, so --token is
    then required (an account with neither could not be used at all).
    """
    from dailypapers.store import accounts
    from dailypapers.store.db import write_tx
    from dailypapers.web.account_pages import EMAIL, USERNAME

    name, email = name.strip(), email.strip().lower()
    if not USERNAME.fullmatch(name):
        raise _fail(f"{name!r} is not a valid username (2 to 39 letters, digits, '.', '_' or '-')", 2)
    if not EMAIL.fullmatch(email):
        raise _fail(f"{email!r} does not look like an email address", 2)
    if not password_stdin and not token:
        raise _fail("give --password-stdin (to sign in on the site) or --token (API only), or both", 2)
    password_hash = None
    if password_stdin:
        from dailypapers.accounts.passwords import hash_password

        password_hash = hash_password(_read_password())
    secret = "dp_" + secrets.token_urlsafe(32) if token else None
    engine = open_store(load_settings())
    try:
        with write_tx(engine) as conn:
            if accounts.account_by_name(conn, name):
                raise _fail(f"a user named {name!r} already exists")
            if accounts.account_by_email(conn, email):
                raise _fail(f"a user with email {email!r} already exists")
            try:
                account = accounts.create_user(conn, name, email, password_hash, role=role, active=True)
            except accounts.NameTaken as exc:
                raise _fail(f"a user named {name!r} or with email {email!r} already exists") from exc
            if secret:
                accounts.create_token(conn, account.pk, "cli", secret)
            accounts.log_action(conn, None, "create_user", f"user:{name}", role=role, via="cli")
    finally:
        engine.dispose()
    how = "with a password" if password_hash else "without a password (API tokens only)"
    console.print(f"Created {role} {escape(name)} <{escape(email)}>, {how}.", highlight=False)
    if secret:
        console.print("API token (shown once) printed on stdout.", highlight=False)
        typer.echo(secret)


@users_app.command("role")
def set_role(
    name: Annotated[str, typer.Argument(help="Username")],
    role: Annotated[str, typer.Argument(callback=_check_role, help="admin, curator or user")],
) -> None:
    """Change an account's role."""
    from dailypapers.store import accounts
    from dailypapers.store.db import write_tx

    engine = open_store(load_settings())
    try:
        with write_tx(engine) as conn:
            account = accounts.account_by_name(conn, name)
            if account is None or not _is_member(conn, account.pk):
                raise _fail(f"no user named {name!r}")
            accounts.set_role(conn, account.pk, role)
            accounts.log_action(conn, None, "set_role", f"user:{account.name}", old=account.role, new=role, via="cli")
    finally:
        engine.dispose()
    console.print(f"{escape(account.name)}: {account.role} -> {role}", highlight=False)


def _is_member(conn: Connection, pk: int) -> bool:
    """False for people known only from imported listings (they have no account here)."""
    from dailypapers.store.schema import User

    return not conn.execute(select(User.__table__.c.external).where(User.__table__.c.pk == pk)).scalar()
