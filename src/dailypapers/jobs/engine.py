"""The job engine in one process: procrastinate's app for the configured database, opened on a private
event loop in a thread, optionally with a worker running jobs there.

On PostgreSQL the queue is procrastinate's tables in the site's database, shared by every process: web
processes defer and list jobs, `dailypapers worker` processes (any number, on any machines) run them.
On SQLite (the embedded mode) the queue lives in the server process (procrastinate's in-memory
connector) and that process runs the jobs itself; every job works from the database's state, so what a
restart drops is redone by the next run of its periodic job.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import threading
import time
import weakref
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import procrastinate
from procrastinate.testing import InMemoryConnector

from dailypapers.config import Settings
from dailypapers.jobs import catalog, runtime
from dailypapers.store.metrics import QUEUE_STATUSES, QueueStats

if TYPE_CHECKING:
    from sqlalchemy import Engine

log = logging.getLogger(__name__)
T = TypeVar("T")
_started: weakref.WeakSet[JobSystem] = weakref.WeakSet()  # this process's, for its metrics (local_queue_stats)


def conninfo(database_url: str) -> str:
    """libpq connection string for a SQLAlchemy PostgreSQL URL (`postgresql+psycopg://...`)."""
    scheme, rest = database_url.split("://", 1)
    return f"{scheme.split('+', 1)[0]}://{rest}"


class EmbeddedConnector(InMemoryConnector):
    """procrastinate's in-memory queue, which also forgets the events of the jobs it deletes: it serves an
    embedded server for months, ticking every minute."""

    async def finish_job_run(self, job_id: int, status: str, delete_job: bool) -> None:
        await super().finish_job_run(job_id, status, delete_job)
        if delete_job:
            self.events.pop(job_id, None)

    async def delete_old_jobs_run(self, nb_hours: int, queue: str, statuses: Iterable[str]) -> None:
        await super().delete_old_jobs_run(nb_hours, queue, statuses)
        for job_id in set(self.events) - set(self.jobs):
            del self.events[job_id]


def make_app(context: runtime.Context, *, periodic: bool = True) -> procrastinate.App:
    """The job engine's app for the context's database, with every job of the catalog registered (and the
    periodic ones scheduled, unless `periodic` is False)."""
    settings = context.settings
    if settings.is_sqlite:
        connector: Any = EmbeddedConnector()
    else:
        connector = procrastinate.PsycopgConnector(conninfo=conninfo(settings.database_url))
    app = procrastinate.App(connector=connector)
    catalog.register(app, context, periodic=periodic)
    return app


def worker_options(settings: Settings, *, in_thread: bool) -> dict[str, Any]:
    """How workers run: heartbeats for stalled-job detection, successful jobs deleted (the job log keeps
    their history), signal handlers only in a process of their own."""
    return {
        "concurrency": max(1, settings.job_concurrency),
        "update_heartbeat_interval": max(0.5, settings.job_stalled_seconds / 4),
        "stalled_worker_timeout": settings.job_stalled_seconds,
        "delete_jobs": "successful",
        # New jobs wake workers at once (LISTEN/NOTIFY); retries waiting for their time are polled for.
        "fetch_job_polling_interval": min(5.0, max(0.5, settings.job_retry_seconds)),
        "install_signal_handlers": not in_thread,
        "shutdown_graceful_timeout": 30,
        "name": runtime.worker_name(),
    }


@dataclass(frozen=True, slots=True)
class QueuedJob:
    """A job waiting in the queue, or one whose last attempt failed."""

    id: int
    name: str
    status: str
    attempts: int
    scheduled_at: dt.datetime | None
    args: dict[str, Any]


class JobSystem:
    """This process's handle on the job engine; with `worker`, it also runs jobs (the embedded mode).

    Every call is made on the engine's own event loop, so any thread may use it.
    """

    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        *,
        worker: bool,
        on_change: Callable[[], None] | None = None,
        periodic: bool = True,
    ) -> None:
        self.settings = settings
        self.context = runtime.Context(engine, settings, on_change)
        self.app = make_app(self.context, periodic=periodic and worker)
        self.worker = worker
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, daemon=True, name="jobs")
        self._ready = threading.Event()
        self._stopped: asyncio.Event | None = None
        self._failure: BaseException | None = None

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_until_complete(self._main())
        except BaseException as exc:  # reported by start() if it happens while starting
            self._failure = exc
            self._ready.set()
            log.exception("the job engine stopped")

    async def _main(self) -> None:
        self._stopped = asyncio.Event()
        async with self.app.open_async():
            worker = None
            if self.worker:
                options = worker_options(self.settings, in_thread=True)
                worker = asyncio.create_task(self.app.run_worker_async(**options), name="worker")
            self._ready.set()
            await self._stopped.wait()
            if worker is not None:
                worker.cancel()  # procrastinate stops taking jobs and waits for the running ones
                await asyncio.gather(worker, return_exceptions=True)

    def start(self) -> JobSystem:
        self._thread.start()
        self._ready.wait(30)
        if self._failure is not None:
            raise RuntimeError(f"the job engine could not start: {self._failure}") from self._failure
        _started.add(self)
        return self

    def stop(self, timeout: float = 40.0) -> None:
        _started.discard(self)
        if self._thread.is_alive() and self._stopped is not None:
            self._loop.call_soon_threadsafe(self._stopped.set)
            self._thread.join(timeout)

    def call(self, make: Callable[[], Awaitable[T]], timeout: float = 30.0) -> T:
        """Run `make()` on the engine's loop and wait for its result."""

        async def run() -> T:
            return await make()

        return asyncio.run_coroutine_threadsafe(run(), self._loop).result(timeout)

    # What the admin page and `dailypapers jobs` ask for.

    def defer(self, name: str, **args: Any) -> int:
        """Queue the job `name` now (a periodic one as if its time had come); returns its id."""
        job = catalog.job(name)
        kwargs = {**({"timestamp": int(dt.datetime.now(dt.UTC).timestamp())} if job.cron else {}), **args}
        return self.call(lambda: self.app.configure_task(job.name, allow_unknown=False).defer_async(**kwargs))

    def jobs(self, status: str) -> list[QueuedJob]:
        """The queue's jobs of one status: todo, doing or failed."""
        found = self.call(lambda: self.app.job_manager.list_jobs_async(status=status))
        return [
            QueuedJob(j.id or 0, j.task_name, j.status or status, j.attempts, j.scheduled_at, dict(j.task_kwargs))
            for j in sorted(found, key=lambda j: j.id or 0, reverse=True)
        ]

    def wait(self, job_id: int, timeout: float = 600.0, poll: float = 0.1) -> str:
        """Wait until job `job_id` has run: "succeeded", "failed", or "retrying" when it failed and a retry is
        scheduled (successful jobs leave the queue; the job log keeps their runs)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            todo = {q.id: q for q in self.jobs("todo")}
            if job_id in {q.id for q in self.jobs("failed")}:
                return "failed"
            if job_id in todo and todo[job_id].attempts:
                return "retrying"
            if job_id not in todo and job_id not in {q.id for q in self.jobs("doing")}:
                return "succeeded"
            time.sleep(poll)
        raise TimeoutError(f"job #{job_id} did not finish within {timeout:.0f} s")

    def retry(self, job_id: int) -> None:
        """Run a failed job again, now."""
        now = dt.datetime.now(dt.UTC)
        self.call(lambda: self.app.job_manager.retry_job_by_id_async(job_id, retry_at=now))

    def queue_stats(self) -> QueueStats | None:
        """The embedded mode's in-memory queue, for the metrics (None on PostgreSQL: the store reads the
        shared queue, store.metrics.queue_stats)."""
        connector = self.app.connector
        if not isinstance(connector, EmbeddedConnector) or not self._thread.is_alive():
            return None

        async def snapshot() -> QueueStats:  # on the engine's loop, where the queue changes
            counts: dict[tuple[str, str], int] = {}
            oldest: dt.datetime | None = None
            now = dt.datetime.now(dt.UTC)
            for job in connector.jobs.values():
                status = QUEUE_STATUSES.get(job["status"])
                if status is None:
                    continue
                key = (job["task_name"], status)
                counts[key] = counts.get(key, 0) + 1
                due = job["scheduled_at"] or next(
                    (e["at"] for e in connector.events.get(job["id"], ()) if e["type"] == "deferred"), None
                )
                if status == "queued" and due is not None and due <= now and (oldest is None or due < oldest):
                    oldest = due
            return QueueStats(counts, oldest)

        return self.call(snapshot, timeout=5.0)


def local_queue_stats() -> QueueStats | None:
    """The in-memory queues of this process's job engines (the embedded mode), merged; None without one."""
    found = [s for s in [system.queue_stats() for system in list(_started)] if s is not None]
    if not found:
        return None
    counts: dict[tuple[str, str], int] = {}
    for stats in found:
        for key, n in stats.counts.items():
            counts[key] = counts.get(key, 0) + n
    dues = [s.oldest_due for s in found if s.oldest_due is not None]
    return QueueStats(counts, min(dues) if dues else None)


async def run_worker(settings: Settings, engine: Engine) -> None:
    """`dailypapers worker`: run jobs until SIGINT or SIGTERM (the running ones finish first)."""
    app = make_app(runtime.Context(engine, settings))
    async with app.open_async():
        await app.run_worker_async(**worker_options(settings, in_thread=False))
