"""What every `dailypapers` subcommand needs: settings, the migrated store, a console."""

from __future__ import annotations

import typer
from rich.console import Console
from sqlalchemy import Engine

from dailypapers.config import Settings

console = Console(stderr=True)


def load_settings() -> Settings:
    """Settings from the environment; a bad value exits with its name."""
    try:
        return Settings.from_env()
    except ValueError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc


def open_store(settings: Settings) -> Engine:
    """The engine for the configured database, with pending migrations applied."""
    from dailypapers.store.db import make_engine, migrate

    engine = make_engine(settings.database_url)
    applied = migrate(engine)
    if applied:
        console.print(f"Applied migrations: {', '.join(applied)}")
    return engine
