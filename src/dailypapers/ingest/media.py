"""Papers' thumbnails and submitters' avatars, fetched once and kept under `$DATA_DIR/media/` (docs/media.md), so
that pages show them from this site and never make readers' browsers ask Hugging Face's CDN.

`enqueue_missing` lists the thumbnails of featured papers and the avatars of users that have no row yet;
`fetch_due` fetches those that are due, a batch at a time (the `media-cache` job and `dailypapers fetch
media` run both).

Careful with what it asks and what it keeps:
- only http(s) URLs on `DAILYPAPERS_MEDIA_HOSTS` (Hugging Face's by default), each redirect hop checked
  again, at most MAX_REDIRECTS of them;
- never a loopback, private, link-local or otherwise non-public address (an SSRF guard), checked before
  each request and again when connecting (`GuardedTransport`, so a name that resolves differently the
  second time gains nothing), unless inside `DAILYPAPERS_MEDIA_PRIVATE_NETWORKS`;
- politely: at most `DAILYPAPERS_MEDIA_PER_SECOND` requests a second to one host, `Retry-After` honoured
  (a wait longer than MAX_WAIT postpones that host's URLs to a later run instead of holding the job);
- a body read up to `DAILYPAPERS_MEDIA_MAX_BYTES`, whatever Content-Length said (`too_big` past it);
- only PNG, JPEG, WebP and GIF, by the Content-Type header *and* the first bytes (`not_image` otherwise;
  SVG avatars are never fetched);
- a file named by the sha256 of its bytes (identical images are stored once), written to a temporary file
  and renamed into place, before its row says `ok`: a crash leaves no half-written file under a served
  name, only a `.part-*` file that the next run removes;
- failures tried again after 10 minutes, 40 minutes, 2.7 hours and 10.7 hours, then given up
  (`failed` with no next try).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from dailypapers.config import Settings
from dailypapers.ingest.http import FetchError, PoliteClient, TooLarge
from dailypapers.ingest.media_net import (
    MAX_WAIT,
    Clients,
    Refused,
    client_for,
    download,
)
from dailypapers.sources.images import (
    FORMATS,
    absolute_url,
    declared_type,
    file_name,
    host_allowed,
    is_svg,
    sniff,
)
from dailypapers.store import media as media_store
from dailypapers.store.db import bump_data_version, read_tx, write_tx

if TYPE_CHECKING:
    from sqlalchemy import Engine

JOB_BATCH = 300  # URLs one run of the `media-cache` job fetches at most (about 2.5 minutes at 2 a second)
BATCH = 50  # URLs read from the store at a time
MAX_ATTEMPTS = 5  # failed attempts before a URL is given up
RETRY_FIRST = dt.timedelta(minutes=10)  # the wait after a first failure; four times as long after each next one
RETRY_MAX = dt.timedelta(days=1)
PARTIAL_PREFIX = ".part-"
STALE_PARTIAL = 600.0  # seconds after which a `.part-*` file is a crashed run's leftover
SVG_ERROR = "SVG is not cached (it can carry scripts)"


@dataclass
class MediaReport:
    """What a run did."""

    added: int = 0  # URLs found without a row, added
    fetched: int = 0  # URLs asked for
    cached: int = 0  # ... now cached
    stored: int = 0  # ... of which written as new files (the others were identical to a file already kept)
    failed: int = 0  # ... failed (tried again later)
    given_up: int = 0  # ... failed for the last time, or refused
    too_big: int = 0
    not_image: int = 0
    postponed: int = 0  # URLs not asked for: their host asked us to wait
    requests: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def rejected(self) -> int:
        return len(self.errors)

    @property
    def note(self) -> str:
        parts = [f"{self.cached} cached ({self.stored} new files)"]
        for name in ("failed", "given_up", "too_big", "not_image", "postponed"):
            if getattr(self, name):
                parts.append(f"{getattr(self, name)} {name.replace('_', ' ')}")
        return ", ".join(parts)


def media_dir(settings: Settings) -> Path:
    """Where cached files live."""
    return settings.data_dir / "media"


def retry_delay(attempts: int) -> dt.timedelta:
    """The wait after the `attempts`-th failure (1-based)."""
    return min(RETRY_MAX, RETRY_FIRST * 4 ** max(0, attempts - 1))


# ---------------------------------------------------------------------------------------------
# Files


def store_file(directory: Path, name: str, data: bytes) -> bool:
    """Keep `data` as `directory/name`, written whole or not at all (a temporary file renamed into place).
    False when that file is there already (an identical image: names are content hashes)."""
    path = directory / name
    if path.is_file() and path.stat().st_size == len(data):
        return False
    directory.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=PARTIAL_PREFIX)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return True


def remove_partial(directory: Path, older_than: float = STALE_PARTIAL) -> int:
    """Remove temporary files a crashed run left (older than `older_than` seconds); returns how many."""
    removed = 0
    if not directory.is_dir():
        return 0
    limit = time.time() - older_than
    for path in directory.glob(PARTIAL_PREFIX + "*"):
        try:
            if path.stat().st_mtime <= limit:
                path.unlink()
                removed += 1
        except FileNotFoundError:
            pass
    return removed


# ---------------------------------------------------------------------------------------------
# What to fetch


def wanted(engine: Engine, settings: Settings) -> list[tuple[str, str]]:
    """`(absolute URL, kind)` of every thumbnail of a featured paper and every avatar, on an allowed host,
    the most recent first; each URL once."""
    with read_tx(engine) as conn:
        found = [(u, "thumbnail") for u in media_store.thumbnail_urls(conn)]
        found += [(u, "avatar") for u in media_store.avatar_urls(conn)]
    result: dict[str, str] = {}
    for raw, kind in found:
        url = absolute_url(raw, settings.hf_api_url)
        if url and url not in result and host_allowed(url, settings.media_hosts):
            result[url] = kind
    return list(result.items())


def enqueue_missing(engine: Engine, settings: Settings, *, now: dt.datetime | None = None) -> int:
    """Add a row for each thumbnail and avatar (on an allowed host) that has none yet: due now, or, for an
    SVG, `not_image` without a request. Returns how many were added."""
    now = now or dt.datetime.now(dt.UTC)
    items = wanted(engine, settings)
    with read_tx(engine) as conn:
        have = media_store.known(conn, [u for u, _ in items])
    new = [(u, k) for u, k in items if u not in have]
    svg = [(u, k) for u, k in new if is_svg(u)]
    fetchable = [(u, k) for u, k in new if not is_svg(u)]
    with write_tx(engine) as conn:
        added = media_store.add(conn, fetchable, now)
        added += media_store.add(conn, svg, now, status="not_image", error=SVG_ERROR)
    return added


def fetch_due(
    engine: Engine,
    settings: Settings,
    *,
    limit: int | None = None,
    now: dt.datetime | None = None,
    client: Callable[[str], PoliteClient] | None = None,
    started: Callable[[int], None] | None = None,
    progress: Callable[[int], None] | None = None,
) -> MediaReport:
    """Fetch the URLs that are due (at most `limit`), a batch at a time, each one's result stored in its own
    transaction: a run stopped anywhere resumes with what it had not done. `now` fixes the clock (tests);
    `client(host)` makes the client for a host (default `client_for`); `started` gets how many URLs the run
    means to fetch, `progress` each one done."""
    clock = (lambda: now) if now is not None else (lambda: dt.datetime.now(dt.UTC))
    report = MediaReport()
    directory = media_dir(settings)
    directory.mkdir(parents=True, exist_ok=True)
    remove_partial(directory)
    with read_tx(engine) as conn:
        due = media_store.count_due(conn, clock())
    if started:
        started(due if limit is None else min(due, limit))
    clients = Clients(client or (lambda host: client_for(settings, host)))
    paused: dict[str, tuple[dt.datetime, str]] = {}  # host -> (until, why)
    done = 0
    try:
        while limit is None or done < limit:
            size = BATCH if limit is None else min(BATCH, limit - done)
            with read_tx(engine) as conn:
                batch = media_store.due(conn, clock(), size)
            if not batch:
                break
            cached_before = report.cached
            for item in batch:
                _fetch_one(engine, settings, clients, item, clock(), report, paused, directory)
                done += 1
                if progress:
                    progress(1)
            if report.cached > cached_before:
                with write_tx(engine) as conn:
                    bump_data_version(conn)  # pages show the new pictures
    finally:
        report.requests = clients.requests
        clients.close()
    return report


def _fetch_one(
    engine: Engine,
    settings: Settings,
    clients: Clients,
    item: media_store.DueMedia,
    now: dt.datetime,
    report: MediaReport,
    paused: dict[str, tuple[dt.datetime, str]],
    directory: Path,
) -> None:
    host = (urlsplit(item.url).hostname or "").lower()
    if host in paused:
        until, why = paused[host]
        with write_tx(engine) as conn:
            media_store.postpone(conn, item.pk, until, why)
        report.postponed += 1
        return
    report.fetched += 1
    try:
        data, declared = download(item.url, settings, clients)
    except Refused as exc:
        _refused(engine, item, now, report, "failed", str(exc), None)
        report.given_up += 1
        return
    except TooLarge as exc:
        _refused(engine, item, now, report, "too_big", exc.reason, None)
        report.too_big += 1
        return
    except FetchError as exc:
        if exc.retry_after is not None and exc.retry_after > MAX_WAIT:
            where = (urlsplit(exc.url).hostname or host).lower()
            until = now + dt.timedelta(seconds=exc.retry_after)
            why = f"{exc.reason} (postponed)"
            paused[where] = paused[host] = (until, why)
            with write_tx(engine) as conn:
                media_store.postpone(conn, item.pk, until, why)
            report.postponed += 1
            return
        attempts = item.attempts + 1
        if attempts >= MAX_ATTEMPTS:
            _refused(engine, item, now, report, "failed", f"given up: {exc}", None)
            report.given_up += 1
        else:
            wait = retry_delay(attempts)
            if exc.retry_after:
                wait = max(wait, dt.timedelta(seconds=exc.retry_after))
            _refused(engine, item, now, report, "failed", str(exc), now + wait)
            report.failed += 1
        return
    sniffed = sniff(data)
    said = declared_type(declared)
    if said not in FORMATS or sniffed is None:
        what = "PNG, JPEG, WebP or GIF"
        why = f"served as {said or 'no type'}" if said not in FORMATS else f"its bytes are not {what}"
        _refused(engine, item, now, report, "not_image", f"not an image: {why}", None)
        report.not_image += 1
        return
    digest = hashlib.sha256(data).hexdigest()
    name = file_name(digest, sniffed)
    if store_file(directory, name, data):
        report.stored += 1
    with write_tx(engine) as conn:
        media_store.save_cached(conn, item.pk, content_type=sniffed, size=len(data), sha256=digest, file=name, now=now)
    report.cached += 1


def _refused(
    engine: Engine,
    item: media_store.DueMedia,
    now: dt.datetime,
    report: MediaReport,
    status: str,
    error: str,
    next_try_at: dt.datetime | None,
) -> None:
    report.errors.append(f"{item.url}: {error}")
    with write_tx(engine) as conn:
        media_store.save_refused(conn, item.pk, status=status, error=error, now=now, next_try_at=next_try_at)


def cache_media(
    engine: Engine,
    settings: Settings,
    *,
    limit: int | None = JOB_BATCH,
    now: dt.datetime | None = None,
    client: Callable[[str], PoliteClient] | None = None,
    started: Callable[[int], None] | None = None,
    progress: Callable[[int], None] | None = None,
) -> MediaReport:
    """Add what lacks a row, then fetch what is due (at most `limit`): the `media-cache` job's work."""
    added = enqueue_missing(engine, settings, now=now)
    report = fetch_due(engine, settings, limit=limit, now=now, client=client, started=started, progress=progress)
    report.added = added
    return report


def retry_failed(engine: Engine, *, now: dt.datetime | None = None) -> int:
    """Give every URL that failed (given up included) a new try now; returns how many."""
    with write_tx(engine) as conn:
        return media_store.retry_failed(conn, now or dt.datetime.now(dt.UTC))


def clear(engine: Engine, settings: Settings) -> tuple[int, int]:
    """Forget every cached copy: the rows, then the files (pages show no pictures until fetched again).
    Returns `(rows, files)` removed."""
    with write_tx(engine) as conn:
        rows = media_store.delete_all(conn)
        bump_data_version(conn)
    files = 0
    directory = media_dir(settings)
    if directory.is_dir():
        for path in directory.iterdir():
            if path.is_file():
                path.unlink(missing_ok=True)
                files += 1
    return rows, files
