"""Readers' trained "for you" profiles (`reader_profiles`): which are stale, and their stored models.

Every use case that changes a reader's signals (a save, a collection, a follow, an upvote, an imported
library, a "not interested" click) calls `mark_stale` in its own transaction; the `reader-profiles` job
retrains the stale ones (personal.for_you)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Connection, bindparam, delete, select, text, update

from dailypapers.store.convert import UTCDateTime, aware, utc_now
from dailypapers.store.schema_personal import ReaderProfile


@dataclass(frozen=True)
class StoredProfile:
    user_pk: int
    stale_since: dt.datetime | None
    trained_at: dt.datetime | None
    signals: int
    model: bytes | None
    version: int


def _ensure(conn: Connection, user_pk: int, stale_since: dt.datetime | None) -> None:
    """The reader's profile row, made if missing (and only while the reader exists: an account deleted
    during a training leaves nothing behind)."""
    conn.execute(
        text(
            "INSERT INTO reader_profiles (user_pk, stale_since, signals, version) "
            "SELECT pk, :since, 0, 0 FROM users WHERE pk = :u ON CONFLICT (user_pk) DO NOTHING"
        ).bindparams(bindparam("since", type_=UTCDateTime())),
        {"u": user_pk, "since": stale_since},
    )


# Parameters :u (the reader) and :since; `{when}` is a further condition (store.votes puts it in a vote's statement).
MARK_STALE = (
    "INSERT INTO reader_profiles (user_pk, stale_since, signals, version) "
    "SELECT pk, :since, 0, 0 FROM users WHERE pk = :u{when} ON CONFLICT (user_pk) DO UPDATE "
    "SET stale_since = excluded.stale_since WHERE reader_profiles.stale_since IS NULL"
)


def mark_stale(conn: Connection, user_pk: int) -> None:
    """The reader's signals changed: their profile needs training (the first change since the last
    training keeps its time, so the oldest waits least). One statement: it is on the vote's path."""
    conn.execute(
        text(MARK_STALE.format(when="")).bindparams(bindparam("since", type_=UTCDateTime())),
        {"u": user_pk, "since": utc_now()},
    )


def stale(conn: Connection, limit: int) -> list[tuple[int, dt.datetime]]:
    """Up to `limit` readers whose profiles are stale, the longest waiting first."""
    rows = conn.execute(
        select(ReaderProfile.user_pk, ReaderProfile.stale_since)
        .where(ReaderProfile.stale_since.is_not(None))
        .order_by(ReaderProfile.stale_since)
        .limit(limit)
    )
    return [(int(pk), aware(since)) for pk, since in rows]


def profile_of(conn: Connection, user_pk: int) -> StoredProfile | None:
    t = ReaderProfile.__table__
    p = conn.execute(select(t).where(t.c.user_pk == user_pk)).first()
    if p is None:
        return None
    model = bytes(p.model) if p.model is not None else None
    return StoredProfile(p.user_pk, aware(p.stale_since), aware(p.trained_at), p.signals, model, p.version)


def store_trained(conn: Connection, user_pk: int, seen: dt.datetime | None, model: bytes | None, signals: int) -> None:
    """Keep a training's result. It clears `stale_since` only if no signal arrived after `seen` (the
    staleness the training started from), so a signal during training is not lost."""
    now = utc_now()
    _ensure(conn, user_pk, stale_since=None)
    values: dict[str, object] = {
        "trained_at": now,
        "model": model,
        "signals": signals,
        "version": ReaderProfile.version + 1,
    }
    conn.execute(update(ReaderProfile).where(ReaderProfile.user_pk == user_pk).values(**values))
    if seen is not None:
        conn.execute(
            update(ReaderProfile)
            .where(ReaderProfile.user_pk == user_pk, ReaderProfile.stale_since <= seen)
            .values(stale_since=None)
        )


def forget(conn: Connection, user_pk: int) -> None:
    conn.execute(delete(ReaderProfile).where(ReaderProfile.user_pk == user_pk))
