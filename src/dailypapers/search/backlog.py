"""The embedding backlog: the papers that need an embedding, new ones, changed ones (their content hash
moved), or all (`force`). The `embed-backlog` job and `dailypapers embed` work it off.

Work is claimed a chunk at a time (store.vectors.claim), so several processes (job workers, the
`dailypapers embed` command) do not embed the same papers. A claim is its owner's until CLAIM_TTL has
passed; a job retried after its worker died owns its claims again (the owner names the job), so it
takes its papers back at once. Writes are idempotent besides: a paper embedded twice just gets the
same vector again.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from dailypapers import telemetry
from dailypapers.search.embedder import Embedder, paper_text
from dailypapers.store import vectors
from dailypapers.store.db import read_tx, write_tx

if TYPE_CHECKING:
    from sqlalchemy import Engine

log = logging.getLogger(__name__)

CLAIM_TTL = dt.timedelta(minutes=10)


@dataclass
class EmbedReport:
    embedded: int = 0
    seconds: float = 0.0

    @property
    def rate(self) -> float:
        """Papers per second over the whole run."""
        return self.embedded / self.seconds if self.seconds > 0 else 0.0


def owner_id() -> str:
    """Who holds a claim: this host and process, and a random part for runs in the same process."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def embed_pending(
    engine: Engine,
    embedder: Embedder,
    *,
    after: int = 0,
    limit: int | None = None,
    chunk: int = 256,
    force: bool = False,
    progress: Callable[[int], None] | None = None,
    owner: str | None = None,
) -> EmbedReport:
    """Embed papers past pk `after` that have no up-to-date vector by `embedder` (every one with `force`),
    at most `limit`, `chunk` per claim and transaction, claiming them as `owner` (by default this process
    and run). `progress` is called with each chunk's count."""
    owner = owner or owner_id()
    report = EmbedReport()
    start = time.perf_counter()
    cursor = after
    while limit is None or report.embedded < limit:
        want = chunk if limit is None else min(chunk, limit - report.embedded)
        now = dt.datetime.now(dt.UTC)
        with read_tx(engine) as conn:
            todo = vectors.stale_papers(
                conn, embedder.name, after=cursor, limit=want, now=now, ttl=CLAIM_TTL, force=force, owner=owner
            )
        if not todo:
            break
        cursor = todo[-1].pk
        with write_tx(engine) as conn:
            fresh_only = None if force else embedder.name
            got = set(vectors.claim(conn, [p.pk for p in todo], owner, now, CLAIM_TTL, fresh_only))
        todo = [p for p in todo if p.pk in got]
        if not todo:
            continue
        try:
            matrix = embedder.encode([paper_text(p.title, p.abstract) for p in todo])
            with write_tx(engine) as conn:
                written = vectors.write(conn, embedder.name, [(p.pk, p.text_hash) for p in todo], matrix, owner)
        except BaseException:
            with write_tx(engine) as conn:
                vectors.release(conn, [p.pk for p in todo], owner)
            raise
        report.embedded += written
        telemetry.EMBEDDED.inc(written)
        if progress:
            progress(len(todo))
    report.seconds = time.perf_counter() - start
    return report
