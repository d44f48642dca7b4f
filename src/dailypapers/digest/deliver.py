"""Deliver a period's digests exactly once per subscriber.

Active subscribers are read in pages by primary key, each page with its ledger rows and the papers
of the period they already got, so memory stays flat however many there are. Digests are claimed in
the ledger ('sending', CLAIM per transaction) before any of them goes out. Composing is the CPU-heavy
part: large runs compose in worker processes while this process talks SMTP over a few reused
connections; small runs compose here and send over one, in subscriber order. An accepted digest is
marked 'sent' with its papers in a transaction per GROUP digests, or sooner once the oldest has
waited FLUSH_S, so a crash resends at most about a group's worth (under the same Message-ID, which
lets mail systems spot the duplicate). Temporary failures (4xx, a cut connection)
are retried with backoff and, if they persist, left 'failed' for the next run; a permanent 5xx
marks the address bounced so it is never mailed again.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from email.utils import make_msgid
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

from dailypapers import telemetry
from dailypapers.config import Settings
from dailypapers.digest.compose import DigestPaper, choose, frequency_of, ledger_key, period_papers
from dailypapers.digest.personal import PersonalDigests
from dailypapers.digest.sending import Mailer, Outgoing, PermanentFailure, ServerUnavailable, TemporaryFailure, prepare
from dailypapers.periods import Period
from dailypapers.ranking.score import TrendingParams
from dailypapers.store import subscribers
from dailypapers.store.db import read_tx, write_tx
from dailypapers.store.subscribers import Subscriber

if TYPE_CHECKING:
    from sqlalchemy import Engine

log = logging.getLogger(__name__)
Sleep = Callable[[float], Awaitable[None]]
T = TypeVar("T")

PAGE = 500  # subscribers read per query
CLAIM = 100  # digests claimed per transaction, before any of them is sent
GROUP = 20  # sent digests marked 'sent' per transaction: at most this many...
FLUSH_S = 0.2  # ...and none waits longer than this for its mark
QUEUE = 32  # digests composed (or being composed) ahead of the SMTP connections
LARGE = 200  # runs for at least this many subscribers compose in worker processes...
CONNECTIONS = 3  # ...and send over this many SMTP connections (by default)


@dataclass
class Report:
    """What one run did, by subscriber email."""

    sent: list[str] = field(default_factory=list)
    already_sent: list[str] = field(default_factory=list)
    nothing_new: list[str] = field(default_factory=list)
    bounced: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


@dataclass
class Options:
    """Retry and pacing: `retries` more tries after a temporary failure, waiting backoff * 2**n seconds.

    `connections`: SMTP connections used at once; above 1, digests go out in no particular order.
    `processes`: worker processes composing digests, 0 to compose in this process.
    None (the default) for either: CONNECTIONS and one process per usable CPU (none on a single CPU)
    for runs of LARGE subscribers or more; one connection and no worker processes for smaller ones.
    """

    retries: int = 3
    backoff: float = 2.0
    rate: float = 0.0  # messages per second; 0 means as fast as the server takes them
    sleep: Sleep = asyncio.sleep
    connections: int | None = None
    processes: int | None = None


_worker: tuple[Settings, Period, dict[int, DigestPaper]] | None = None


def _init_worker(settings: Settings, period: Period, papers: list[DigestPaper]) -> None:
    global _worker
    _worker = (settings, period, {p.pk: p for p in papers})


def _prepare_in_worker(sub: Subscriber, paper_pks: list[int], message_id: str) -> Outgoing:
    assert _worker is not None
    settings, period, by_pk = _worker
    return prepare(settings, sub, period, [by_pk[pk] for pk in paper_pks], message_id)


def _prepare_own_in_worker(sub: Subscriber, papers: list[DigestPaper], message_id: str) -> Outgoing:
    """A digest of papers of its own ("for you"), sent along rather than looked up."""
    assert _worker is not None
    settings, period, _ = _worker
    return prepare(settings, sub, period, papers, message_id)


class _Composer:
    """Composes digests in this process, or in `processes` worker processes (started on first use)."""

    def __init__(self, settings: Settings, period: Period, papers: list[DigestPaper], processes: int) -> None:
        self.settings, self.period, self.papers = settings, period, papers
        self.processes = processes if settings.smtp_url else 0  # the outbox wants the message, not bytes
        self.pool: ProcessPoolExecutor | None = None

    def submit(self, sub: Subscriber, papers: list[DigestPaper], message_id: str) -> asyncio.Future[Outgoing]:
        loop = asyncio.get_running_loop()
        if self.pool is None and self.processes > 0:
            self.pool = ProcessPoolExecutor(
                self.processes,
                mp_context=multiprocessing.get_context("spawn"),  # never fork a process with threads
                initializer=_init_worker,
                initargs=(self.settings, self.period, self.papers),
            )
        if self.pool is not None:
            if sub.for_you:
                return loop.run_in_executor(self.pool, _prepare_own_in_worker, sub, papers, message_id)
            return loop.run_in_executor(self.pool, _prepare_in_worker, sub, [p.pk for p in papers], message_id)
        future: asyncio.Future[Outgoing] = loop.create_future()
        try:
            future.set_result(prepare(self.settings, sub, self.period, papers, message_id))
        except PermanentFailure as exc:  # an address no digest may go to: the consumer records it bounced
            future.set_exception(exc)
        return future

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)


class _Ledger:
    """Outcomes waiting for their ledger transaction: flushed by GROUP, or once the oldest has waited FLUSH_S."""

    def __init__(self, engine: Engine, period: str) -> None:
        self.engine, self.period = engine, period
        self.sent: list[tuple[int, str, list[int]]] = []
        self.failed: list[tuple[int, str, bool]] = []  # (pk, error, bounced)
        self.deadline = 0.0

    def add_sent(self, pk: int, message_id: str, paper_pks: list[int]) -> None:
        self._added()
        self.sent.append((pk, message_id, paper_pks))
        telemetry.DIGESTS.labels("sent").inc()

    def add_failed(self, pk: int, error: str, bounced: bool) -> None:
        self._added()
        self.failed.append((pk, error, bounced))
        telemetry.DIGESTS.labels("bounced" if bounced else "failed").inc()

    def _added(self) -> None:
        if not self.sent and not self.failed:
            self.deadline = time.monotonic() + FLUSH_S

    def due(self) -> bool:
        pending = len(self.sent) + len(self.failed)
        return pending >= GROUP or (pending > 0 and time.monotonic() >= self.deadline)

    def flush(self) -> None:
        if not self.sent and not self.failed:
            return
        with write_tx(self.engine) as conn:
            subscribers.mark_sent_many(conn, self.period, self.sent)
            for pk, error, bounced in self.failed:
                subscribers.mark_failed(conn, pk, self.period, error)
                if bounced:
                    subscribers.mark_bounced(conn, pk)
        self.sent, self.failed = [], []

    async def wait(self, awaitable: Awaitable[T]) -> T:
        """Await `awaitable`, flushing when that outlasts the oldest pending outcome's FLUSH_S."""
        if not self.sent and not self.failed:
            return await awaitable
        task = asyncio.ensure_future(awaitable)
        done, _ = await asyncio.wait([task], timeout=max(0.0, self.deadline - time.monotonic()))
        if not done:
            self.flush()
        return await task


@dataclass
class _Job:
    sub: Subscriber
    papers: list[DigestPaper]
    message_id: str
    outgoing: asyncio.Future[Outgoing]


async def _produce(
    engine: Engine,
    period: Period,
    papers: list[DigestPaper],
    domain: str,
    report: Report,
    composer: _Composer,
    queue: asyncio.Queue[_Job | None],
    consumers: int,
    personal: PersonalDigests,
) -> None:
    """Page through the subscribers; claim, compose and queue each digest to send."""
    after, paper_pks = 0, [p.pk for p in papers]
    while True:
        with read_tx(engine) as conn:
            page = subscribers.active_page(conn, frequency_of(period), after, PAGE)
            pks = [s.pk for s in page]
            statuses = subscribers.delivery_statuses(conn, pks, ledger_key(period))
            received = subscribers.received_among(conn, pks, paper_pks)
        if not page:
            break
        after = page[-1].pk
        todo = []
        for sub in page:
            if statuses.get(sub.pk) == "sent":
                report.already_sent.append(sub.email)
            elif sub.for_you and sub.user_pk is not None:
                if own := await asyncio.to_thread(personal.choose, sub):
                    todo.append((sub, own))
                else:
                    report.nothing_new.append(sub.email)
            elif chosen := choose(sub, papers, received.get(sub.pk, ())):
                todo.append((sub, chosen))
            else:
                report.nothing_new.append(sub.email)
        for start in range(0, len(todo), CLAIM):
            group = todo[start : start + CLAIM]
            with write_tx(engine) as conn:
                fresh = {sub.pk: make_msgid(domain=domain) for sub, _ in group}
                claimed = subscribers.claim_deliveries(conn, ledger_key(period), fresh)
            for sub, chosen in group:
                if sub.pk not in claimed:  # sent meanwhile, by another run
                    report.already_sent.append(sub.email)
                    continue
                message_id = claimed[sub.pk]
                await queue.put(_Job(sub, chosen, message_id, composer.submit(sub, chosen, message_id)))
    for _ in range(consumers):
        await queue.put(None)


class _Pacer:
    """Spaces sends `1 / rate` seconds apart across all connections."""

    def __init__(self, options: Options) -> None:
        self.interval = 1 / options.rate if options.rate > 0 else 0.0
        self.sleep = options.sleep
        self.next = 0.0

    async def wait(self, ledger: _Ledger) -> None:
        if not self.interval:
            return
        now = time.monotonic()
        delay, self.next = self.next - now, max(now, self.next) + self.interval
        if delay > 0:
            await ledger.wait(self.sleep(delay))


async def _consume(
    queue: asyncio.Queue[_Job | None],
    mailer: Mailer,
    ledger: _Ledger,
    pacer: _Pacer,
    options: Options,
    report: Report,
) -> None:
    """Send queued digests over one connection, retrying temporary failures, and record each outcome."""
    while (job := await ledger.wait(queue.get())) is not None:
        email = job.sub.email
        try:
            out = await ledger.wait(job.outgoing)
        except PermanentFailure as exc:
            log.warning("digest to subscriber %s not sent: %s", job.sub.pk, exc)
            ledger.add_failed(job.sub.pk, str(exc), bounced=True)
            report.bounced.append(email)
            if ledger.due():
                ledger.flush()
            continue
        for attempt in range(options.retries + 1):
            await pacer.wait(ledger)
            try:
                await mailer.send(out)
            except ServerUnavailable:
                raise  # every other digest would fail the same way: stop the run
            except TemporaryFailure as exc:
                log.warning("digest to subscriber %s: %s (try %d)", job.sub.pk, exc, attempt + 1)
                if attempt < options.retries:
                    await ledger.wait(options.sleep(options.backoff * 2**attempt))
                    continue
                ledger.add_failed(job.sub.pk, str(exc), bounced=False)
                report.failed.append(email)
            except PermanentFailure as exc:
                ledger.add_failed(job.sub.pk, str(exc), bounced=True)
                report.bounced.append(email)
            else:
                ledger.add_sent(job.sub.pk, job.message_id, [p.pk for p in job.papers])
                report.sent.append(email)
            break
        if ledger.due():
            ledger.flush()


async def _all(*awaitables: Awaitable[Any]) -> None:
    """Run them together; the first failure cancels the rest and is raised."""
    tasks = [asyncio.ensure_future(a) for a in awaitables]
    try:
        await asyncio.gather(*tasks)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def deliver(engine: Engine, settings: Settings, period: Period, options: Options | None = None) -> Report:
    """Send `period`'s digest to every active subscriber of its frequency who has not had it yet.

    Raises ServerUnavailable when the mail server cannot be reached (what was sent is recorded)."""
    options = options or Options()
    report = Report()
    with read_tx(engine) as conn:
        papers = period_papers(conn, period, TrendingParams.from_settings(settings))
        large = subscribers.count_active(conn, frequency_of(period)) >= LARGE
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    processes = options.processes if options.processes is not None else cpus if large and cpus > 1 else 0
    connections = options.connections or (CONNECTIONS if large else 1)
    domain = urlsplit(settings.base_url).hostname or "localhost"
    composer = _Composer(settings, period, papers, processes)
    ledger = _Ledger(engine, ledger_key(period))
    pacer = _Pacer(options)
    mailers = [Mailer(settings) for _ in range(connections)]
    queue: asyncio.Queue[_Job | None] = asyncio.Queue(QUEUE)
    try:
        await _all(
            _produce(
                engine,
                period,
                papers,
                domain,
                report,
                composer,
                queue,
                len(mailers),
                PersonalDigests(engine, settings, period),
            ),
            *(_consume(queue, mailer, ledger, pacer, options, report) for mailer in mailers),
        )
    finally:
        try:
            ledger.flush()  # what the server accepted is recorded even when the run stops early
        except Exception:
            log.exception("digest ledger: could not record %d outcomes", len(ledger.sent) + len(ledger.failed))
        for mailer in mailers:
            await mailer.close()
        composer.close()
    return report
