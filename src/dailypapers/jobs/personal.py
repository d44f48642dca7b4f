"""The personal layer's background work (docs/personal.md): imported libraries' entries embedded, the
site's idf for the "for you" word models recounted daily, and readers' models retrained when their
signals change."""

from __future__ import annotations

from dailypapers.jobs.runtime import Context, Job, Progress

TRAIN_PER_TICK = 200  # readers retrained a minute at most: at about 0.1 s each, the job takes under a minute
REMATCH_PER_TICK = 20_000  # imported entries looked up again a minute (two indexed queries per 500)
_rematch_after = 0  # where this process's pass over unmatched entries is: each tick goes on from there


def reader_profiles(ctx: Context, progress: Progress, timestamp: int | None = None) -> None:
    """Match imported entries to papers that arrived since (by arXiv id or DOI), embed those that still
    match none, recount the idf when a day old, then retrain the readers whose signals changed, the
    longest waiting first."""
    global _rematch_after
    from dailypapers.personal import for_you, library
    from dailypapers.search.embedder import EmbedderError

    notes = []
    matched, _rematch_after = library.rematch(ctx.engine, _rematch_after, REMATCH_PER_TICK)
    if matched:
        notes.append(f"{matched} library entries matched to papers that arrived since")
    if not ctx.embedder_problem:
        try:
            embedded = library.embed_pending(ctx.engine, ctx.settings)
        except EmbedderError as exc:
            ctx.embedder_problem = str(exc)
            embedded = 0
        if embedded:
            notes.append(f"{embedded} library entries embedded")
    counted = for_you.refresh_frequencies(ctx.engine)
    if counted:
        notes.append(f"idf counted over {counted} papers")
    trained = for_you.train_stale(ctx.engine, ctx.settings, TRAIN_PER_TICK)
    notes.append(f"{trained} readers retrained")
    progress.note("; ".join(notes))


JOBS = (
    Job(
        "reader-profiles",
        'readers\' "for you" models retrained when their signals change; library entries embedded',
        reader_profiles,
        cron="* * * * *",
        lock="reader-profiles",
    ),
)
