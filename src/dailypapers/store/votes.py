"""Upvotes: one per user per paper; `papers.votes` always equals the rows in `votes`.

The counter moves in the same transaction as the row, and only when the row really appeared or
disappeared, so concurrent toggles on SQLite (serialized writers) and PostgreSQL (row locks)
keep it exact. A vote does not move `data_version`: cached pages notice it by the counts they showed
(`store.shown`).
"""

from __future__ import annotations

from sqlalchemy import Connection, bindparam, select, text

from dailypapers.store import feed, reader_profiles
from dailypapers.store.convert import UTCDateTime, utc_now
from dailypapers.store.schema import Vote

votes = Vote.__table__


def set_vote(conn: Connection, user_pk: int, paper_pk: int, on: bool) -> bool:
    """Make the user's vote on the paper `on` or off; True if anything changed."""
    return toggle(conn, user_pk, paper_pk, on)[0]


def toggle(conn: Connection, user_pk: int, paper_pk: int, on: bool) -> tuple[bool, int]:
    """Make the user's vote on the paper `on` or off: whether anything changed, and the paper's shown
    upvotes after it (as `upvotes_of`).

    It moves no shared counter: pages that showed the count see the change through `store.shown`.
    On PostgreSQL it is one statement, because on the web tier each round trip costs more than the work.
    """
    args = {"u": user_pk, "p": paper_pk, "t": utc_now()}
    if conn.dialect.name == "postgresql":
        row = conn.execute(text(_PG_ON if on else _PG_OFF), args).one()
        return bool(row[0]), int(row[1] or 0)
    if on:
        sql = "INSERT INTO votes (user_pk, paper_pk, created_at) VALUES (:u, :p, :t) ON CONFLICT DO NOTHING"
    else:
        sql = "DELETE FROM votes WHERE user_pk = :u AND paper_pk = :p"
    changed = conn.execute(text(sql), args).rowcount == 1
    if changed:
        conn.execute(text("UPDATE papers SET votes = votes + :d WHERE pk = :p"), {"d": 1 if on else -1, "p": paper_pk})
    return changed, upvotes_of(conn, paper_pk)


# The row's change and the counter's move in one statement; the main query sees the snapshot from before
# it, so the count comes from the UPDATE's RETURNING when there was one.
_PG_COUNT = (
    "SELECT (SELECT count(*) FROM changed), "
    "coalesce((SELECT votes FROM moved), (SELECT votes FROM papers WHERE pk = :p)) "
    "+ coalesce((SELECT max(upvotes) FROM daily_listings WHERE paper_pk = :p), 0)"
)
_PG_ON = (
    "WITH changed AS (INSERT INTO votes (user_pk, paper_pk, created_at) VALUES (:u, :p, :t) "
    "ON CONFLICT DO NOTHING RETURNING paper_pk), "
    "moved AS (UPDATE papers SET votes = votes + 1 WHERE pk IN (SELECT paper_pk FROM changed) RETURNING votes) "
    + _PG_COUNT
)
_PG_OFF = (
    "WITH changed AS (DELETE FROM votes WHERE user_pk = :u AND paper_pk = :p RETURNING paper_pk), "
    "moved AS (UPDATE papers SET votes = votes - 1 WHERE pk IN (SELECT paper_pk FROM changed) RETURNING votes) "
    + _PG_COUNT
)


def vote_by_id(conn: Connection, user_pk: int, paper_id: str, on: bool) -> tuple[int | None, bool, int]:
    """`toggle` of the paper `paper_id`, marking the voter's "for you" profile stale when the vote changed
    (`reader_profiles.mark_stale`): the paper's pk (None, and nothing written, when there is no such paper),
    whether anything changed, and its shown upvotes. One statement on PostgreSQL (a vote's round trips cost
    more than its work on the web tier)."""
    if conn.dialect.name == "postgresql":
        sql = text(_PG_BY_ID_ON if on else _PG_BY_ID_OFF).bindparams(bindparam("since", type_=UTCDateTime()))
        now = utc_now()
        row = conn.execute(sql, {"u": user_pk, "id": paper_id, "t": now, "since": now}).one()
        return row[0], bool(row[1]), int(row[2] or 0)
    pk = feed.paper_pk_of(conn, paper_id)
    if pk is None:
        return None, False, 0
    changed, upvotes = toggle(conn, user_pk, pk, on)
    if changed:
        reader_profiles.mark_stale(conn, user_pk)
    return pk, changed, upvotes


# As _PG_ON/_PG_OFF, with the paper found by id in the statement and the voter's profile marked stale.
_PG_BY_ID = (
    "WITH p AS (SELECT pk FROM papers WHERE id = :id), changed AS ({change}), "
    "moved AS (UPDATE papers SET votes = votes {sign} 1 WHERE pk IN (SELECT paper_pk FROM changed) RETURNING votes), "
    "stale AS ("
    + reader_profiles.MARK_STALE.format(when=" AND EXISTS (SELECT 1 FROM changed)")
    + ") SELECT (SELECT pk FROM p), (SELECT count(*) FROM changed), "
    "coalesce((SELECT votes FROM moved), (SELECT votes FROM papers WHERE pk = (SELECT pk FROM p))) "
    "+ coalesce((SELECT max(upvotes) FROM daily_listings WHERE paper_pk = (SELECT pk FROM p)), 0)"
)
_PG_BY_ID_ON = _PG_BY_ID.format(
    change="INSERT INTO votes (user_pk, paper_pk, created_at) SELECT :u, pk, :t FROM p "
    "ON CONFLICT DO NOTHING RETURNING paper_pk",
    sign="+",
)
_PG_BY_ID_OFF = _PG_BY_ID.format(
    change="DELETE FROM votes WHERE user_pk = :u AND paper_pk = (SELECT pk FROM p) RETURNING paper_pk", sign="-"
)


def has_voted(conn: Connection, user_pk: int, paper_pk: int) -> bool:
    q = select(votes.c.paper_pk).where(votes.c.user_pk == user_pk, votes.c.paper_pk == paper_pk)
    return conn.execute(q).first() is not None


def voted_among(conn: Connection, user_pk: int, paper_pks: list[int]) -> set[int]:
    """Which of these papers the user has upvoted."""
    if not paper_pks:
        return set()
    q = select(votes.c.paper_pk).where(votes.c.user_pk == user_pk, votes.c.paper_pk.in_(paper_pks))
    return {r[0] for r in conn.execute(q)}


def upvotes_of(conn: Connection, paper_pk: int) -> int:
    """Shown upvotes: the largest imported count of its listings plus this site's votes."""
    row = conn.execute(
        text(
            "SELECT p.votes + coalesce((SELECT max(upvotes) FROM daily_listings WHERE paper_pk = p.pk), 0) "
            "FROM papers p WHERE p.pk = :p"
        ),
        {"p": paper_pk},
    ).scalar()
    return int(row or 0)
