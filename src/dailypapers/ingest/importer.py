"""Importing records into the store: batched, merged, idempotent, resumable after a crash.

Each batch is one transaction that also records how far the file got, so a killed import
resumes where the last committed batch ended and the end state equals one clean run.
"""

from __future__ import annotations

import gzip
import io
import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING

from dailypapers.ingest.batches import ImportReport, Prepared, auto_feature, prepared, write_batch
from dailypapers.ingest.bulk import import_lines
from dailypapers.sources import limits
from dailypapers.sources.detect import FORMATS, Format, Item, detect_format
from dailypapers.sources.record import SourceError
from dailypapers.store import copy_in
from dailypapers.store.db import write_tx

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


GZIP_MAGIC = b"\x1f\x8b"


def is_gzip(path: Path) -> bool:
    with path.open("rb") as fp:
        return fp.read(2) == GZIP_MAGIC


def _open(path: Path) -> IO[bytes]:
    """The file's bytes, decompressed when it is gzip (as archives of API answers often are)."""
    return gzip.open(path, "rb") if is_gzip(path) else path.open("rb")  # type: ignore[return-value]


def sniff(path: Path) -> Format:
    try:
        with _open(path) as fp:
            return detect_format(fp.read(8192), where=str(path))
    except (OSError, EOFError) as exc:  # a damaged gzip file
        raise SourceError(f"cannot read the file ({exc})", where=str(path)) from exc


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
        try:
            with _open(path) as fp:
                data = fp.read(limits.MAX_DOCUMENT_BYTES + 1)
        except (OSError, EOFError) as exc:
            raise SourceError(f"cannot read the file ({exc})", where=where) from exc
        if len(data) > limits.MAX_DOCUMENT_BYTES:
            raise SourceError(
                f"a {form.name} document larger than {limits.MAX_DOCUMENT_BYTES >> 20} MiB: split it into smaller ones",
                where=where,
            )
        items = list(form.document_parser(io.BytesIO(data), where))
        ingest_items(engine, items, report, auto_feature_categories=auto_feature_categories, batch_size=batch_size)
        _settle(engine, report)
        if progress:
            progress(size)
        return report

    if is_gzip(path):
        raise SourceError(
            f"a compressed {form.name} file: decompress it first (gunzip), so that an interrupted import can resume",
            where=where,
        )
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
    _settle(engine, report)
    return report


def _settle(engine: Engine, report: ImportReport) -> None:
    """After a large import: the keyword index's pending entries merged (PostgreSQL; see store.copy_in)."""
    if report.new >= copy_in.BULK_ROWS:
        with write_tx(engine) as conn:
            copy_in.flush_pending(conn)
