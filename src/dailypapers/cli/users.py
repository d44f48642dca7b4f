"""`dailypapers user create|role`: accounts made by the operator, e.g. the first admin.

Messages go to stderr; `--token` prints only the new API token on stdout, so scripts can
capture it: `TOKEN=$(dailypapers user create bot --email bot@example.org --token)`.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.markup import escape

from dailypapers.accounts import membership
from dailypapers.accounts.rules import role_problem
from dailypapers.cli.common import console, load_settings, store
from dailypapers.problems import BadRequest, NotFound

users_app = typer.Typer(help="Create accounts and change their roles.", no_args_is_help=True)


def _check_role(value: str) -> str:
    if problem := role_problem(value):
        raise typer.BadParameter(problem)
    return value


def _fail(message: str, code: int = 1) -> typer.Exit:
    console.print(f"[red]error:[/red] {escape(message)}", highlight=False)
    return typer.Exit(code)


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
    password = sys.stdin.readline().rstrip("\r\n") if password_stdin else None
    with store(load_settings()) as engine:
        try:
            account, secret = membership.create_member(engine, name, email, role, password, with_token=token)
        except membership.NameTaken as exc:
            raise _fail(str(exc)) from exc
        except BadRequest as exc:
            raise _fail(str(exc), 2) from exc
    how = "with a password" if password is not None else "without a password (API tokens only)"
    console.print(f"Created {role} {escape(account.name)} <{escape(account.email or '')}>, {how}.", highlight=False)
    if secret:
        console.print("API token (shown once) printed on stdout.", highlight=False)
        typer.echo(secret)


@users_app.command("role")
def set_role(
    name: Annotated[str, typer.Argument(help="Username")],
    role: Annotated[str, typer.Argument(callback=_check_role, help="admin, curator or user")],
) -> None:
    """Change an account's role."""
    with store(load_settings()) as engine:
        try:
            account, old = membership.set_role(engine, None, name, role)
        except NotFound as exc:
            raise _fail(str(exc)) from exc
    console.print(f"{escape(account.name)}: {old} -> {role}", highlight=False)
