"""Every background job, by name (`jobs.work.JOBS`): what it does, when it runs (a cron in UTC for periodic
jobs), how it is retried, and which lock keeps two of its kind from running at once. `register` puts them
on the engine, each wrapped so that its runs, progress and errors go to the job log (`store.jobs`).

Periodic jobs tick often and do their work only when it is due and not done yet (a day's harvest, a
day's digest): a tick missed while no worker ran is made up by the next one, and the engine runs each
tick once across all workers.
"""

from __future__ import annotations

import procrastinate
from croniter import croniter

from dailypapers.config import Settings
from dailypapers.jobs.runtime import Context, Job, logged
from dailypapers.jobs.work import JOBS


def jobs() -> tuple[Job, ...]:
    return JOBS


def job(name: str) -> Job:
    """The job called `name`; ValueError lists the names."""
    for j in JOBS:
        if j.name == name:
            return j
    raise ValueError(f"no job named {name!r}; the jobs are {', '.join(j.name for j in JOBS)}")


def schedules(settings: Settings) -> dict[str, str]:
    """Each periodic job's cron: its own, or the one DAILYPAPERS_JOB_SCHEDULES gives it. ValueError names
    an unknown job or a cron that does not parse."""
    crons = {j.name: j.cron for j in JOBS if j.cron}
    for part in filter(None, (p.strip() for p in settings.job_schedules.split(";"))):
        name, _, cron = part.partition("=")
        name, cron = name.strip(), cron.strip()
        if name not in crons:
            raise ValueError(f"DAILYPAPERS_JOB_SCHEDULES: {name!r} is not a periodic job ({', '.join(crons)})")
        if not croniter.is_valid(cron):
            raise ValueError(f"DAILYPAPERS_JOB_SCHEDULES: {cron!r} (for {name}) is not a cron expression")
        crons[name] = cron
    return crons


def _retry(j: Job, settings: Settings) -> procrastinate.RetryStrategy | bool:
    if not j.retries:
        return False
    base = int(settings.job_retry_seconds)
    return procrastinate.RetryStrategy(max_attempts=j.retries, wait=base, linear_wait=base)


def register(app: procrastinate.App, ctx: Context, *, periodic: bool = True) -> None:
    """Register every job on `app`, and its schedule when it is periodic and enabled by the settings (and
    `periodic` is True: a process that only defers and lists jobs needs none)."""
    ctx.app = app
    crons = schedules(ctx.settings)
    for j in JOBS:
        task = app.task(name=j.name, pass_context=True, retry=_retry(j, ctx.settings), lock=j.lock)(logged(j, ctx))
        if periodic and j.name in crons and j.enabled(ctx.settings):
            app.periodic(cron=crons[j.name], periodic_id=j.name)(task)
