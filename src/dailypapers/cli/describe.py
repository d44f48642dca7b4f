"""`dailypapers describe`: the TL;DR and keywords that cards show, for papers that lack them or whose text
changed (docs/summaries.md). Hugging Face's `ai_summary`/`ai_keywords` when a paper has them, else
computed offline with the bundled embedding model; nothing is downloaded.

Idempotent and safe beside a running server (the `describe` job does the same work every minute): a
second run finds nothing to do.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import orjson
import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from dailypapers.cli.common import console, load_settings, store
from dailypapers.config import Settings

DEMO_DESCRIPTIONS = "descriptions.json"

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from dailypapers.search.describing import DescribeReport


def describe(
    device: Annotated[
        str | None,
        typer.Option(help="cpu, cuda, cuda:1, ... (default: DAILYPAPERS_EMBED_DEVICE, else CUDA if present)"),
    ] = None,
    limit: Annotated[int | None, typer.Option(help="Describe at most this many papers (newest first)", min=1)] = None,
    all_: Annotated[bool, typer.Option("--all", help="Describe every paper again, even those up to date")] = False,
    export: Annotated[
        Path | None, typer.Option(help="Then write all current descriptions to this JSON file (by paper id)")
    ] = None,
) -> None:
    """Describe every paper without an up-to-date TL;DR and keywords (reports papers/s)."""
    from dailypapers.search.embedder import EmbedderError
    from dailypapers.store import descriptions
    from dailypapers.store.db import read_tx

    settings = load_settings()
    settings = dataclasses.replace(settings, embed_device=device if device is not None else settings.embed_device)
    with store(settings) as engine:
        with read_tx(engine) as conn:
            todo = descriptions.count_pending(conn) if not all_ else None
        if todo == 0:
            console.print("Described 0 papers: all are up to date.")
            _export(engine, export)
            return
        try:
            with Progress(
                TextColumn("describing"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), console=console
            ) as bar:
                task = bar.add_task("describe", total=min(todo, limit) if todo and limit else todo or limit)
                report = describe_store(
                    engine, settings, limit=limit, force=all_, progress=lambda n: bar.advance(task, n)
                )
        except EmbedderError as exc:
            console.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False)
            raise typer.Exit(1) from exc
        _export(engine, export)
    console.print(
        f"Described {report.described} papers ({report.offline} offline) in {report.seconds:.1f} s: "
        f"{report.rate:.1f} papers/s",
        highlight=False,
    )


def _export(engine: Engine, path: Path | None) -> None:
    if path is None:
        return
    from dailypapers.store import descriptions
    from dailypapers.store.db import read_tx

    with read_tx(engine) as conn:
        rows = descriptions.export(conn)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(orjson.dumps(rows, option=orjson.OPT_INDENT_2) + b"\n")
    console.print(f"Wrote {len(rows)} descriptions to {escape(str(path))}", highlight=False)


def describe_store(
    engine: Engine,
    settings: Settings,
    *,
    limit: int | None = None,
    force: bool = False,
    progress: Callable[[int], None] | None = None,
) -> DescribeReport:
    """Describe the store's pending papers with the configured model (`dailypapers demo` calls it too)."""
    from dailypapers.search.describing import describe_pending
    from dailypapers.search.embedder import get_embedder

    return describe_pending(engine, get_embedder(settings), limit=limit, force=force, progress=progress)


def describe_loaded(engine: Engine, settings: Settings) -> str:
    """Describe the demo just loaded (`dailypapers demo`): the shipped descriptions of papers that match,
    then the others. A line saying how it went, never an error: without a usable model the `describe` job
    says why, and those cards show no TL;DR meanwhile."""
    from dailypapers.ingest.demo import DEMO_DIR
    from dailypapers.search.embedder import EmbedderError
    from dailypapers.store import descriptions
    from dailypapers.store.db import write_tx

    shipped = DEMO_DIR / DEMO_DESCRIPTIONS
    stored = 0
    if shipped.exists():  # computed by `dailypapers describe --export` (demo/PROVENANCE.md): no model time
        with write_tx(engine) as conn:
            stored = descriptions.import_matching(conn, orjson.loads(shipped.read_bytes()))
    try:
        report = describe_store(engine, settings)
    except EmbedderError as exc:
        return f"Papers not described: {escape(str(exc))}"
    return (
        f"Described {stored + report.described} papers: {stored} from the shipped {DEMO_DESCRIPTIONS}, "
        f"{report.described} computed in {report.seconds:.1f} s"
    )
