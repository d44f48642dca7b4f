"""The media cache (docs/media.md): papers' thumbnails and submitters' avatars by the URL they come from, what
fetching each gave (`ingest.media` fetches them), and, for pages, the local `/media/...` URL of those cached.

URLs are kept absolute (`sources.images.absolute_url`): an avatar stored as Hugging Face's `/avatars/...`
path is looked up under the same absolute URL it was fetched from.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, delete, func, select, update

from dailypapers.sources.images import absolute_url
from dailypapers.store.convert import chunks, upsert_insert
from dailypapers.store.schema import DailyListing, Paper, User
from dailypapers.store.schema_derived import Media

media = Media.__table__
papers = Paper.__table__
listings = DailyListing.__table__
users = User.__table__

CHUNK = 500  # URLs per IN (...) list
ROUTE = "/media/"  # where web.media serves the files


@dataclass(frozen=True, slots=True)
class DueMedia:
    """A URL to fetch."""

    pk: int
    url: str
    kind: str
    attempts: int  # failed attempts so far


@dataclass(frozen=True, slots=True)
class MediaState:
    """All that is stored about a URL."""

    pk: int
    url: str
    kind: str
    status: str
    content_type: str
    size: int | None
    sha256: str
    file: str
    attempts: int
    error: str
    created_at: dt.datetime
    fetched_at: dt.datetime | None
    next_try_at: dt.datetime | None


# ---------------------------------------------------------------------------------------------
# What pages show: the local URL of cached images


def local_urls(conn: Connection, urls: Iterable[str | None], *, base: str) -> dict[str, str | None]:
    """For each of `urls` (as papers and users store them: absolute, or a path on `base`, Hugging Face's URL
    for `/avatars/...`), its local `/media/<name>` URL when a copy is cached, else None. One query per 500
    URLs, so a page of cards asks once for all its thumbnails and avatars. Empty and None URLs are left out."""
    wanted: dict[str, str] = {}
    for url in urls:
        if url and url not in wanted:
            absolute = absolute_url(url, base)
            if absolute:
                wanted[url] = absolute
    found: dict[str, str] = {}
    for batch in chunks(set(wanted.values()), CHUNK):
        query = select(media.c.url, media.c.file).where(media.c.url.in_(batch), media.c.status == "ok")
        found.update({r.url: r.file for r in conn.execute(query)})
    result: dict[str, str | None] = {url: None for url in urls if url}
    for url, absolute in wanted.items():
        if absolute in found:
            result[url] = ROUTE + found[absolute]
    return result


# ---------------------------------------------------------------------------------------------
# What to fetch


def thumbnail_urls(conn: Connection) -> list[str]:
    """The thumbnails of featured papers (as stored in `papers.extra`), the most recently featured first."""
    thumb = papers.c.extra["thumbnail"].as_string()
    query = (
        select(thumb.label("url"), func.max(listings.c.day).label("day"))
        .select_from(papers.join(listings, listings.c.paper_pk == papers.c.pk))
        .where(thumb.is_not(None), thumb != "")
        .group_by(thumb)
        .order_by(func.max(listings.c.day).desc())
    )
    return [str(r.url) for r in conn.execute(query)]


def avatar_urls(conn: Connection) -> list[str]:
    """The avatars of users (as stored), the newest users first."""
    query = (
        select(users.c.avatar_url, func.max(users.c.pk).label("pk"))
        .where(users.c.avatar_url != "")
        .group_by(users.c.avatar_url)
        .order_by(func.max(users.c.pk).desc())
    )
    return [str(r.avatar_url) for r in conn.execute(query)]


def known(conn: Connection, urls: Iterable[str]) -> set[str]:
    """Those of `urls` that have a row (whatever its status)."""
    found: set[str] = set()
    for batch in chunks(urls, CHUNK):
        found.update(r[0] for r in conn.execute(select(media.c.url).where(media.c.url.in_(batch))))
    return found


def add(
    conn: Connection, items: Sequence[tuple[str, str]], now: dt.datetime, *, status: str = "new", error: str = ""
) -> int:
    """Rows for `(url, kind)` pairs not known yet: due at `now` when new, else with `status` for good (an
    SVG is `not_image` without a request). Returns how many were added."""
    added = 0
    due = now if status == "new" else None
    for start in range(0, len(items), CHUNK):
        rows = [
            {"url": url, "kind": kind, "status": status, "error": error, "created_at": now, "next_try_at": due}
            for url, kind in items[start : start + CHUNK]
        ]
        stmt = upsert_insert(conn)(media).values(rows).on_conflict_do_nothing(index_elements=["url"])
        added += len(conn.execute(stmt.returning(media.c.pk)).all())
    return added


def _due(now: dt.datetime) -> Any:
    return media.c.status.in_(("new", "failed")) & media.c.next_try_at.is_not(None) & (media.c.next_try_at <= now)


def due(conn: Connection, now: dt.datetime, limit: int) -> list[DueMedia]:
    """Up to `limit` URLs whose time to be fetched has come, the longest waiting first."""
    query = (
        select(media.c.pk, media.c.url, media.c.kind, media.c.attempts)
        .where(_due(now))
        .order_by(media.c.next_try_at, media.c.pk)
        .limit(limit)
    )
    return [DueMedia(int(r.pk), r.url, r.kind, int(r.attempts)) for r in conn.execute(query)]


def count_due(conn: Connection, now: dt.datetime) -> int:
    return int(conn.execute(select(func.count()).select_from(media).where(_due(now))).scalar() or 0)


# ---------------------------------------------------------------------------------------------
# What fetching gave


def save_cached(
    conn: Connection, pk: int, *, content_type: str, size: int, sha256: str, file: str, now: dt.datetime
) -> None:
    """A copy is in `file` (written before this is called)."""
    values = {"content_type": content_type, "size": size, "sha256": sha256, "file": file}
    values |= {"status": "ok", "error": "", "fetched_at": now, "next_try_at": None}
    conn.execute(update(media).where(media.c.pk == pk).values(values))


def save_refused(
    conn: Connection, pk: int, *, status: str, error: str, now: dt.datetime, next_try_at: dt.datetime | None
) -> None:
    """An attempt that cached nothing: `status` "failed" (tried again at `next_try_at`, given up when None),
    "too_big" or "not_image" (for good)."""
    values = {"status": status, "error": error[:1000], "fetched_at": now, "next_try_at": next_try_at}
    conn.execute(update(media).where(media.c.pk == pk).values(attempts=media.c.attempts + 1, **values))


def postpone(conn: Connection, pk: int, next_try_at: dt.datetime, error: str) -> None:
    """Not asked this time (its host asked us to wait): due again at `next_try_at`, no attempt counted."""
    conn.execute(update(media).where(media.c.pk == pk).values(next_try_at=next_try_at, error=error[:1000]))


def retry_failed(conn: Connection, now: dt.datetime) -> int:
    """Every failed URL (given up or waiting) due again at `now`, its attempts forgotten; returns how many."""
    stmt = update(media).where(media.c.status == "failed").values(attempts=0, next_try_at=now)
    return int(conn.execute(stmt).rowcount or 0)


def delete_all(conn: Connection) -> int:
    """Forget every URL; returns how many rows there were."""
    return int(conn.execute(delete(media)).rowcount or 0)


# ---------------------------------------------------------------------------------------------
# What is stored


def state(conn: Connection, url: str) -> MediaState | None:
    row = conn.execute(select(media).where(media.c.url == url)).first()
    return MediaState(**row._mapping) if row else None


def counts(conn: Connection) -> dict[str, int]:
    """URLs by status."""
    query = select(media.c.status, func.count()).group_by(media.c.status)
    return {str(status): int(n) for status, n in conn.execute(query)}


def files(conn: Connection) -> set[str]:
    """The names of the files cached rows point to."""
    return {r[0] for r in conn.execute(select(media.c.file).where(media.c.status == "ok").distinct())}
