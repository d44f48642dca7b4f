"""`dailypapers worker` and `dailypapers jobs list|retry|run`: background jobs from the command line.

With PostgreSQL the queue is shared: a worker runs queued jobs, `run` queues one for the workers, `list`
shows what every process queued and ran. With SQLite (the embedded mode) the queue lives in the server
process: `run` runs the job right here, and `list` shows the job log that every process writes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from dailypapers.cli.common import console, load_settings, store
from dailypapers.config import Settings

if TYPE_CHECKING:
    from dailypapers.jobs.engine import JobSystem

jobs_app = typer.Typer(help="Background jobs: what is scheduled, queued, running and failed.", no_args_is_help=True)
SHARED_QUEUE = "the job queue is shared only on PostgreSQL (DAILYPAPERS_DATABASE_URL)"


def worker(
    log_level: Annotated[
        str | None, typer.Option(help="debug, info (each job's start and end), warning, error [DAILYPAPERS_LOG_LEVEL]")
    ] = None,
    metrics_port: Annotated[
        int, typer.Option(help="Serve this worker's metrics (job runs, imports, embeddings, digests) on this port")
    ] = 0,
    metrics_host: Annotated[str | None, typer.Option(help="Address of that port [DAILYPAPERS_METRICS_HOST]")] = None,
) -> None:
    """Run background jobs until stopped (SIGINT or SIGTERM: running jobs finish first). PostgreSQL only."""
    from dailypapers import logs
    from dailypapers.jobs.engine import run_worker

    settings = load_settings()
    level = (log_level or settings.log_level).upper()
    if not isinstance(logging.getLevelName(level), int):
        raise typer.BadParameter(f"{log_level!r} is not a log level", param_hint="--log-level")
    # procrastinate says each job's start and end at INFO: a worker's log keeps them.
    logs.configure(settings.log_format, level, chatty=[c for c in logs.CHATTY if c != "procrastinate"])
    if settings.is_sqlite:
        console.print(f"[red]error:[/red] {SHARED_QUEUE}; with SQLite `dailypapers serve` runs the jobs itself.")
        raise typer.Exit(2)
    if metrics_port:
        from prometheus_client import REGISTRY

        from dailypapers.telemetry import start_exporter

        host = metrics_host or settings.metrics_host
        start_exporter(host, metrics_port, settings.metrics_token, [REGISTRY])  # this process's own counts
        console.print(f"Metrics on http://{host}:{metrics_port}/metrics")
    with store(settings) as engine:
        console.print(f"Worker running {settings.job_concurrency} jobs at a time (Ctrl-C stops it).")
        asyncio.run(run_worker(settings, engine))


@contextlib.contextmanager
def _jobs(settings: Settings, *, worker: bool = False) -> Iterator[tuple[JobSystem, object]]:
    from dailypapers.jobs.engine import JobSystem

    with store(settings) as engine:
        system = JobSystem(settings, engine, worker=worker).start()
        try:
            yield system, engine
        finally:
            system.stop()


@jobs_app.command("list")
def list_jobs(limit: Annotated[int, typer.Option(help="Recent runs to show", min=1)] = 20) -> None:
    """The jobs and their schedules, the queue (PostgreSQL), and the latest runs with their errors."""
    from dailypapers.jobs import catalog
    from dailypapers.store import jobs as job_log
    from dailypapers.store.db import read_tx

    settings = load_settings()
    table = Table(title="Jobs")
    for col in ("job", "runs", "what it does"):
        table.add_column(col)
    for j in catalog.jobs():
        when = (f"cron {j.cron} (UTC)" if j.enabled(settings) else "off (settings)") if j.cron else "when queued"
        table.add_row(j.name, when, j.summary)
    console.print(table)
    with _jobs(settings) as (system, engine):
        if not settings.is_sqlite:
            for status in ("todo", "doing", "failed"):
                queued = system.jobs(status)
                label = {"todo": "queued", "doing": "running", "failed": "failed"}[status]
                console.print(f"{label}: {len(queued)}" + "".join(f"\n  #{q.id} {q.name}" for q in queued[:limit]))
        with read_tx(engine) as conn:  # type: ignore[arg-type]
            runs = job_log.runs(conn, limit=limit)
    recent = Table(title="Latest runs")
    for col in ("job id", "job", "status", "started (UTC)", "seconds", "progress", "error"):
        recent.add_column(col)
    for r in runs:
        done = f"{r.done}/{r.total}" if r.total else (str(r.done) if r.done else "")
        note = f"{done} {r.note}".strip()
        started = r.started_at.strftime("%Y-%m-%d %H:%M:%S")
        recent.add_row(str(r.job_id), r.name, r.status, started, f"{r.seconds:.1f}", note, r.error or "")
    console.print(recent)


@jobs_app.command("retry")
def retry(job_id: Annotated[int, typer.Argument(help="The id of a failed job (see `jobs list`)")]) -> None:
    """Run a failed job again now. PostgreSQL only."""
    settings = load_settings()
    if settings.is_sqlite:
        console.print(f"[red]error:[/red] {SHARED_QUEUE}; use `dailypapers jobs run NAME`.")
        raise typer.Exit(2)
    with _jobs(settings) as (system, _):
        failed = {q.id for q in system.jobs("failed")}
        if job_id not in failed:
            console.print(f"[red]error:[/red] no failed job #{job_id}")
            raise typer.Exit(1)
        system.retry(job_id)
    console.print(f"Job #{job_id} queued again.")


@jobs_app.command("run")
def run(
    name: Annotated[str, typer.Argument(help="A job's name (see `jobs list`)")],
    wait: Annotated[bool, typer.Option(help="PostgreSQL: wait until a worker has run it")] = False,
) -> None:
    """Run a job now: queued for the workers (PostgreSQL), or run here (SQLite)."""
    from dailypapers.jobs import catalog

    settings = load_settings()
    try:
        catalog.job(name)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    here = settings.is_sqlite
    with _jobs(settings, worker=here) as (system, _):
        job_id = system.defer(name)
        console.print(f"Job #{job_id} ({escape(name)}) queued" + (", running here" if here else "."))
        if here or wait:
            status = system.wait(job_id)
            console.print(f"Job #{job_id}: {status}")
            if status != "succeeded":
                raise typer.Exit(1)
