"""Line-format imports (the Kaggle snapshot): parsed in worker processes, written in batches.

The file is read in chunks of lines; worker processes turn each chunk into insert parameters
(parsing and serializing are most of the work), and this process writes them in order, one
transaction per chunk with the checkpoint of where the chunk ends. At most a few chunks are in
flight, so memory stays flat whatever the file's size.
"""

from __future__ import annotations

import collections
import functools
import multiprocessing
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dailypapers.ingest.batches import MAX_WRITERS, ImportReport, OrderedWriter, Prepared, auto_feature, file_key
from dailypapers.sources.detect import FORMATS, Format
from dailypapers.sources.limits import MAX_LINE_BYTES
from dailypapers.sources.record import PaperRecord, SourceError
from dailypapers.store import bookkeeping, papers
from dailypapers.store.db import write_tx

if TYPE_CHECKING:
    from sqlalchemy import Engine

# Below this size a pool costs more than it saves.
PARALLEL_MIN_BYTES = 4 << 20
# Chunks are cut by size: batch_size records of about this many bytes (the snapshot's average).
BYTES_PER_RECORD = 1600

Parsed = tuple[str, Any, Any] | None  # ("r", params, listing) | ("e", message, None) | None


def _parse_line(form: Format, line: bytes, where: str, number: int) -> PaperRecord | SourceError | None:
    assert form.line_parser is not None
    return next(form.line_parser([line], where, number - 1), None)  # type: ignore[arg-type]


def _prepare_chunk(
    fmt: str, blob: bytes, where: str, first_line: int, dialect: str, categories: Sequence[str]
) -> list[Parsed]:
    """Worker: each line's insert parameters (or error message), in order."""
    form = FORMATS[fmt]
    out: list[Parsed] = []
    for number, line in enumerate(_lines(blob), first_line):
        item = _parse_line(form, line, where, number)
        if item is None:
            out.append(None)
        elif isinstance(item, SourceError):
            out.append(("e", str(item), None))
        else:
            item = auto_feature(item, categories)
            out.append(("r", papers.record_params(item, dialect), item.listing))
    return out


def _lines(blob: bytes) -> list[bytes]:
    lines = blob.split(b"\n")
    if lines and not lines[-1]:
        lines.pop()
    return lines


Chunk = tuple[bytes, int, int, int]  # (whole lines, first line number, last line number, end position)


def _chunks(fp: Any, size: int, line: int) -> Iterator[Chunk]:
    """The file from its current position in blocks of whole lines (about `size` bytes each).

    A line longer than MAX_LINE_BYTES is not held whole: its first MAX_LINE_BYTES + 1 bytes stand for it
    (enough for the parser to reject it as too long) and the rest is skipped, so memory stays bounded.
    """
    position = fp.tell()
    rest = b""
    while True:
        block = fp.read(size)
        if not block:
            break
        block = rest + block
        cut = block.rfind(b"\n") + 1
        if cut == 0:
            rest = block
            if len(block) > MAX_LINE_BYTES:
                skipped, rest = _skip_line(fp, size)
                position += len(block) + skipped
                yield block[: MAX_LINE_BYTES + 1] + b"\n", line + 1, line + 1, position
                line += 1
            continue
        blob, rest = block[:cut], block[cut:]
        count = blob.count(b"\n")
        position += len(blob)
        yield blob, line + 1, line + count, position
        line += count
    if rest:  # a last line without a newline
        yield rest, line + 1, line + 1, position + len(rest)


def _skip_line(fp: Any, size: int) -> tuple[int, bytes]:
    """Read past the end of the current line: the bytes read up to its newline (included), and those after."""
    skipped = 0
    while block := fp.read(size):
        end = block.find(b"\n") + 1
        if end:
            return skipped + end, block[end:]
        skipped += len(block)
    return skipped, b""


def import_lines(
    engine: Engine,
    path: Path,
    form: Format,
    report: ImportReport,
    *,
    progress: Callable[[int], None] | None = None,
    auto_feature_categories: Sequence[str] = (),
    batch_size: int = 5000,
    jobs: int | None = None,
) -> None:
    """Import a line-format file, resuming from its checkpoint if an earlier run was interrupted."""
    where = str(path)
    key = file_key(path)
    dialect = engine.dialect.name
    with write_tx(engine) as conn:
        resume = bookkeeping.load_checkpoint(conn, key)
        # Numbers a killed run used up are reused, so the papers' pks equal those of one clean run.
        papers.reclaim_paper_pks(conn)
    position, line = resume or (0, 0)
    report.resumed_from_line = line
    if jobs is None:
        big = path.stat().st_size - position >= PARALLEL_MIN_BYTES
        jobs = (os.cpu_count() or 1) if big else 0
    prepare = functools.partial(
        _prepare_chunk, form.name, where=where, dialect=dialect, categories=tuple(auto_feature_categories)
    )
    with path.open("rb") as fp:
        fp.seek(position)
        if progress and position:
            progress(position)
        chunks = _chunks(fp, batch_size * BYTES_PER_RECORD, line)
        if jobs > 0:
            results = _parallel(prepare, chunks, jobs)
        else:
            results = ((c, prepare(c[0], first_line=c[1])) for c in chunks)
        categories = tuple(auto_feature_categories)
        # PostgreSQL: as many connections as parsing processes (see OrderedWriter); SQLite has one writer.
        depth = min(MAX_WRITERS, max(jobs, 1)) if dialect == "postgresql" else 1
        with OrderedWriter(engine, report, depth) as writer:
            for (blob, first, last, end), parsed in results:
                batch: list[Prepared] = []
                loader = functools.partial(_reload, form, blob, where, first, categories)
                for index, item in enumerate(parsed):
                    if item is None:
                        continue
                    if item[0] == "e":
                        report.reject(item[1])
                        continue
                    batch.append(Prepared(item[1][0], item[1], item[2], loader=loader, index=index))
                writer.write(batch, checkpoint=(key, where, end, last))
                if progress:
                    progress(end - position)
                position = end
    with write_tx(engine) as conn:
        bookkeeping.clear_checkpoint(conn, key)


def _reload(
    form: Format, blob: bytes, where: str, first_line: int, categories: Sequence[str], index: int
) -> PaperRecord:
    """Parse one line of a chunk again in this process, for the rarer merge with a stored paper."""
    item = _parse_line(form, _lines(blob)[index], where, first_line + index)
    assert isinstance(item, PaperRecord)
    return auto_feature(item, categories)


def _parallel(
    prepare: Callable[..., list[Parsed]], chunks: Iterator[Chunk], jobs: int
) -> Iterator[tuple[Chunk, list[Parsed]]]:
    """Chunks with their parsed results, in file order, with at most 2 x jobs chunks in flight."""
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=jobs, mp_context=ctx) as pool:
        pending: collections.deque[tuple[Chunk, Future[list[Parsed]]]] = collections.deque()
        for chunk in chunks:
            pending.append((chunk, pool.submit(prepare, chunk[0], first_line=chunk[1])))
            if len(pending) >= 2 * jobs:
                done, future = pending.popleft()
                yield done, future.result()
        while pending:
            done, future = pending.popleft()
            yield done, future.result()
