"""What `/metrics` reads from the database when it is scraped (web/metrics.py), so that every web process
reports the same values: the job queue (procrastinate's tables, PostgreSQL), and the totals of papers,
embeddings and digest deliveries. Small queries: the queue holds only waiting, running and failed jobs
(successful ones are deleted), and the totals are read at most once a minute per process."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import Connection, text

from dailypapers.store.convert import aware

# procrastinate's statuses, as the metrics name them.
QUEUE_STATUSES = {"todo": "queued", "doing": "running", "failed": "failed"}


@dataclass(frozen=True)
class QueueStats:
    """The job queue now: jobs by (job name, status: queued, running, failed), since when the longest-waiting
    queued job could have run (None: none waits), and workers alive (None: not known, the embedded mode)."""

    counts: dict[tuple[str, str], int] = field(default_factory=dict)
    oldest_due: dt.datetime | None = None
    workers: int | None = None


@dataclass(frozen=True)
class Totals:
    papers: int
    embeddings: dict[str, int]  # by model
    digests: dict[str, int]  # delivery ledger rows by status: sending, sent, failed


def queue_stats(conn: Connection, now: dt.datetime, stalled: dt.timedelta) -> QueueStats:
    """PostgreSQL: the shared queue in procrastinate's tables (raises if they are not there yet)."""
    rows = conn.execute(
        text(
            "SELECT task_name, status::text AS status, count(*) AS n FROM procrastinate_jobs "
            "WHERE status IN ('todo', 'doing', 'failed') GROUP BY task_name, status"
        )
    )
    counts = {(r.task_name, QUEUE_STATUSES[r.status]): int(r.n) for r in rows}
    # A queued job is due from its scheduled time (a retry's, a later start's) or else from when it was queued.
    oldest = conn.execute(
        text(
            "SELECT min(coalesce(j.scheduled_at, "
            "(SELECT min(e.at) FROM procrastinate_events e WHERE e.job_id = j.id))) "
            "FROM procrastinate_jobs j WHERE j.status = 'todo' AND (j.scheduled_at IS NULL OR j.scheduled_at <= :now)"
        ),
        {"now": now},
    ).scalar()
    workers = conn.execute(
        text("SELECT count(*) FROM procrastinate_workers WHERE last_heartbeat >= :since"), {"since": now - stalled}
    ).scalar_one()
    return QueueStats(counts, aware(oldest), int(workers))


def totals(conn: Connection) -> Totals:
    papers = conn.execute(text("SELECT count(*) FROM papers")).scalar_one()
    embeddings = conn.execute(text("SELECT model, count(*) AS n FROM paper_embeddings GROUP BY model"))
    digests = conn.execute(text("SELECT status, count(*) AS n FROM digest_deliveries GROUP BY status"))
    return Totals(int(papers), {r.model: int(r.n) for r in embeddings}, {r.status: int(r.n) for r in digests})
