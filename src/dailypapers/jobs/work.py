"""What each background job does (the catalog's bodies): thin calls into the packages that own the work.

Each body takes the job context, a progress reporter and the job's arguments (a periodic job gets the
`timestamp` of its tick, in seconds since 1970, UTC).
"""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

from dailypapers import telemetry
from dailypapers.jobs import personal, upkeep
from dailypapers.jobs.runtime import Context, Job, Progress


def _when(timestamp: int | None) -> dt.datetime:
    return dt.datetime.fromtimestamp(timestamp, dt.UTC) if timestamp else dt.datetime.now(dt.UTC)


def keyword_index(ctx: Context, progress: Progress, timestamp: int | None = None) -> None:
    """SQLite: index papers written by other processes for keyword search (PostgreSQL indexes on write)."""
    from dailypapers.store import search_index

    if not ctx.settings.is_sqlite:
        progress.note("PostgreSQL indexes papers as they are written")
        return
    indexed = search_index.index_pending(ctx.engine, progress=progress.advance)
    if indexed:
        ctx.changed()
    progress.note(f"indexed {indexed} papers")


def embed_backlog(ctx: Context, progress: Progress, timestamp: int | None = None) -> None:
    """Embed the papers that have no up-to-date embedding (new or changed ones), a chunk at a time."""
    from dailypapers.search import semantic
    from dailypapers.search.backlog import embed_pending
    from dailypapers.search.embedder import EmbedderError, get_embedder
    from dailypapers.store import vectors
    from dailypapers.store.db import read_tx

    if ctx.embedder_problem:  # said once, as a failed run; no model appears by retrying
        progress.note(f"skipped: {ctx.embedder_problem}")
        return
    try:
        ctx.embedder = ctx.embedder or get_embedder(ctx.settings)
    except EmbedderError as exc:
        ctx.embedder_problem = str(exc)
        raise
    embedder = ctx.embedder
    with read_tx(ctx.engine) as conn:
        todo = vectors.count_stale(conn, embedder.name)
    progress(0, todo, f"{todo} papers to embed" if todo else "all papers are embedded")
    if not todo:
        return

    def chunk_done(count: int) -> None:
        progress.advance(count)
        if ctx.settings.is_sqlite:
            semantic.catch_up_all(ctx.engine)  # this process's index files (PostgreSQL has nothing to catch up)
        ctx.changed()

    chunk = max(16, ctx.settings.embed_batch_size)
    try:
        embed_pending(ctx.engine, embedder, chunk=chunk, progress=chunk_done, owner=f"job:{progress.job_id}")
    except EmbedderError as exc:
        ctx.embedder_problem = str(exc)
        raise


def harvest_rss(ctx: Context, progress: Progress, timestamp: int | None = None) -> None:
    """Once a day from DAILYPAPERS_FETCH_HOUR_UTC: the day's new arXiv listings of the categories."""
    from dailypapers.ingest.harvest import harvest_rss as harvest
    from dailypapers.store import bookkeeping
    from dailypapers.store.db import read_tx, write_tx

    settings = ctx.settings
    now = _when(timestamp)
    day = now.date().isoformat()
    if not settings.fetch_categories or now.hour < settings.fetch_hour_utc:
        progress.note("not due yet")
        return
    with read_tx(ctx.engine) as conn:
        if bookkeeping.period_done(conn, "harvest-rss", day):
            progress.note(f"{day}: done already")
            return
    report = harvest(ctx.engine, settings, list(settings.fetch_categories))
    telemetry.imported("harvest-rss", report.new, report.updated)
    note = f"{day}: {report.new} new, {report.featured} featured"
    if settings.auto_feature_top and report.announced:
        from dailypapers.curation.auto import NoHistory, pick_day

        try:
            picked = pick_day(ctx.engine, settings, report.announced)
            note += f", {picked.picked} picked for this community of {picked.candidates}"
        except NoHistory as exc:  # the harvest stands; nothing to pick with yet
            note += f", none picked: {exc}"
    with write_tx(ctx.engine) as conn:
        bookkeeping.mark_period_done(conn, "harvest-rss", day)
    ctx.changed()
    progress(report.new + report.updated + report.unchanged, note=note)


def curate_train(ctx: Context, progress: Progress, timestamp: int | None = None) -> None:
    """Once a day: fit the curation model again on the store's history, so it keeps learning."""
    from dailypapers.curation.auto import NoHistory, train_model

    try:
        report = train_model(ctx.engine, ctx.settings, today=_when(timestamp).date())
    except NoHistory as exc:
        progress.note(str(exc))
        return
    progress(
        report.papers,
        report.papers,
        note=f"{report.days} days ({report.first_day}..{report.last_day}), {report.positives} picked, "
        f"{report.picks} picks in the history; {report.seconds:.1f} s",
    )


def hf_sync(ctx: Context, progress: Progress, timestamp: int | None = None) -> None:
    """Hugging Face's picks (and their upvotes, which keep growing) of today and the last few days."""
    from dailypapers.ingest.hf_sync import days_between, sync_days

    today = _when(timestamp).date()
    days = days_between(today - dt.timedelta(days=ctx.settings.sync_hf_days), today)
    progress(0, len(days))
    report = sync_days(ctx.engine, ctx.settings, days, today=today, progress=progress.advance)
    telemetry.imported("hf-sync", report.new, report.updated)
    if report.new or report.updated or report.featured:
        ctx.changed()
    changed = f"{report.new} new, {report.updated} updated, {report.featured} listings changed"
    progress.note(f"{len(days)} days ({report.not_modified} unchanged): {changed}")


def github_stars(ctx: Context, progress: Progress, timestamp: int | None = None) -> None:
    """The stars of papers' GitHub repositories that are due (recent papers' often, old ones rarely), up to
    JOB_BATCH a run; stops early when GitHub's rate limit is spent, and goes on after its reset."""
    from dailypapers.ingest.github_stars import JOB_BATCH, sync_stars

    report = sync_stars(
        ctx.engine,
        ctx.settings,
        limit=JOB_BATCH,
        now=_when(timestamp) if timestamp else None,
        started=lambda total: progress(0, total),
        progress=progress.advance,
    )
    if report.papers:
        ctx.changed()
    asked = f"{report.repos} repositories ({report.not_modified} unchanged, {report.missing} missing)"
    note = f"{asked}, {report.linked} new: {report.papers} papers changed"
    progress.note(f"{note}; {report.note}" if report.note else note)


def media_cache(ctx: Context, progress: Progress, timestamp: int | None = None) -> None:
    """Papers' thumbnails and submitters' avatars not cached yet (or due again after a failure), fetched once
    into the data directory, up to JOB_BATCH a run; pages then show them from this site (docs/media.md)."""
    from dailypapers.ingest.media import JOB_BATCH, cache_media

    report = cache_media(
        ctx.engine,
        ctx.settings,
        limit=JOB_BATCH,
        now=_when(timestamp) if timestamp else None,
        started=lambda total: progress(0, total),
        progress=progress.advance,
    )
    if report.cached:
        ctx.changed()
    progress.note(f"{report.added} new URLs; {report.note}")


def describe(ctx: Context, progress: Progress, timestamp: int | None = None) -> None:
    """Papers' card lines (TL;DR and keywords) missing or stale, newest papers first: Hugging Face's
    `ai_summary`/`ai_keywords` where the paper has them, else computed offline with the embedding model
    and the papers' stored embeddings (docs/summaries.md)."""
    from dailypapers.search.describing import describe_pending
    from dailypapers.search.embedder import EmbedderError, get_embedder

    if ctx.embedder_problem:  # said once, by the embed job or a run of this one; no model appears by retrying
        progress.note(f"skipped: {ctx.embedder_problem}")
        return
    try:
        ctx.embedder = ctx.embedder or get_embedder(ctx.settings)
    except EmbedderError as exc:
        ctx.embedder_problem = str(exc)
        raise

    def chunk_done(count: int) -> None:
        progress.advance(count)
        ctx.changed()

    try:
        report = describe_pending(ctx.engine, ctx.embedder, progress=chunk_done)
    except EmbedderError as exc:
        ctx.embedder_problem = str(exc)
        raise
    progress.note(
        f"described {report.described} papers ({report.offline} offline) in {report.seconds:.1f} s"
        if report.described
        else "every paper is described"
    )


class DigestIncomplete(Exception):
    """Some digests of a period could not be delivered yet (the mail server failed); the job is retried."""


def send_digests(ctx: Context, progress: Progress, timestamp: int | None = None) -> None:
    """From DAILYPAPERS_DIGEST_HOUR (local time): the latest day's digest, and on Mondays the latest week's,
    to every subscriber who has not had it. Until every one went out the job fails and is retried."""
    from dailypapers.digest.compose import digest_period, ledger_key
    from dailypapers.digest.deliver import deliver
    from dailypapers.store import bookkeeping
    from dailypapers.store.db import read_tx, write_tx

    settings = ctx.settings
    local = _when(timestamp).astimezone(ZoneInfo(settings.digest_timezone))
    if local.hour < settings.digest_hour:
        progress.note("not due yet")
        return
    notes, unsent = [], []
    for frequency in ("daily", "weekly") if local.weekday() == 0 else ("daily",):
        period = digest_period(frequency, today=local.date())
        key = ledger_key(period)
        with read_tx(ctx.engine) as conn:
            if bookkeeping.period_done(conn, "digest", key):
                notes.append(f"{key}: done already")
                continue
        report = asyncio.run(deliver(ctx.engine, settings, period))
        notes.append(f"{key}: {len(report.sent)} sent, {len(report.failed)} failed, {len(report.bounced)} bounced")
        progress.advance(len(report.sent))
        if report.failed:
            unsent.append(f"{key}: {len(report.failed)} not delivered yet")
            continue
        with write_tx(ctx.engine) as conn:
            bookkeeping.mark_period_done(conn, "digest", key)
    progress.note("; ".join(notes))
    if unsent:
        raise DigestIncomplete("; ".join(unsent))


def account_mail(ctx: Context, progress: Progress, kind: str, account_pk: int, then: str = "") -> None:
    """One account mail (an activation or password-reset link, or a note), composed with a fresh link as it is
    sent; a mail server out of reach fails the run, which is retried."""
    from dailypapers.accounts.mailing import AccountMail, send

    progress.note(asyncio.run(send(ctx.engine, ctx.settings, AccountMail(kind, account_pk, then))))


def import_file(ctx: Context, progress: Progress, path: str, fmt: str | None = None) -> None:
    """Import one file (as `dailypapers import`), resuming where an interrupted run of it stopped."""
    from dailypapers.ingest.importer import import_file as run_import
    from dailypapers.store import search_index

    file = Path(path)
    progress(0, file.stat().st_size if file.is_file() else None, f"importing {file.name}")
    report = run_import(
        ctx.engine, file, fmt=fmt, progress=progress.advance, auto_feature_categories=ctx.settings.featured_on_arrival
    )
    telemetry.imported("import-file", report.new, report.updated)
    search_index.index_pending(ctx.engine)
    ctx.changed()
    progress.note(
        f"{report.new} new, {report.updated} updated, {report.unchanged} unchanged, {report.rejected} rejected"
    )


JOBS = (
    Job(
        "keyword-index",
        "SQLite: index papers other processes wrote for keyword search",
        keyword_index,
        cron="* * * * *",
        enabled=lambda s: s.is_sqlite,
        lock="keyword-index",
    ),
    Job(
        "embed-backlog",
        "embed new and changed papers for search by meaning",
        embed_backlog,
        cron="* * * * *",
        enabled=lambda s: s.embed_background,
        lock="embed",
    ),
    Job(
        "harvest-rss",
        "the day's arXiv listings of DAILYPAPERS_FETCH_CATEGORIES, from DAILYPAPERS_FETCH_HOUR_UTC",
        harvest_rss,
        cron="5 * * * *",
        enabled=lambda s: bool(s.fetch_categories),
        retries=3,
        lock="harvest",
    ),
    Job(
        "hf-sync",
        "Hugging Face's daily picks and upvotes of today and the last DAILYPAPERS_SYNC_HF_DAYS days",
        hf_sync,
        cron="20 * * * *",
        enabled=lambda s: s.sync_hf,
        retries=3,
        lock="hf-sync",
    ),
    Job(
        "curate-train",
        "the curation model, fitted again on the store's history (DAILYPAPERS_AUTO_FEATURE_TOP)",
        curate_train,
        cron="40 1 * * *",
        enabled=lambda s: s.auto_feature_top > 0,
        retries=1,
        lock="curate-train",
    ),
    Job(
        "github-stars",
        "the stars of papers' GitHub repositories (recent papers' every 6 hours, older ones daily or weekly)",
        github_stars,
        cron="*/15 * * * *",
        enabled=lambda s: s.sync_github,
        retries=3,
        lock="github-stars",
    ),
    Job(
        "media-cache",
        "papers' thumbnails and submitters' avatars, fetched once and served from this site (DAILYPAPERS_CACHE_MEDIA)",
        media_cache,
        cron="*/10 * * * *",
        enabled=lambda s: s.caches_media,
        lock="media-cache",
    ),
    Job(
        "describe",
        "papers' TL;DR and keywords for cards: Hugging Face's, or computed offline (docs/summaries.md)",
        describe,
        cron="* * * * *",
        lock="describe",
    ),
    Job(
        "send-digests",
        "the day's (and on Mondays the week's) email digests, from DAILYPAPERS_DIGEST_HOUR",
        send_digests,
        cron="*/15 * * * *",
        enabled=lambda s: s.digest_scheduler,
        retries=8,
        lock="digests",
    ),
    Job("account-mail", "an account's activation or password-reset link, or a note", account_mail, retries=6),
    Job(
        "import-file",
        "import one file (path, fmt): `dailypapers import --queue`",
        import_file,
        retries=3,
        lock="import",
    ),
    *upkeep.JOBS,
    *personal.JOBS,
)
