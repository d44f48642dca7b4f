"""Upvotes: one per user per paper; `papers.votes` always equals the rows in `votes`.

The counter moves in the same transaction as the row, and only when the row really appeared or
disappeared, so concurrent toggles on SQLite (serialized writers) and PostgreSQL (row locks)
keep it exact.
"""

from __future__ import annotations

from sqlalchemy import Connection, delete, select, text

from dailypapers.store.convert import utc_now
from dailypapers.store.db import bump_data_version
from dailypapers.store.schema import Vote

votes = Vote.__table__


def set_vote(conn: Connection, user_pk: int, paper_pk: int, on: bool) -> bool:
    """Make the user's vote on the paper `on` or off; True if anything changed."""
    if on:
        result = conn.execute(
            text(
                "INSERT INTO votes (user_pk, paper_pk, created_at) VALUES (:u, :p, :t) "
                "ON CONFLICT (user_pk, paper_pk) DO NOTHING"
            ),
            {"u": user_pk, "p": paper_pk, "t": utc_now()},
        )
        delta = 1
    else:
        result = conn.execute(delete(votes).where(votes.c.user_pk == user_pk, votes.c.paper_pk == paper_pk))
        delta = -1
    if result.rowcount != 1:
        return False
    conn.execute(text("UPDATE papers SET votes = votes + :d WHERE pk = :p"), {"d": delta, "p": paper_pk})
    bump_data_version(conn)
    return True


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
