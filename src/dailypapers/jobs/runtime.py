"""What a job is (`Job`), what it runs with (`Context`, `Progress`), and the wrapper that records each
run, its progress and its error in the job log (`store.jobs`)."""

from __future__ import annotations

import asyncio
import inspect
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson
import procrastinate

from dailypapers import logs, telemetry
from dailypapers.config import Settings
from dailypapers.store import jobs as job_log
from dailypapers.store.db import write_tx

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from dailypapers.search.embedder import Embedder


def worker_name() -> str:
    return f"{socket.gethostname()[:60]}:{os.getpid()}"


@dataclass
class Context:
    """What jobs work with: the store, the settings, and in the embedded mode the server's page cache."""

    engine: Engine
    settings: Settings
    on_change: Callable[[], None] | None = None
    app: procrastinate.App | None = None
    embedder: Embedder | None = None
    embedder_problem: str | None = None

    def changed(self) -> None:
        """What pages show changed (this process's page cache looks again at once)."""
        if self.on_change:
            self.on_change()


class Progress:
    """A run's progress in the job log, written at most once a second."""

    def __init__(self, engine: Engine, pk: int, job_id: int) -> None:
        self.engine, self.pk, self.job_id = engine, pk, job_id
        self.done, self.total, self.text = 0, None, ""
        self._written = 0.0
        self.began = time.monotonic()

    def __call__(self, done: int, total: int | None = None, note: str | None = None) -> None:
        self.done, self.total = done, total if total is not None else self.total
        self.text = note if note is not None else self.text
        if time.monotonic() - self._written >= 1.0:
            self.flush()

    def advance(self, n: int) -> None:
        self(self.done + n)

    def note(self, text: str) -> None:
        self(self.done, note=text)

    def flush(self) -> None:
        self._written = time.monotonic()
        with write_tx(self.engine) as conn:
            job_log.report_progress(conn, self.pk, self.done, self.total, self.text)


@dataclass(frozen=True)
class Job:
    """One named job of the catalog."""

    name: str
    summary: str
    run: Callable[..., Any]  # (context, progress, **args); a coroutine function for the engine's own chores
    cron: str | None = None  # periodic: when it ticks (UTC); None: only when deferred
    enabled: Callable[[Settings], bool] = lambda settings: True
    retries: int = 0  # further attempts after a failure, waiting job_retry_seconds longer each time
    lock: str | None = None  # no two jobs holding the same lock run at once


def logged(j: Job, ctx: Context) -> Callable[..., Any]:
    """The task the engine runs: `j.run`, with its run recorded in the job log."""

    def start(job: procrastinate.jobs.Job, worker: str | None) -> Progress:
        args = orjson.dumps(job.task_kwargs, option=orjson.OPT_SORT_KEYS).decode()
        with write_tx(ctx.engine) as conn:
            pk = job_log.start_run(conn, job.id or 0, job.attempts, j.name, args, worker or worker_name())
        return Progress(ctx.engine, pk, job.id or 0)

    def finish(progress: Progress, error: BaseException | None) -> None:
        progress.flush()
        text = f"{type(error).__name__}: {error}"[:2000] if error else None
        with write_tx(ctx.engine) as conn:
            job_log.finish_run(conn, progress.pk, "failed" if error else "succeeded", text)
        telemetry.JOB_RUNS.labels(j.name, "failed" if error else "succeeded").inc()
        telemetry.JOB_SECONDS.labels(j.name).observe(time.monotonic() - progress.began)

    if inspect.iscoroutinefunction(j.run):

        async def run_async(context: procrastinate.JobContext, **args: Any) -> None:
            named = logs.JOB_RUN.set(f"{j.name}#{context.job.id}")  # the logs of this run name it
            try:
                progress = await asyncio.to_thread(start, context.job, context.worker_name)
                try:
                    await j.run(ctx, progress, **args)
                except Exception as exc:
                    await asyncio.to_thread(finish, progress, exc)
                    raise
                await asyncio.to_thread(finish, progress, None)
            finally:
                logs.JOB_RUN.reset(named)

        return run_async

    def run(context: procrastinate.JobContext, **args: Any) -> None:
        named = logs.JOB_RUN.set(f"{j.name}#{context.job.id}")  # the logs of this run (in its thread) name it
        try:
            progress = start(context.job, context.worker_name)
            try:
                j.run(ctx, progress, **args)
            except Exception as exc:
                finish(progress, exc)
                raise
            finish(progress, None)
        finally:
            logs.JOB_RUN.reset(named)

    return run
