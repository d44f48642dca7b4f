"""`dailypapers embed`: compute the embeddings that semantic search needs, for papers that lack one.

Idempotent and safe beside a running server: papers are claimed a chunk at a time, so processes share
the work instead of repeating it, and a second run finds nothing to do. On SQLite it then brings the
approximate-nearest-neighbour index file up to date, so the server starts with it ready.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, ProgressColumn, Task, TextColumn, TimeRemainingColumn
from rich.text import Text

from dailypapers.cli.common import console, load_settings, store
from dailypapers.config import Settings

if TYPE_CHECKING:
    from sqlalchemy import Engine


class _Rate(ProgressColumn):
    def render(self, task: Task) -> Text:
        return Text(f"{task.speed:.1f} papers/s" if task.speed else "", style="progress.data.speed")


def embed(
    device: Annotated[
        str | None,
        typer.Option(help="cpu, cuda, cuda:1, ... (default: DAILYPAPERS_EMBED_DEVICE, else CUDA if present)"),
    ] = None,
    batch_size: Annotated[int | None, typer.Option(help="Texts per forward pass (default 32)", min=1)] = None,
    limit: Annotated[int | None, typer.Option(help="Embed at most this many papers", min=1)] = None,
    all_: Annotated[bool, typer.Option("--all", help="Embed every paper again, even those up to date")] = False,
    export: Annotated[
        Path | None, typer.Option(help="Then write all embeddings to this .npz (paper ids, content hashes, vectors)")
    ] = None,
) -> None:
    """Embed the title and abstract of every paper that has no up-to-date embedding (reports papers/s)."""
    from dailypapers.search.embedder import EmbedderError

    settings = load_settings()
    settings = dataclasses.replace(
        settings,
        embed_device=device if device is not None else settings.embed_device,
        embed_batch_size=batch_size or settings.embed_batch_size,
    )
    with store(settings) as engine:
        try:
            _embed(engine, settings, limit=limit, all_=all_, export=export)
        except EmbedderError as exc:
            console.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False)
            raise typer.Exit(1) from exc


def _embed(engine: Engine, settings: Settings, *, limit: int | None, all_: bool, export: Path | None) -> None:
    """Embed what needs it, with a progress bar; then the index file (SQLite) and the export."""
    from dailypapers.search.backlog import embed_pending
    from dailypapers.search.embedder import get_embedder
    from dailypapers.store import papers, vectors
    from dailypapers.store.db import read_tx

    embedder = get_embedder(settings)
    with read_tx(engine) as conn:
        todo = papers.count_papers(conn) if all_ else vectors.count_stale(conn, embedder.name)
    todo = min(todo, limit) if limit else todo
    if not todo:
        console.print(f"Embedded 0 papers: all are up to date ({escape(embedder.name)}).", highlight=False)
    else:
        began = time.perf_counter()
        embedder.encode(["warm up"])  # load the model before the clock starts
        loaded = time.perf_counter() - began
        where = getattr(embedder, "device", "") or settings.embed_device or "auto"
        console.print(f"{escape(embedder.name)} loaded on {escape(where)} in {loaded:.1f} s", highlight=False)
        columns = (TextColumn("embedding"), BarColumn(), MofNCompleteColumn(), _Rate(), TimeRemainingColumn())
        with Progress(*columns, console=console) as progress:
            task = progress.add_task("embed", total=todo)
            report = embed_pending(
                engine,
                embedder,
                limit=limit,
                force=all_,
                chunk=max(512, 8 * settings.embed_batch_size),
                progress=lambda n: progress.advance(task, n),
            )
        console.print(
            f"Embedded {report.embedded} papers in {report.seconds:.1f} s: {report.rate:.1f} papers/s "
            f"(batch size {settings.embed_batch_size})",
            highlight=False,
        )
    if settings.is_sqlite:
        _update_index_file(engine, settings, embedder)
    if export:
        _export(engine, embedder.name, embedder.dim, export)


def _update_index_file(engine, settings, embedder) -> None:  # type: ignore[no-untyped-def]
    from dailypapers.search.semantic import SemanticIndex

    index = SemanticIndex(engine, settings, embedder)
    index.catch_up()
    index.save()
    console.print(f"Semantic index: {len(index.keys())} papers", highlight=False)


def _export(engine, model: str, dim: int, path: Path) -> None:  # type: ignore[no-untyped-def]
    import numpy as np

    from dailypapers.store import vectors
    from dailypapers.store.db import read_tx

    with read_tx(engine) as conn:
        ids, hashes, matrix = vectors.export(conn, model, dim)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as f:
        np.savez_compressed(
            f,
            model=np.array(model),
            ids=np.array(ids),
            content_hashes=np.array(hashes),
            vectors=matrix.astype(np.float16),
        )
    console.print(f"Wrote {len(ids)} embeddings to {escape(str(path))}", highlight=False)
