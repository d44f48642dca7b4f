"""Comments on papers: one level of replies, soft deletion, moderation, and `papers.num_comments`.

`papers.num_comments` counts the visible comments of a paper (not deleted, not hidden by a
moderator, author not suspended). Every change recounts the papers it touches in its own
transaction, after locking their rows (FOR UPDATE on PostgreSQL; SQLite serializes writers), so
the statement that counts sees every comment committed before it and the counter stays exact.
Lock order, to keep PostgreSQL free of deadlocks: the author's row, then papers (by pk), then
`data_version` (bumped last, as every other writer does).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from dailypapers.comments.render import BodyProblem, check_body, render_markdown
from dailypapers.store.accounts import log_action
from dailypapers.store.db import bump_data_version
from dailypapers.store.schema import Comment, Paper, User

comments = Comment.__table__
papers = Paper.__table__
users = User.__table__


class CommentProblem(Exception):
    """Why a comment action was refused; `status` is the HTTP status that fits."""

    status = 400


class InvalidComment(CommentProblem):
    """The body or the comment replied to is not acceptable."""


class CommentNotFound(CommentProblem):
    status = 404


class NotYours(CommentProblem):
    status = 403


@dataclass(slots=True)
class ThreadComment:
    """A comment as one viewer may see it; `readable` is False (and `html`, `body` empty) when they may not
    read it: deleted, or concealed from anyone but its author and moderators."""

    pk: int
    parent_pk: int | None
    author: str
    author_pk: int
    body: str
    html: str
    created_at: dt.datetime
    edited_at: dt.datetime | None
    deleted: bool
    hidden: bool
    suspended: bool
    readable: bool
    replies: list[ThreadComment] = field(default_factory=list)

    @property
    def concealed(self) -> bool:
        """Hidden by a moderator, or written by a suspended account."""
        return self.hidden or self.suspended


@dataclass(frozen=True, slots=True)
class CommentInfo:
    """One comment's facts, for permission checks and API answers."""

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


@dataclass(frozen=True, slots=True)
class UserComment:
    """A visible comment of a user, with the paper it is on (for profile pages)."""

    pk: int
    paper_id: str
    paper_title: str
    html: str
    created_at: dt.datetime
    edited_at: dt.datetime | None


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


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
    bump_data_version(conn)


def get_comment(conn: Connection, pk: int) -> CommentInfo | None:
    """The comment with this primary key (deleted or not), or None."""
    row = conn.execute(
        select(comments, papers.c.id.label("paper_id"), users.c.name.label("author"))
        .join(papers, papers.c.pk == comments.c.paper_pk)
        .join(users, users.c.pk == comments.c.user_pk)
        .where(comments.c.pk == pk)
    ).first()
    if row is None:
        return None
    m = row._mapping
    fields = ("pk", "paper_pk", "paper_id", "user_pk", "author", "parent_pk", "body", "html")
    return CommentInfo(
        **{f: m[f] for f in fields},
        created_at=_aware(row.created_at) or now(),
        edited_at=_aware(row.edited_at),
        deleted=bool(row.deleted),
        hidden=bool(row.hidden),
    )


def _clean(body: str) -> tuple[str, str]:
    try:
        body = check_body(body)
    except BodyProblem as exc:
        raise InvalidComment(str(exc)) from exc
    return body, render_markdown(body)


def add_comment(conn: Connection, paper_pk: int, user_pk: int, body: str, parent_pk: int | None = None) -> int:
    """Post a comment (or a reply to `parent_pk`); returns its primary key.

    A reply to a reply attaches to the top-level comment, so threads have one level of replies.
    Raises InvalidComment for an empty or too long body, or a parent that cannot be replied to.
    """
    body, html = _clean(body)
    # Lock order everywhere: the author's row, then papers. Holding a share lock on the author keeps a
    # concurrent suspension (which updates that row, then recounts the papers) from missing this paper.
    conn.execute(select(users.c.pk).where(users.c.pk == user_pk).with_for_update(read=True))
    _lock_papers(conn, [paper_pk])
    if parent_pk is not None:
        parent = conn.execute(
            select(comments.c.paper_pk, comments.c.parent_pk, comments.c.deleted, comments.c.hidden).where(
                comments.c.pk == parent_pk
            )
        ).first()
        if parent is None or parent.paper_pk != paper_pk:
            raise InvalidComment("The comment you replied to is not on this paper.")
        if parent.deleted or parent.hidden:
            raise InvalidComment("That comment was deleted or hidden; it cannot get new replies.")
        parent_pk = parent.parent_pk or parent_pk
    pk = conn.execute(
        insert(comments)
        .values(
            paper_pk=paper_pk,
            user_pk=user_pk,
            parent_pk=parent_pk,
            body=body,
            html=html,
            created_at=now(),
            edited_at=None,
            deleted=False,
            hidden=False,
        )
        .returning(comments.c.pk)
    ).scalar_one()
    _recount(conn, [paper_pk])
    return int(pk)


def _own(conn: Connection, pk: int, user_pk: int) -> CommentInfo:
    info = get_comment(conn, pk)
    if info is None or info.deleted:
        raise CommentNotFound("No such comment (it may have been deleted).")
    if info.user_pk != user_pk:
        raise NotYours("You can only change your own comments.")
    return info


def edit_comment(conn: Connection, pk: int, user_pk: int, body: str) -> CommentInfo:
    """Replace the text of the user's own comment and set `edited_at`; returns the updated comment."""
    body, html = _clean(body)
    _own(conn, pk, user_pk)
    done = conn.execute(
        update(comments)
        .where(comments.c.pk == pk, comments.c.deleted.is_(False))
        .values(body=body, html=html, edited_at=now())
    )
    if done.rowcount != 1:  # deleted meanwhile
        raise CommentNotFound("No such comment (it may have been deleted).")
    bump_data_version(conn)
    updated = get_comment(conn, pk)
    assert updated is not None
    return updated


def delete_comment(conn: Connection, pk: int, user_pk: int) -> CommentInfo:
    """Soft-delete the user's own comment: its text is dropped; it stays as "[deleted]" above replies."""
    info = _own(conn, pk, user_pk)
    _lock_papers(conn, [info.paper_pk])
    conn.execute(update(comments).where(comments.c.pk == pk).values(deleted=True, body="", html=""))
    _recount(conn, [info.paper_pk])
    return info


def set_hidden(conn: Connection, pk: int, actor_pk: int, hidden: bool) -> CommentInfo:
    """Hide (or unhide) a comment as a curator or admin, and record it in the audit log.

    The caller checks the actor's role.
    """
    info = get_comment(conn, pk)
    if info is None:
        raise CommentNotFound("No such comment.")
    _lock_papers(conn, [info.paper_pk])
    if info.hidden != hidden:
        conn.execute(update(comments).where(comments.c.pk == pk).values(hidden=hidden))
        action = "comment.hide" if hidden else "comment.unhide"
        log_action(conn, actor_pk, action, f"comment:{pk}", paper=info.paper_id, author=info.author)
        _recount(conn, [info.paper_pk])
    return info


def recount_comments(conn: Connection, user_pk: int) -> None:
    """Recompute `num_comments` of every paper the user commented on (after suspending or reinstating)."""
    conn.execute(select(users.c.pk).where(users.c.pk == user_pk).with_for_update())
    touched = conn.execute(select(comments.c.paper_pk).where(comments.c.user_pk == user_pk).distinct()).scalars()
    _recount(conn, _lock_papers(conn, touched))


def thread(
    conn: Connection, paper_pk: int, *, viewer_pk: int | None = None, moderator: bool = False
) -> list[ThreadComment]:
    """A paper's discussion as this viewer sees it: top-level comments with their replies, oldest first.

    Deleted comments are left out, except a top-level one with replies, which stays as "[deleted]".
    Hidden comments and those of suspended accounts keep their text only for moderators and the author.
    """
    rows = conn.execute(
        select(comments, users.c.name.label("author"), users.c.suspended.label("suspended"))
        .join(users, users.c.pk == comments.c.user_pk)
        .where(comments.c.paper_pk == paper_pk)
        .order_by(comments.c.pk)
    )
    top: dict[int, ThreadComment] = {}
    replies: list[ThreadComment] = []
    for r in rows:
        concealed = bool(r.hidden) or bool(r.suspended)
        may_read = not r.deleted and (not concealed or moderator or r.user_pk == viewer_pk)
        c = ThreadComment(
            pk=r.pk,
            parent_pk=r.parent_pk,
            author=r.author,
            author_pk=r.user_pk,
            body=r.body if may_read else "",
            html=r.html if may_read else "",
            created_at=_aware(r.created_at) or now(),
            edited_at=_aware(r.edited_at),
            deleted=bool(r.deleted),
            hidden=bool(r.hidden),
            suspended=bool(r.suspended),
            readable=may_read,
        )
        if r.parent_pk is None:
            top[c.pk] = c
        elif not c.deleted:
            replies.append(c)
    for reply in replies:
        if reply.parent_pk in top:
            top[reply.parent_pk].replies.append(reply)
    return [c for c in top.values() if not c.deleted or c.replies]


def comments_by_user(conn: Connection, user_pk: int, limit: int = 50) -> list[UserComment]:
    """The user's visible comments, newest first (none while the account is suspended)."""
    q = (
        select(comments.c.pk, papers.c.id, papers.c.title, comments.c.html, comments.c.created_at, comments.c.edited_at)
        .join(papers, papers.c.pk == comments.c.paper_pk)
        .join(users, users.c.pk == comments.c.user_pk)
        .where(
            comments.c.user_pk == user_pk,
            comments.c.deleted.is_(False),
            comments.c.hidden.is_(False),
            users.c.suspended.is_(False),
        )
        .order_by(comments.c.pk.desc())
        .limit(limit)
    )
    return [
        UserComment(r.pk, r.id, r.title, r.html, _aware(r.created_at) or now(), _aware(r.edited_at))
        for r in conn.execute(q)
    ]
