"""Embedding the papers that need it: new ones, changed ones (their content hash moved), or all (`force`).

Work is claimed a chunk at a time (store.vectors.claim), so several processes (server workers, the
`dailypapers embed` command) do not embed the same papers; a claim left by a process that died expires
after CLAIM_TTL and the papers are taken by the next one. Writes are idempotent besides: a paper
embedded twice just gets the same vector again.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from dailypapers.config import Settings
from dailypapers.search.embedder import Embedder, EmbedderError, get_embedder, paper_text
from dailypapers.store import papers, vectors
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
    stop: threading.Event | None = None,
) -> EmbedReport:
    """Embed papers past pk `after` that have no up-to-date vector by `embedder` (every one with `force`),
    at most `limit`, `chunk` per claim and transaction. `progress` is called with each chunk's count."""
    owner = owner_id()
    report = EmbedReport()
    start = time.perf_counter()
    cursor = after
    while (limit is None or report.embedded < limit) and not (stop and stop.is_set()):
        want = chunk if limit is None else min(chunk, limit - report.embedded)
        now = dt.datetime.now(dt.UTC)
        with read_tx(engine) as conn:
            todo = vectors.stale_papers(
                conn, embedder.name, after=cursor, limit=want, now=now, ttl=CLAIM_TTL, force=force
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
                written = vectors.write(conn, embedder.name, [(p.pk, p.content_hash) for p in todo], matrix, owner)
        except BaseException:
            with write_tx(engine) as conn:
                vectors.release(conn, [p.pk for p in todo], owner)
            raise
        report.embedded += written
        if progress:
            progress(len(todo))
    report.seconds = time.perf_counter() - start
    return report


class EmbeddingWorker:
    """The server's background embedder: new papers within `interval` seconds of their arrival, and
    every paper whose content changed at the next full scan (at start, then every `full_scan_interval`).

    The model loads only when there is something to embed; after a chunk is written, the process's
    semantic indexes catch up and `on_embedded` (e.g. a page cache's invalidate) is called.
    """

    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        *,
        on_embedded: Callable[[int], None] | None = None,
        interval: float = 5.0,
        full_scan_interval: float = 600.0,
        embedder: Embedder | None = None,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.on_embedded = on_embedded
        self.interval = interval
        self.full_scan_interval = full_scan_interval
        self._embedder = embedder
        self.seen_pk = 0  # papers up to this pk have been looked at (new ones are past it)
        self.stop_event = threading.Event()
        self._thread: threading.Thread | None = None
        self.embedded = 0

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = get_embedder(self.settings)
        return self._embedder

    def run_once(self, *, full: bool) -> int:
        """One round: all papers (`full`) or only those past the last seen pk. Returns how many were embedded."""
        with read_tx(self.engine) as conn:
            top = papers.max_paper_pk(conn)
        if not full and top <= self.seen_pk:
            return 0
        report = embed_pending(
            self.engine,
            self.embedder,
            after=0 if full else self.seen_pk,
            chunk=max(16, self.settings.embed_batch_size),
            stop=self.stop_event,
            progress=self._embedded_chunk,
        )
        if not self.stop_event.is_set():
            self.seen_pk = max(self.seen_pk, top)
        return report.embedded

    def _embedded_chunk(self, count: int) -> None:
        self.embedded += count
        from dailypapers.search.semantic import catch_up_all

        catch_up_all(self.engine)
        if self.on_embedded:
            self.on_embedded(count)

    def _run(self) -> None:
        next_full = 0.0
        wait = 0.0
        while not self.stop_event.wait(wait):
            wait = self.interval
            try:
                full = time.monotonic() >= next_full
                if full:
                    next_full = time.monotonic() + self.full_scan_interval
                self.run_once(full=full)
            except EmbedderError as exc:  # no usable model: retrying will not help
                log.error("background embedding stopped: %s", exc)
                return
            except Exception:  # keep serving; the next round retries
                log.exception("embedding papers failed")

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, daemon=True, name="embed")
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop after the chunk being embedded (its claims expire if it outlives `timeout`)."""
        self.stop_event.set()
        if self._thread:
            self._thread.join(timeout)
