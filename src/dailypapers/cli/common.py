"""What every `dailypapers` subcommand needs: settings, the migrated store, a console, report tables."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from dailypapers.config import Settings

if TYPE_CHECKING:
    from sqlalchemy import Engine

console = Console(stderr=True)
REPORT_COLUMNS = ("new", "updated", "unchanged", "rejected", "featured")


def load_settings() -> Settings:
    """Settings from the environment; a bad value exits with its name."""
    try:
        return Settings.from_env()
    except ValueError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc


@contextlib.contextmanager
def store(settings: Settings) -> Iterator[Engine]:
    """The engine for the configured database, with pending migrations applied, disposed of afterwards."""
    from dailypapers.store.db import make_engine, migrate

    engine = make_engine(settings.database_url)
    try:
        applied = migrate(engine)
        if applied:
            console.print(f"Applied migrations: {', '.join(applied)}")
        yield engine
    finally:
        engine.dispose()


def print_report(title: str, report: Any, columns: Sequence[str] = REPORT_COLUMNS) -> None:
    """An import or harvest report: its counts as a table, then the first rejected records."""
    table = Table(title=title)
    for col in columns:
        table.add_column(col, justify="right")
    table.add_row(*(str(getattr(report, c)) for c in columns))
    console.print(table)
    for line in report.errors[:20]:
        console.print(f"[yellow]rejected:[/yellow] {escape(line)}", highlight=False)
    if report.rejected > 20:
        console.print(f"... and {report.rejected - 20} more rejected records")
