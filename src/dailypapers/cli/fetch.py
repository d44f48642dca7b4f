"""`dailypapers fetch arxiv|oai|rss`: live harvests from arXiv."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Annotated

import typer
from rich.markup import escape

from dailypapers.cli.common import REPORT_COLUMNS, console, load_settings, print_report, store

fetch_app = typer.Typer(help="Harvest live from arXiv (at most one request per 3 s).", no_args_is_help=True)

PREFIXES = ("arXiv", "arXivRaw", "oai_dc")


def _run(title: str, harvest: Callable[..., object]) -> None:
    """Run a harvest against the configured store; any failure exits 1 with its message."""
    from dailypapers.ingest.http import FetchError
    from dailypapers.sources.record import SourceError

    settings = load_settings()
    with store(settings) as engine:
        try:
            report = harvest(engine, settings)
        except (FetchError, SourceError, ValueError) as exc:
            console.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False)
            console.print("Pages fetched before the error are saved; run the same command again to resume.")
            raise typer.Exit(1) from exc
    print_report(title, report, (*REPORT_COLUMNS, "pages", "requests"))
    if report.resumed_from:
        console.print(f"Resumed an interrupted harvest at {report.resumed_from}", highlight=False)


def _check_date(value: str | None) -> str | None:
    if value is not None:
        try:
            dt.date.fromisoformat(value)
        except ValueError as exc:
            raise typer.BadParameter(f"{value!r} is not a YYYY-MM-DD date") from exc
    return value


@fetch_app.command("arxiv")
def fetch_arxiv(
    query: Annotated[str, typer.Argument(help="arXiv API search_query, e.g. 'cat:cs.CL AND ti:llm'")],
    max_results: Annotated[int, typer.Option("--max-results", min=1, help="Papers to fetch")] = 100,
    page_size: Annotated[int, typer.Option("--page-size", min=1, max=2000, help="Papers per request")] = 100,
) -> None:
    """Search the arXiv API and store the newest matching papers."""
    from dailypapers.ingest.harvest import harvest_arxiv_api

    _run(
        f"arXiv API: {query}",
        lambda engine, settings: harvest_arxiv_api(
            engine, settings, query, max_results=max_results, page_size=page_size
        ),
    )


@fetch_app.command("oai")
def fetch_oai(
    set_spec: Annotated[str | None, typer.Option("--set", help="OAI set, e.g. cs or physics:hep-th")] = None,
    from_date: Annotated[
        str | None, typer.Option("--from", help="YYYY-MM-DD (changed on or after)", callback=_check_date)
    ] = None,
    until: Annotated[
        str | None, typer.Option("--until", help="YYYY-MM-DD (changed on or before)", callback=_check_date)
    ] = None,
    prefix: Annotated[str, typer.Option("--prefix", help="arXiv, arXivRaw or oai_dc")] = "arXiv",
) -> None:
    """Harvest metadata with OAI-PMH ListRecords, resuming an interrupted harvest."""
    from dailypapers.ingest.harvest import harvest_oai

    if prefix not in PREFIXES:
        raise typer.BadParameter(f"choose from {', '.join(PREFIXES)}", param_hint="--prefix")
    _run(
        "arXiv OAI-PMH",
        lambda engine, settings: harvest_oai(
            engine, settings, metadata_prefix=prefix, set_spec=set_spec, from_date=from_date, until=until
        ),
    )


@fetch_app.command("rss")
def fetch_rss(
    categories: Annotated[list[str], typer.Argument(help="Categories, e.g. cs.CL cs.LG")],
) -> None:
    """Fetch today's announcements of the categories (featuring those in DAILYPAPERS_AUTO_FEATURE)."""
    from dailypapers.ingest.harvest import harvest_rss

    _run(
        f"arXiv listing: {' '.join(categories)}",
        lambda engine, settings: harvest_rss(engine, settings, list(categories)),
    )
