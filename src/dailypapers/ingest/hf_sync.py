"""Following Hugging Face's Daily Papers: each day's picks (`/api/daily_papers?date=D`) stored as featured on
that day, with their submitter, organization, links, AI summary and keywords, thumbnail and media, and
Hugging Face's upvotes (kept apart from this site's own votes, on the listing).

Polite: at most one request a second, `Retry-After` honoured (PoliteClient), and conditional requests: a
day's ETag is kept, so a day that has not changed costs a 304 and no writes. Resumable and idempotent: a
day once synced and older than `settings.sync_hf_days` is not asked for again by a range sync, and
storing a day twice changes nothing (the importer's merge). A paper whose summary or authors are missing
from the list is completed from `/api/papers/{id}`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from dailypapers.config import Settings
from dailypapers.ingest.http import FetchError, PoliteClient, RateLimiter
from dailypapers.ingest.importer import ImportReport, ingest_items
from dailypapers.sources import hf_json
from dailypapers.sources.record import PaperRecord, SourceError
from dailypapers.store import bookkeeping, search_index
from dailypapers.store.db import read_tx, write_tx

if TYPE_CHECKING:
    from sqlalchemy import Engine

INTERVAL = 1.0  # seconds between requests to Hugging Face
_limiters: dict[str, RateLimiter] = {}
_limiters_lock = threading.Lock()


@dataclass
class HfReport(ImportReport):
    """An import report, plus what the sync asked for."""

    days: int = 0
    not_modified: int = 0  # days Hugging Face answered 304 for
    skipped: int = 0  # days synced before and too old to change, not asked for
    completed: int = 0  # papers filled in from /api/papers/{id}
    requests: int = 0


def _state_key(day: dt.date) -> str:
    return f"hf-daily:{day.isoformat()}"


def client_for(settings: Settings) -> PoliteClient:
    """A polite client for Hugging Face: one limiter per API URL in this process, one request a second."""
    with _limiters_lock:
        limiter = _limiters.setdefault(settings.hf_api_url, RateLimiter(INTERVAL))
    return PoliteClient(dataclasses.replace(settings, request_interval=INTERVAL), limiter=limiter)


def days_between(start: dt.date, end: dt.date) -> list[dt.date]:
    """Every day from `start` to `end`, both included; ValueError when they are the wrong way round."""
    if end < start:
        raise ValueError(f"--to {end.isoformat()} is before --from {start.isoformat()}")
    return [start + dt.timedelta(days=n) for n in range((end - start).days + 1)]


def sync_days(
    engine: Engine,
    settings: Settings,
    days: Iterable[dt.date],
    *,
    client: PoliteClient | None = None,
    today: dt.date | None = None,
    progress: Callable[[int], None] | None = None,
) -> HfReport:
    """Store Hugging Face's picks of each of `days`. Days synced before that are older than
    `settings.sync_hf_days` are skipped; others are asked for conditionally. Raises FetchError or
    SourceError when a day cannot be fetched or read: the days before it are stored (run it again)."""
    today = today or dt.datetime.now(dt.UTC).date()
    recent = today - dt.timedelta(days=settings.sync_hf_days)
    report = HfReport()
    http = client or client_for(settings)
    try:
        for day in days:
            report.days += 1
            with read_tx(engine) as conn:
                state = bookkeeping.load_harvest(conn, _state_key(day))
            if state and state[1] and day < recent:
                report.skipped += 1
            else:
                _sync_day(engine, settings, http, day, state[0] if state else "", report)
            if progress:
                progress(1)
    finally:
        report.requests = http.requests
        if client is None:
            http.close()
    return report


def _sync_day(
    engine: Engine, settings: Settings, http: PoliteClient, day: dt.date, etag: str, report: HfReport
) -> None:
    url = f"{settings.hf_api_url.rstrip('/')}/api/daily_papers"
    headers = {"If-None-Match": etag} if etag else None
    response = http.get(url, {"date": day.isoformat()}, ok=(200, 304), headers=headers)
    if response.status_code == 304:
        report.not_modified += 1
        return
    records, errors = hf_json.parse(response.content, where=str(response.request.url), day=day)
    for error in errors:
        report.reject(error)
    records = [_complete(http, settings, r, report) for r in records]
    ingest_items(engine, records, report)
    search_index.index_pending(engine)
    with write_tx(engine) as conn:
        bookkeeping.save_harvest(conn, _state_key(day), response.headers.get("ETag", ""), done=True)


def _complete(http: PoliteClient, settings: Settings, record: PaperRecord, report: HfReport) -> PaperRecord:
    """The record with its summary and authors from `/api/papers/{id}` when the list left them out."""
    if record.abstract and record.authors:
        return record
    url = f"{settings.hf_api_url.rstrip('/')}/api/papers/{record.id}"
    try:
        response = http.get(url)
        found, _ = hf_json.parse(response.content, where=url)
    except (FetchError, SourceError) as exc:
        report.errors.append(f"{record.id}: could not complete it ({exc})")
        return record
    if not found:
        return record
    full = found[0]
    report.completed += 1
    return dataclasses.replace(
        record, abstract=record.abstract or full.abstract, authors=record.authors or full.authors
    )
