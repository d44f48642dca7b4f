"""`dailypapers fetch arxiv|oai|rss|hf|github|media`: live harvests from arXiv and Hugging Face, GitHub stars,
thumbnails and avatars."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Annotated

import typer
from rich.markup import escape

from dailypapers.cli.common import REPORT_COLUMNS, console, load_settings, print_report, store

fetch_app = typer.Typer(
    help="Harvest live from arXiv (one request per 3 s) and Hugging Face; GitHub stars of papers' code.",
    no_args_is_help=True,
)

PREFIXES = ("arXiv", "arXivRaw", "oai_dc")


def _run(
    title: str,
    harvest: Callable[..., object],
    columns: tuple[str, ...] = ("pages",),
    counts: tuple[str, ...] = REPORT_COLUMNS,
) -> None:
    """Run a harvest against the configured store and print its report (these `columns` besides the
    `counts`, by default the import counts); any failure exits 1 with its message."""
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
    print_report(title, report, (*counts, *columns, "requests"))
    if getattr(report, "resumed_from", None):
        console.print(f"Resumed an interrupted harvest at {report.resumed_from}", highlight=False)
    if getattr(report, "note", ""):
        console.print(escape(str(report.note)), highlight=False)


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

    def harvest(engine, settings):  # type: ignore[no-untyped-def]
        report = harvest_rss(engine, settings, list(categories))
        if settings.auto_feature_top and report.announced:
            from dailypapers.curation.auto import NoHistory, pick_day

            try:
                picked = pick_day(engine, settings, report.announced)
                console.print(f"{picked.picked} picked for this community of {picked.candidates} new papers")
            except NoHistory as exc:
                console.print(f"[yellow]nothing picked:[/yellow] {escape(str(exc))}", highlight=False)
        return report

    _run(f"arXiv listing: {' '.join(categories)}", harvest)


@fetch_app.command("hf")
def fetch_hf(
    date: Annotated[str | None, typer.Option("--date", help="YYYY-MM-DD: one day", callback=_check_date)] = None,
    from_date: Annotated[
        str | None, typer.Option("--from", help="YYYY-MM-DD: the first day of a range", callback=_check_date)
    ] = None,
    to_date: Annotated[
        str | None, typer.Option("--to", help="YYYY-MM-DD: its last day (default: today)", callback=_check_date)
    ] = None,
) -> None:
    """Hugging Face's daily papers of a day or a range of days (picks, submitters, links, upvotes)."""
    from dailypapers.ingest.hf_sync import days_between, sync_days

    if (date is None) == (from_date is None):
        raise typer.BadParameter("give --date DAY, or --from DAY [--to DAY]")
    if date and to_date:
        raise typer.BadParameter("--to goes with --from, not with --date")
    first = dt.date.fromisoformat(date or from_date or "")
    last = dt.date.fromisoformat(to_date) if to_date else first if date else dt.datetime.now(dt.UTC).date()
    try:
        days = days_between(first, last)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    _run(
        f"Hugging Face daily papers {first.isoformat()}..{last.isoformat()}",
        lambda engine, settings: sync_days(engine, settings, days),
        ("days", "not_modified", "skipped", "completed"),
    )


@fetch_app.command("github")
def fetch_github(
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="Repositories to ask about at most")] = None,
) -> None:
    """The stars of papers' GitHub repositories that are due (set DAILYPAPERS_GITHUB_TOKEN for more than
    60 requests an hour); stops when GitHub's rate limit is spent."""
    from dailypapers.ingest.github_stars import sync_stars

    _run(
        "GitHub stars",
        lambda engine, settings: sync_stars(engine, settings, limit=limit),
        ("linked", "repos", "updated", "not_modified", "missing", "renamed", "papers"),
        counts=(),
    )


@fetch_app.command("media")
def fetch_media(
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="URLs to fetch at most")] = None,
    retry_failed: Annotated[
        bool, typer.Option("--retry-failed", help="give URLs that failed (given up included) a new try first")
    ] = False,
    clear: Annotated[
        bool, typer.Option("--clear", help="forget every cached thumbnail and avatar (rows and files), fetch nothing")
    ] = False,
) -> None:
    """Papers' thumbnails and submitters' avatars not cached yet, fetched once into $DATA_DIR/media
    (docs/media.md); what the `media-cache` job does."""
    from dailypapers.ingest import media

    if clear:
        settings = load_settings()
        with store(settings) as engine:
            rows, files = media.clear(engine, settings)
        console.print(f"Forgot {rows} URLs and removed {files} files from {media.media_dir(settings)}")
        return

    def run(engine, settings):  # type: ignore[no-untyped-def]
        if retry_failed:
            media.retry_failed(engine)
        return media.cache_media(engine, settings, limit=limit)

    _run(
        "Thumbnails and avatars",
        run,
        ("added", "fetched", "cached", "stored", "failed", "given_up", "too_big", "not_image", "postponed"),
        counts=(),
    )
