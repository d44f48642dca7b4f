"""What a rendered page showed that changes without moving `data_version`: upvotes and comments.

Votes are the site's most frequent write, comments the next. If each one bumped `data_version`, every
vote would empty every cached page in every process, and on PostgreSQL every voter would queue on that
one row. So a vote or a comment changes only its own rows, and a page records, while it is rendered,
what of them it showed:

- the upvote and comment counts of each paper it showed (`paper`, called where cards are read);
- the discussion of a paper it showed (`discussion`), and the upvotes or comments of a member whose
  lists it showed (`member_votes`, `member_comments`): each is summed up before it is read, so a write
  that lands in between makes the page look stale, never fresh;
- for a page cut from a longer list ordered by votes (a day's top 50), a checksum of the votes of the
  whole list (`query`), since a paper below the cut can climb onto the page.

The page cache keeps that record with the page and, at most once per its ttl, asks `unchanged` whether
the rows still say the same; only a page that showed a changed count is rendered again. That check reads
the papers' own rows by primary key: there is no shared row that every writer updates.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, bindparam, text


@dataclass(slots=True)
class Shown:
    """What one page showed: paper pk -> (`papers.votes`, `papers.num_comments`); member pk -> (votes,
    newest vote); the answers of the summing `queries`."""

    papers: dict[int, tuple[int, int]] = field(default_factory=dict)
    members: dict[int, tuple[int, str]] = field(default_factory=dict)
    queries: dict[tuple[str, str], tuple[dict[str, Any], tuple[Any, ...]]] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.papers or self.members or self.queries)


_current: ContextVar[Shown | None] = ContextVar("dailypapers_shown", default=None)


@contextlib.contextmanager
def recording() -> Iterator[Shown]:
    """Record what the code run inside shows (in this context: the render's thread)."""
    shown = Shown()
    token = _current.set(shown)
    try:
        yield shown
    finally:
        _current.reset(token)


def paper(pk: int, votes: int, comments: int) -> None:
    """A page shows this paper's upvotes (made from `votes` of this site's members) or its `comments`."""
    shown = _current.get()
    if shown is not None:
        shown.papers.setdefault(pk, (votes, comments))


# Every change to a comment moves one of these: a new one the count and the newest pk, an edit the newest
# edit, a deletion or a moderator's hiding their sums; an author's suspension moves `data_version`.
_COMMENTS = (
    "SELECT count(*), max(pk), max(edited_at), sum(CASE WHEN deleted THEN 1 ELSE 0 END), "
    "sum(CASE WHEN hidden THEN 1 ELSE 0 END) FROM comments WHERE "
)


def discussion(conn: Connection, paper_pk: int) -> None:
    """A page is about to show the comments on this paper."""
    query(conn, _COMMENTS + "paper_pk = :paper_pk", {"paper_pk": paper_pk})


def member_comments(conn: Connection, user_pk: int) -> None:
    """A page is about to show this member's comments."""
    query(conn, _COMMENTS + "user_pk = :user_pk", {"user_pk": user_pk})


def member_votes(conn: Connection, user_pk: int) -> None:
    """A page is about to show this member's upvotes."""
    shown = _current.get()
    if shown is not None and user_pk not in shown.members:
        shown.members.update(_members(conn, [user_pk]))


def query(conn: Connection, sql: str, args: dict[str, Any]) -> tuple[Any, ...] | None:
    """A page shows something that one row of `sql` sums up: run it (only while recording) and keep its
    answer. Run it before reading what it sums up, or take the answer from the same statement."""
    shown = _current.get()
    if shown is None:
        return None
    key = (sql, repr(sorted(args.items())))
    if key not in shown.queries:
        shown.queries[key] = (dict(args), _row(conn, sql, args))
    return shown.queries[key][1]


def _row(conn: Connection, sql: str, args: dict[str, Any]) -> tuple[Any, ...]:
    row = conn.execute(text(sql), args).first()
    return tuple(int(v) if isinstance(v, Decimal | bool) else v for v in row) if row is not None else ()


def _members(conn: Connection, pks: list[int]) -> dict[int, tuple[int, str]]:
    rows = conn.execute(
        text(
            "SELECT u.pk, count(v.paper_pk), max(v.created_at) FROM users u "
            "LEFT JOIN votes v ON v.user_pk = u.pk WHERE u.pk IN :pks GROUP BY u.pk"
        ).bindparams(bindparam("pks", expanding=True)),
        {"pks": pks},
    )
    state = {int(r[0]): (int(r[1]), str(r[2] or "")) for r in rows}
    return {pk: state.get(pk, (0, "")) for pk in pks}


def unchanged(conn: Connection, shown: Shown) -> bool:
    """Whether every count and list `shown` recorded is still what the store holds."""
    if shown.papers:
        sql = text("SELECT pk, votes, num_comments FROM papers WHERE pk IN :pks").bindparams(
            bindparam("pks", expanding=True)
        )
        now = {int(r[0]): (int(r[1]), int(r[2])) for r in conn.execute(sql, {"pks": list(shown.papers)})}
        if any(now.get(pk) != counts for pk, counts in shown.papers.items()):
            return False
    if shown.members and _members(conn, list(shown.members)) != shown.members:
        return False
    return all(_row(conn, sql, args) == then for (sql, _), (args, then) in shown.queries.items())
