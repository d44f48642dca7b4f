"""The description backlog: papers whose card line (TL;DR and keywords) is missing or stale, described a
chunk at a time, newest papers first (docs/summaries.md). The `describe` job and `dailypapers describe`
work it off; `dailypapers demo` runs it after loading the demo.

Hugging Face's `ai_summary` and `ai_keywords` are copied as they are (no model needed); the other papers
are described offline by `summaries.describe_many`, reusing their stored embeddings. Writes are idempotent:
two processes describing the same paper store the same row twice.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from dailypapers.search.embedder import Embedder
from dailypapers.search.summaries import describe_many
from dailypapers.store import descriptions
from dailypapers.store.db import read_tx, write_tx

if TYPE_CHECKING:
    from sqlalchemy import Engine

CHUNK = 64  # papers a transaction: a few seconds of model time on a small CPU


@dataclass
class DescribeReport:
    described: int = 0
    offline: int = 0  # of those, how many needed the model (TL;DR or keywords of ours)
    seconds: float = 0.0

    @property
    def rate(self) -> float:
        """Papers per second over the whole run."""
        return self.described / self.seconds if self.seconds > 0 else 0.0


def describe_pending(
    engine: Engine,
    embedder: Embedder,
    *,
    limit: int | None = None,
    chunk: int = CHUNK,
    force: bool = False,
    progress: Callable[[int], None] | None = None,
) -> DescribeReport:
    """Describe the papers without a current description (every paper with `force`), newest first, at most
    `limit`, `chunk` per transaction. `progress` is called with each chunk's count."""
    report = DescribeReport()
    start = time.perf_counter()
    before: int | None = None
    while limit is None or report.described < limit:
        want = chunk if limit is None else min(chunk, limit - report.described)
        with read_tx(engine) as conn:
            todo = descriptions.pending(conn, embedder.name, embedder.dim, before=before, limit=want, force=force)
        if not todo:
            break
        before = todo[-1].pk
        found = describe_many(
            [(p.extra, p.title, p.abstract) for p in todo], embedder, doc_vectors=[p.vector for p in todo]
        )
        rows = [
            descriptions.NewDescription(p.pk, d.tldr, d.keywords, d.source, p.text_hash, p.hf_fields)
            for p, d in zip(todo, found, strict=True)
        ]
        with write_tx(engine) as conn:
            descriptions.save(conn, rows)
        report.described += len(rows)
        report.offline += sum("offline" in d.source for d in found)
        if progress:
            progress(len(rows))
    report.seconds = time.perf_counter() - start
    return report
