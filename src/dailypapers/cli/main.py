"""The `dailypapers` command: each subcommand is a thin wrapper over one package."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from dailypapers.cli.backup import backup, restore
from dailypapers.cli.common import console, load_settings, print_report, store
from dailypapers.cli.curate import curate_app
from dailypapers.cli.describe import describe, describe_loaded
from dailypapers.cli.digest import digest_app
from dailypapers.cli.embed import embed
from dailypapers.cli.fetch import fetch_app
from dailypapers.cli.jobs import jobs_app, worker
from dailypapers.cli.users import users_app
from dailypapers.config import Settings
from dailypapers.sources.record import SourceError

app = typer.Typer(help="Daily Papers: a self-hostable daily feed of research papers.", no_args_is_help=True)
app.add_typer(fetch_app, name="fetch")
app.add_typer(users_app, name="user")
app.add_typer(digest_app, name="digest")
app.add_typer(jobs_app, name="jobs")
app.add_typer(curate_app, name="curate")
app.command()(embed)
app.command()(describe)
app.command()(worker)
app.command()(backup)
app.command()(restore)


@app.command()
def migrate() -> None:
    """Create the database or apply pending migrations."""
    with store(load_settings()):
        pass


@app.command("import")
def import_(
    paths: Annotated[list[Path], typer.Argument(help="Files to import (format detected from content)")],
    fmt: Annotated[str | None, typer.Option("--format", help="kaggle, seed, hf, arxiv-api, oai or rss")] = None,
    batch_size: Annotated[int, typer.Option(help="Records per transaction")] = 5000,
    queue: Annotated[
        bool, typer.Option("--queue", help="Queue each file as a job for the workers (PostgreSQL) and return")
    ] = False,
) -> None:
    """Import paper metadata files: Kaggle snapshot, arXiv API/OAI-PMH/RSS, Hugging Face JSON."""
    from dailypapers.ingest.importer import ImportReport, import_file
    from dailypapers.sources.detect import FORMATS

    if fmt and fmt not in FORMATS:
        console.print(f"[red]error:[/red] unknown format {fmt!r}; choose from {', '.join(FORMATS)}")
        raise typer.Exit(2)
    settings = load_settings()
    if queue:
        _queue_imports(settings, paths, fmt)
        return
    total = ImportReport()
    failed = 0
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
    )
    with store(settings) as engine, Progress(*columns, console=console, transient=False) as progress:
        for path in paths:
            size = path.stat().st_size if path.is_file() else 0
            task = progress.add_task(path.name[:40], total=size)
            try:
                report = import_file(
                    engine,
                    path,
                    fmt=fmt,
                    progress=lambda n, task=task: progress.advance(task, n),
                    auto_feature_categories=settings.featured_on_arrival,
                    batch_size=batch_size,
                )
            except SourceError as exc:
                failed += 1
                progress.console.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False)
                continue
            if report.resumed_from_line:
                progress.console.print(f"{path}: resumed after line {report.resumed_from_line}")
            total.add(report)
        _index_for_search(engine, progress)
    print_report("Import", total)
    if failed:
        raise typer.Exit(1)


def _queue_imports(settings: Settings, paths: list[Path], fmt: str | None) -> None:
    """Queue an `import-file` job per file; the workers must see the files under the same absolute paths."""
    from dailypapers.jobs.engine import JobSystem

    if settings.is_sqlite:
        console.print("[red]error:[/red] --queue needs the shared job queue of PostgreSQL; import directly instead.")
        raise typer.Exit(2)
    missing = [p for p in paths if not p.is_file()]
    if missing:
        console.print(f"[red]error:[/red] no such file: {escape(str(missing[0]))}", highlight=False)
        raise typer.Exit(2)
    with store(settings) as engine:
        system = JobSystem(settings, engine, worker=False).start()
        try:
            for path in paths:
                job_id = system.defer("import-file", path=str(path.resolve()), fmt=fmt)
                console.print(f"Queued job #{job_id}: import {escape(str(path))}", highlight=False)
        finally:
            system.stop()


def _index_for_search(engine, progress: Progress) -> None:  # type: ignore[no-untyped-def]
    from dailypapers.store import search_index
    from dailypapers.store.db import read_tx

    with read_tx(engine) as conn:
        todo = search_index.pending(conn)
    if todo:
        task = progress.add_task("keyword index", total=todo)
        search_index.index_pending(engine, lambda n: progress.advance(task, n))


@app.command()
def demo(
    if_empty: Annotated[bool, typer.Option("--if-empty", help="Only when the database has no papers")] = False,
) -> None:
    """Load the bundled demo data (real records of the fixtures and the seed page's papers)."""
    from dailypapers.ingest.demo import load_demo

    settings = load_settings()
    with store(settings) as engine:
        report = load_demo(engine, only_if_empty=if_empty)
        # Cards' TL;DRs and keywords at once (offline; later papers get theirs from the `describe` job).
        described = describe_loaded(engine, settings) if report is not None else ""
    if report is None:
        console.print("Database already has papers; demo data not loaded.")
    else:
        print_report("Demo data", report)
        console.print(described, highlight=False)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Default: DAILYPAPERS_HOST or 127.0.0.1")] = None,
    port: Annotated[int | None, typer.Option(help="Default: DAILYPAPERS_PORT or 8000")] = None,
    workers: Annotated[int | None, typer.Option(help="Web worker processes")] = None,
) -> None:
    """Serve the site (migrating the database first)."""
    import uvicorn

    from dailypapers import logs
    from dailypapers.cli import serving

    settings = load_settings()
    logs.configure(settings.log_format, settings.log_level)
    with store(settings):
        pass
    host = host or settings.host
    port = port or settings.port
    workers = workers or settings.workers
    say = serving.teller(settings)
    say(f"Serving Daily Papers on http://{host}:{port} (database {serving.redacted(settings.database_url)})")
    if not settings.smtp_url:
        say(f"No DAILYPAPERS_SMTP_URL: outgoing mail is written to {settings.data_dir / 'outbox'}/*.eml")
    if settings.jobs == "off":
        say("Background jobs are off here (DAILYPAPERS_JOBS=off): `dailypapers worker` runs them.")
    elif settings.is_sqlite and workers > 1:
        say(
            "[yellow]note:[/yellow] with SQLite each of the web processes runs the background jobs itself; their "
            "work is idempotent but done several times. Use one process, or PostgreSQL and `dailypapers worker`."
        )
    with serving.multiprocess_dir(workers), serving.metrics_port(settings) as metrics_port:
        if metrics_port:
            say(f"Metrics on http://{settings.metrics_host}:{metrics_port}/metrics")
        uvicorn.run(
            "dailypapers.web.app:create_app_from_env",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_config=logs.dict_config(settings.log_format, settings.log_level),  # in every web process
            log_level="warning",
            access_log=False,  # ours, with the request id and the route (web/observe.py)
            proxy_headers=bool(settings.trusted_proxies),
            forwarded_allow_ips=",".join(settings.trusted_proxies) or None,
        )
