"""Small, frequent upkeep of the store: the cache-invalidation log is kept only minutes (store.invalidations)."""

from __future__ import annotations

from dailypapers.jobs.runtime import Context, Job, Progress


def purge_invalidations(ctx: Context, progress: Progress, timestamp: int | None = None) -> None:
    """Forget cache invalidations older than ten minutes (page caches read them within a second)."""
    from dailypapers.store import invalidations
    from dailypapers.store.db import write_tx

    with write_tx(ctx.engine) as conn:
        gone = invalidations.purge(conn)
    progress.note(f"{gone} old invalidations forgotten")


JOBS = (
    Job(
        "purge-invalidations",
        "forget page-cache invalidations older than ten minutes",
        purge_invalidations,
        cron="*/5 * * * *",
        lock="purge-invalidations",
    ),
)
