"""The job engine's own upkeep: old history forgotten, and the jobs of workers that died run again."""

from __future__ import annotations

import asyncio
import datetime as dt

from dailypapers.jobs.runtime import Context, Job, Progress

HOUSEKEEPING_DAYS = 30  # job log entries, import checkpoints and failed jobs are kept this long


async def housekeeping(ctx: Context, progress: Progress, timestamp: int | None = None) -> None:
    """Forget expired sessions, import checkpoints and job history older than HOUSEKEEPING_DAYS."""
    from dailypapers.store import accounts, bookkeeping
    from dailypapers.store import jobs as job_log
    from dailypapers.store.db import write_tx

    before = dt.datetime.now(dt.UTC) - dt.timedelta(days=HOUSEKEEPING_DAYS)

    def clean() -> str:
        with write_tx(ctx.engine) as conn:
            sessions = accounts.delete_expired_sessions(conn)
            checkpoints = bookkeeping.delete_checkpoints_before(conn, before)
            runs = job_log.delete_finished_before(conn, before)
        return f"{sessions} expired sessions, {checkpoints} stale import checkpoints, {runs} old job runs"

    done = await asyncio.to_thread(clean)
    assert ctx.app is not None
    await ctx.app.job_manager.delete_old_jobs(
        nb_hours=HOUSEKEEPING_DAYS * 24, include_failed=True, include_cancelled=True, include_aborted=True
    )
    progress.note(f"removed {done}")


async def retry_stalled(ctx: Context, progress: Progress, timestamp: int | None = None) -> None:
    """Jobs whose worker stopped sending heartbeats (killed, lost) run again on a live worker."""
    from dailypapers.store import jobs as job_log
    from dailypapers.store.db import write_tx

    assert ctx.app is not None
    seconds = ctx.settings.job_stalled_seconds
    stalled = list(await ctx.app.job_manager.get_stalled_jobs(seconds_since_heartbeat=seconds))

    def interrupted() -> None:
        with write_tx(ctx.engine) as conn:
            job_log.interrupt_runs(conn, [j.id for j in stalled if j.id])

    if stalled:
        await asyncio.to_thread(interrupted)
    for job in stalled:
        await ctx.app.job_manager.retry_job(job)
    retried = "".join(f", {j.task_name} #{j.id}" for j in stalled)
    progress.note(f"{len(stalled)} stalled jobs retried{retried}")


JOBS = (
    Job("housekeeping", "forget expired sessions, stale checkpoints, old job history", housekeeping, cron="17 3 * * *"),
    Job("retry-stalled", "run again the jobs of workers that died", retry_stalled, cron="* * * * *"),
)
