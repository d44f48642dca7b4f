"""`dailypapers digest send`: mail a period's digest to its subscribers, exactly once each.

Safe to rerun (e.g. from cron, or after a crash): subscribers who already got the period's digest
are skipped, and the rest are sent. The exit status is 1 when some deliveries failed temporarily.
"""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from dailypapers.cli.common import console, load_settings, store

digest_app = typer.Typer(help="Email digests.", no_args_is_help=True)


@digest_app.callback()
def digest() -> None:
    """Email digests: `send` one period's digest to its subscribers."""


@digest_app.command("send")
def send(
    frequency: Annotated[str, typer.Option(help="daily or weekly")] = "daily",
    period: Annotated[
        str | None, typer.Option(help="YYYY-MM-DD (daily) or YYYY-Www (weekly); default: the latest complete one")
    ] = None,
    rate: Annotated[float, typer.Option(help="at most this many messages per second (0: no limit)")] = 0.0,
    retries: Annotated[int, typer.Option(help="tries again after a temporary failure")] = 3,
) -> None:
    """Send the digest of one period to every confirmed subscriber of FREQUENCY who has not had it."""
    from dailypapers.digest.compose import digest_period, ledger_key
    from dailypapers.digest.deliver import Options, deliver
    from dailypapers.digest.sending import ServerUnavailable

    try:
        when = digest_period(frequency, period)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    settings = load_settings()
    with store(settings) as engine:
        try:
            report = asyncio.run(deliver(engine, settings, when, Options(retries=retries, rate=rate)))
        except ServerUnavailable as exc:
            console.print(f"[red]error:[/red] {exc}; nothing more was sent: run the same command again later.")
            raise typer.Exit(1) from exc
    console.print(
        f"{ledger_key(when)}: sent {len(report.sent)}, already sent {len(report.already_sent)}, "
        f"nothing new {len(report.nothing_new)}, bounced {len(report.bounced)}, failed {len(report.failed)}"
    )
    if report.failed:
        raise typer.Exit(1)
