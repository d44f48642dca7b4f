"""Comment rows and `papers.num_comments`. The rules of a discussion live in `comments.discussion`.

`papers.num_comments` counts the visible comments of a paper (not deleted, not hidden by a
moderator, author not suspended). Every change recounts the papers it touches in its own
transaction, after locking their rows (FOR UPDATE on PostgreSQL; SQLite serializes writers), so
the statement that counts sees every comment committed before it and the counter stays exact.
Lock order, to keep PostgreSQL free of deadlocks: the author's row, then papers (by pk), then
`data_version` (bumped last, as every other writer does). Only a suspension or reinstatement bumps it:
a comment's own changes reach the cached pages that show it through `store.shown`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from dailypapers.store import shown
from dailypapers.store.convert import aware, utc_now
from dailypapers.store.db import bump_data_version
from dailypapers.store.schema import Comment, Paper, User

comments = Comment.__table__
papers = Paper.__table__
users = User.__table__


@dataclass(frozen=True, slots=True)
class CommentInfo:
    """One comment's facts, deleted or not."""

    pk: int
    paper_pk: int
    paper_id: str
    user_pk: int
    author: str
    parent_pk: int | None
    body: str
    html: str
    created_at: dt.datetime
    edited_at: dt.datetime | None
    deleted: bool
    hidden: bool
    suspended: bool = False  # the author's account


def _visible_count(paper_pk_col: Any) -> Any:
    return (
        select(func.count())
        .select_from(comments.join(users, users.c.pk == comments.c.user_pk))
        .where(
            comments.c.paper_pk == paper_pk_col,
            comments.c.deleted.is_(False),
            comments.c.hidden.is_(False),
            users.c.suspended.is_(False),
        )
        .scalar_subquery()
    )


def _lock_papers(conn: Connection, paper_pks: Iterable[int]) -> list[int]:
    """Lock these paper rows (in pk order, so concurrent writers cannot deadlock)."""
    pks = sorted(set(paper_pks))
    if pks:
        conn.execute(select(papers.c.pk).where(papers.c.pk.in_(pks)).order_by(papers.c.pk).with_for_update())
    return pks


def _recount(conn: Connection, pks: list[int]) -> None:
    if pks:
        conn.execute(update(papers).where(papers.c.pk.in_(pks)).values(num_comments=_visible_count(papers.c.pk)))


def _info(row: Any) -> CommentInfo:
    return CommentInfo(
        pk=row.pk,
        paper_pk=row.paper_pk,
        paper_id=row.paper_id,
        user_pk=row.user_pk,
        author=row.author,
        parent_pk=row.parent_pk,
        body=row.body,
        html=row.html,
        created_at=aware(row.created_at) or utc_now(),
        edited_at=aware(row.edited_at),
        deleted=bool(row.deleted),
        hidden=bool(row.hidden),
        suspended=bool(row.suspended),
    )


def _select() -> Any:
    return (
        select(
            comments,
            papers.c.id.label("paper_id"),
            users.c.name.label("author"),
            users.c.suspended.label("suspended"),
        )
        .join(papers, papers.c.pk == comments.c.paper_pk)
        .join(users, users.c.pk == comments.c.user_pk)
    )


def get_comment(conn: Connection, pk: int) -> CommentInfo | None:
    """The comment with this primary key (deleted or not), or None."""
    row = conn.execute(_select().where(comments.c.pk == pk)).first()
    return _info(row) if row else None


def paper_comments(conn: Connection, paper_pk: int) -> list[CommentInfo]:
    """Every comment on the paper (deleted and hidden ones too), oldest first."""
    shown.discussion(conn, paper_pk)
    return [_info(r) for r in conn.execute(_select().where(comments.c.paper_pk == paper_pk).order_by(comments.c.pk))]


def lock_for_comment(conn: Connection, user_pk: int, paper_pk: int) -> None:
    """Take the locks a new comment needs, in the order every writer takes them: a share lock on the author
    (so a concurrent suspension, which updates that row and then recounts, cannot miss this paper), then
    the paper."""
    conn.execute(select(users.c.pk).where(users.c.pk == user_pk).with_for_update(read=True))
    _lock_papers(conn, [paper_pk])


def insert_comment(conn: Connection, paper_pk: int, user_pk: int, parent_pk: int | None, body: str, html: str) -> int:
    """Store a comment (after `lock_for_comment`) and recount the paper; returns its pk."""
    pk = conn.execute(
        insert(comments)
        .values(
            paper_pk=paper_pk,
            user_pk=user_pk,
            parent_pk=parent_pk,
            body=body,
            html=html,
            created_at=utc_now(),
            edited_at=None,
            deleted=False,
            hidden=False,
        )
        .returning(comments.c.pk)
    ).scalar_one()
    _recount(conn, [paper_pk])
    return int(pk)


def update_body(conn: Connection, pk: int, body: str, html: str) -> bool:
    """Replace the text of a comment that is not deleted and set `edited_at`; False when it is deleted."""
    done = conn.execute(
        update(comments)
        .where(comments.c.pk == pk, comments.c.deleted.is_(False))
        .values(body=body, html=html, edited_at=utc_now())
    )
    return done.rowcount == 1


def soft_delete(conn: Connection, pk: int, paper_pk: int) -> None:
    """Drop a comment's text and mark it deleted (it stays as "[deleted]" above its replies)."""
    _lock_papers(conn, [paper_pk])
    conn.execute(update(comments).where(comments.c.pk == pk).values(deleted=True, body="", html=""))
    _recount(conn, [paper_pk])


def set_hidden(conn: Connection, pk: int, paper_pk: int, hidden: bool) -> None:
    """Hide a comment from everyone but its author and moderators (or show it again)."""
    _lock_papers(conn, [paper_pk])
    conn.execute(update(comments).where(comments.c.pk == pk).values(hidden=hidden))
    _recount(conn, [paper_pk])


def recount_comments(conn: Connection, user_pk: int) -> None:
    """Recompute `num_comments` of every paper the user commented on (after suspending or reinstating)."""
    conn.execute(select(users.c.pk).where(users.c.pk == user_pk).with_for_update())
    touched = conn.execute(select(comments.c.paper_pk).where(comments.c.user_pk == user_pk).distinct()).scalars()
    _recount(conn, _lock_papers(conn, touched))
    bump_data_version(conn)  # every page that shows one of the author's comments, or their name
