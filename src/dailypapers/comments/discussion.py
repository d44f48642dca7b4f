"""The rules of a paper's discussion: who may post, reply, edit, delete, hide and read what.

- A reply attaches to a top-level comment: a reply to a reply joins its thread (one level of replies).
- Only a comment's author edits or deletes it; deleting drops its text but keeps it as "[deleted]" above
  its replies. Curators and admins hide and unhide comments, and that is written to the audit log.
- Hidden comments, and those of suspended accounts, are readable only by their author and moderators.

Each use case runs in its own write transaction; refusals are `problems` (no HTTP here).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING

from dailypapers.comments.markdown import BodyProblem, check_body, render_markdown
from dailypapers.problems import Forbidden, NotFound, Unprocessable
from dailypapers.store import accounts, comments, feed
from dailypapers.store.accounts import Account
from dailypapers.store.comments import CommentInfo
from dailypapers.store.db import write_tx

if TYPE_CHECKING:
    from sqlalchemy import Connection, Engine


class InvalidComment(Unprocessable):
    """The body, or the comment replied to, is not acceptable."""


@dataclass(frozen=True, slots=True)
class ThreadComment(CommentInfo):
    """A comment as one viewer may see it: `readable` is False (and `html`, `body` empty) when they may not
    read it (deleted, or concealed from anyone but its author and moderators); `replies` below it."""

    readable: bool = True
    replies: list[ThreadComment] = field(default_factory=list)

    @property
    def concealed(self) -> bool:
        """Hidden by a moderator, or written by a suspended account."""
        return self.hidden or self.suspended


def _clean(body: str) -> tuple[str, str]:
    try:
        body = check_body(body)
    except BodyProblem as exc:
        raise InvalidComment(str(exc)) from exc
    return body, render_markdown(body)


def post(engine: Engine, paper_id: str, author: Account, body: str, parent_pk: int | None = None) -> CommentInfo:
    """Post a comment on `paper_id` (or a reply to `parent_pk`)."""
    body, html = _clean(body)
    with write_tx(engine) as conn:
        paper_pk = feed.paper_pk_of(conn, paper_id)
        if paper_pk is None:
            raise NotFound(f"Paper {paper_id} not found")
        comments.lock_for_comment(conn, author.pk, paper_pk)
        if parent_pk is not None:
            parent = comments.get_comment(conn, parent_pk)
            if parent is None or parent.paper_pk != paper_pk:
                raise InvalidComment("The comment you replied to is not on this paper.")
            if parent.deleted or parent.hidden:
                raise InvalidComment("That comment was deleted or hidden; it cannot get new replies.")
            parent_pk = parent.parent_pk or parent_pk
        pk = comments.insert_comment(conn, paper_pk, author.pk, parent_pk, body, html)
        return _get(conn, pk)


def _get(conn: Connection, pk: int) -> CommentInfo:
    info = comments.get_comment(conn, pk)
    if info is None:
        raise NotFound("No such comment.")
    return info


def _own(conn: Connection, pk: int, author: Account) -> CommentInfo:
    info = comments.get_comment(conn, pk)
    if info is None or info.deleted:
        raise NotFound("No such comment (it may have been deleted).")
    if info.user_pk != author.pk:
        raise Forbidden("You can only change your own comments.")
    return info


def edit(engine: Engine, pk: int, author: Account, body: str) -> CommentInfo:
    """Replace the text of the author's own comment; returns it as changed."""
    body, html = _clean(body)
    with write_tx(engine) as conn:
        _own(conn, pk, author)
        if not comments.update_body(conn, pk, body, html):  # deleted meanwhile
            raise NotFound("No such comment (it may have been deleted).")
        return _get(conn, pk)


def delete(engine: Engine, pk: int, author: Account) -> CommentInfo:
    """Delete the author's own comment; returns it as it was."""
    with write_tx(engine) as conn:
        info = _own(conn, pk, author)
        comments.soft_delete(conn, pk, info.paper_pk)
        return info


def set_hidden(engine: Engine, pk: int, moderator: Account, hidden: bool) -> CommentInfo:
    """Hide (or unhide) a comment, as a curator or admin; the change goes to the audit log."""
    if not moderator.is_curator:
        raise Forbidden("Only curators and admins can do this")
    with write_tx(engine) as conn:
        info = _get(conn, pk)
        if info.hidden != hidden:
            comments.set_hidden(conn, pk, info.paper_pk, hidden)
            action = "comment.hide" if hidden else "comment.unhide"
            accounts.log_action(conn, moderator.pk, action, f"comment:{pk}", paper=info.paper_id, author=info.author)
        return info


def thread(conn: Connection, paper_pk: int, viewer: Account | None) -> list[ThreadComment]:
    """A paper's discussion as `viewer` sees it: top-level comments with their replies, oldest first.

    Deleted comments are left out, except a top-level one with replies, which stays as "[deleted]".
    """
    moderator = bool(viewer and viewer.is_curator)
    top: dict[int, ThreadComment] = {}
    replies: list[ThreadComment] = []
    for c in comments.paper_comments(conn, paper_pk):
        concealed = c.hidden or c.suspended
        may_read = not c.deleted and (not concealed or moderator or (viewer is not None and c.user_pk == viewer.pk))
        facts = {f.name: getattr(c, f.name) for f in fields(CommentInfo)}
        if not may_read:
            facts.update(body="", html="")
        shown = ThreadComment(**facts, readable=may_read)
        if c.parent_pk is None:
            top[c.pk] = shown
        elif not c.deleted:
            replies.append(shown)
    for reply in replies:
        if reply.parent_pk in top:
            top[reply.parent_pk].replies.append(reply)
    return [c for c in top.values() if not c.deleted or c.replies]
