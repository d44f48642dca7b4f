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
        row = conn.execute(text(_PG[on, False]), args).one()
        return bool(row[1]), int(row[2] or 0)
    if on:
        sql = "INSERT INTO votes (user_pk, paper_pk, created_at) VALUES (:u, :p, :t) ON CONFLICT DO NOTHING"
    else:
        sql = "DELETE FROM votes WHERE user_pk = :u AND paper_pk = :p"
    changed = conn.execute(text(sql), args).rowcount == 1
    if changed:
        conn.execute(text("UPDATE papers SET votes = votes + :d WHERE pk = :p"), {"d": 1 if on else -1, "p": paper_pk})
    return changed, upvotes_of(conn, paper_pk)


def vote_by_id(conn: Connection, user_pk: int, paper_id: str, on: bool) -> tuple[int | None, bool, int]:
    """`toggle` of the paper `paper_id`, marking the voter's "for you" profile stale when the vote changed
    (`reader_profiles.mark_stale`): the paper's pk (None, and nothing written, when there is no such paper),
    whether anything changed, and its shown upvotes. One statement on PostgreSQL (a vote's round trips cost
    more than its work on the web tier)."""
    if conn.dialect.name == "postgresql":
        sql = text(_PG[on, True]).bindparams(bindparam("since", type_=UTCDateTime()))
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


def _pg_vote(on: bool, paper: str, stale: bool) -> str:
    """A PostgreSQL vote in one statement: the paper found (`paper`: a condition on `papers`), the row changed,
    the counter moved and, when `stale`, the voter's profile marked stale if the vote changed. The main query
    sees the snapshot from before it, so the count comes from the UPDATE's RETURNING when there was one.
    Returns the paper's pk, whether the vote changed (0 or 1) and the shown upvotes."""
    if on:
        change = "INSERT INTO votes (user_pk, paper_pk, created_at) SELECT :u, pk, :t FROM p ON CONFLICT DO NOTHING"
    else:
        change = "DELETE FROM votes WHERE user_pk = :u AND paper_pk = (SELECT pk FROM p)"
    mark = reader_profiles.MARK_STALE.format(when=" AND EXISTS (SELECT 1 FROM changed)")
    return (
        f"WITH p AS (SELECT pk FROM papers WHERE {paper}), changed AS ({change} RETURNING paper_pk), "
        f"moved AS (UPDATE papers SET votes = votes {'+' if on else '-'} 1 "
        "WHERE pk IN (SELECT paper_pk FROM changed) RETURNING votes)"
        + (f", stale AS ({mark})" if stale else "")
        + " SELECT (SELECT pk FROM p), (SELECT count(*) FROM changed), "
        "coalesce((SELECT votes FROM moved), (SELECT votes FROM papers WHERE pk = (SELECT pk FROM p))) "
        "+ coalesce((SELECT max(upvotes) FROM daily_listings WHERE paper_pk = (SELECT pk FROM p)), 0)"
    )


# (on, by id): by pk for `toggle`; by id, marking the profile stale, for `vote_by_id`.
_PG = {
    (on, by_id): _pg_vote(on, "id = :id" if by_id else "pk = :p", stale=by_id)
    for on in (True, False)
    for by_id in (True, False)
}


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
