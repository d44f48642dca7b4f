"""Importing records into the store: batched, merged, idempotent, resumable after a crash.

Each batch is one transaction that also records how far the file got, so a killed import
resumes where the last committed batch ended and the end state equals one clean run.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from dailypapers.ingest.batches import ImportReport, Prepared, auto_feature, prepared, write_batch
from dailypapers.ingest.bulk import import_lines
from dailypapers.sources.detect import FORMATS, Format, Item, detect_format
from dailypapers.sources.record import SourceError

if TYPE_CHECKING:
    from sqlalchemy import Engine


def ingest_items(
    engine: Engine,
    items: Iterable[Item],
    report: ImportReport,
    *,
    auto_feature_categories: Sequence[str] = (),
    batch_size: int = 2000,
) -> None:
    """Write records from any iterable of records and errors (no checkpoints: for live harvests)."""
    batch: list[Prepared] = []
    for item in items:
        if isinstance(item, SourceError):
            report.reject(item)
            continue
        batch.append(prepared(auto_feature(item, auto_feature_categories)))
        if len(batch) >= batch_size:
            write_batch(engine, batch, report)
            batch = []
    if batch:
        write_batch(engine, batch, report)


def sniff(path: Path) -> Format:
    with path.open("rb") as fp:
        return detect_format(fp.read(8192), where=str(path))


def import_file(
    engine: Engine,
    path: Path,
    *,
    fmt: str | None = None,
    progress: Callable[[int], None] | None = None,
    auto_feature_categories: Sequence[str] = (),
    batch_size: int = 5000,
    jobs: int | None = None,
) -> ImportReport:
    """Import one file; a malformed document raises SourceError and writes nothing of it."""
    report = ImportReport()
    if not path.is_file():
        raise SourceError("no such file", where=str(path))
    form = FORMATS[fmt] if fmt else sniff(path)
    where = str(path)
    size = os.path.getsize(path)
    if form.document_parser is not None:
        with path.open("rb") as fp:
            items = list(form.document_parser(fp, where))
        ingest_items(engine, items, report, auto_feature_categories=auto_feature_categories, batch_size=batch_size)
        if progress:
            progress(size)
        return report

    import_lines(
        engine,
        path,
        form,
        report,
        progress=progress,
        auto_feature_categories=auto_feature_categories,
        batch_size=batch_size,
        jobs=jobs,
    )
    return report
