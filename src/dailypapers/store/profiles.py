"""What a user's profile page shows: who they are, what they submitted, upvoted and commented on."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Connection, func, select

from dailypapers.store import shown
from dailypapers.store.convert import as_date, aware
from dailypapers.store.schema import Comment, DailyListing, Paper, User, Vote

users = User.__table__
papers = Paper.__table__
listings = DailyListing.__table__
votes = Vote.__table__
comments = Comment.__table__


@dataclass(frozen=True, slots=True)
class Profile:
    pk: int
    name: str
    fullname: str
    avatar_url: str
    external: bool
    role: str
    suspended: bool
    created_at: dt.datetime | None


@dataclass(frozen=True, slots=True)
class Submission:
    paper_id: str
    title: str
    day: dt.date
    upvotes: int
    source: str


@dataclass(frozen=True, slots=True)
class Upvote:
    paper_id: str
    title: str
    voted_at: dt.datetime | None


@dataclass(frozen=True, slots=True)
class CommentRef:
    pk: int
    paper_id: str
    title: str
    body: str
    created_at: dt.datetime | None
    hidden: bool

    @property
    def link(self) -> str:
        return f"/papers/{self.paper_id}#comment-{self.pk}"


def profile_by_name(conn: Connection, name: str) -> Profile | None:
    """The user called `name` (case-insensitively), members and imported submitters alike."""
    row = conn.execute(
        select(
            users.c.pk,
            users.c.name,
            users.c.fullname,
            users.c.avatar_url,
            users.c.external,
            users.c.role,
            users.c.suspended,
            users.c.created_at,
        ).where(func.lower(users.c.name) == name.lower())
    ).first()
    if row is None:
        return None
    return Profile(
        row.pk,
        row.name,
        row.fullname or "",
        row.avatar_url or "",
        bool(row.external),
        row.role or "user",
        bool(row.suspended),
        aware(row.created_at),
    )


def submissions_of(conn: Connection, user_pk: int, limit: int = 100) -> list[Submission]:
    """Papers the user featured (or that a source credits to them), most recent day first."""
    q = (
        select(
            papers.c.pk,
            papers.c.votes,
            papers.c.num_comments,
            papers.c.id,
            papers.c.title,
            listings.c.day,
            (listings.c.upvotes + papers.c.votes).label("upvotes"),
            listings.c.source,
        )
        .join(papers, papers.c.pk == listings.c.paper_pk)
        .where(listings.c.submitter_pk == user_pk)
        .order_by(listings.c.day.desc(), listings.c.pk.desc())
        .limit(limit)
    )
    rows = conn.execute(q).all()
    for r in rows:
        shown.paper(r.pk, r.votes, r.num_comments)
    return [Submission(r.id, r.title, as_date(r.day), int(r.upvotes or 0), r.source) for r in rows]


def upvotes_of(conn: Connection, user_pk: int, limit: int = 100) -> list[Upvote]:
    """Papers the user upvoted on this site, most recent vote first."""
    shown.member_votes(conn, user_pk)
    q = (
        select(papers.c.id, papers.c.title, votes.c.created_at)
        .join(papers, papers.c.pk == votes.c.paper_pk)
        .where(votes.c.user_pk == user_pk)
        .order_by(votes.c.created_at.desc(), papers.c.pk.desc())
        .limit(limit)
    )
    return [Upvote(r.id, r.title, aware(r.created_at)) for r in conn.execute(q)]


def comments_of(conn: Connection, user_pk: int, *, include_concealed: bool, limit: int = 100) -> list[CommentRef]:
    """The user's comments, newest first, never the deleted ones. Those hidden by a moderator, and all
    of them while the author is suspended, only with `include_concealed` (for the author and moderators)."""
    shown.member_comments(conn, user_pk)
    q = (
        select(
            comments.c.pk,
            papers.c.id,
            papers.c.title,
            comments.c.body,
            comments.c.created_at,
            comments.c.hidden,
        )
        .join(papers, papers.c.pk == comments.c.paper_pk)
        .join(users, users.c.pk == comments.c.user_pk)
        .where(comments.c.user_pk == user_pk, comments.c.deleted.is_(False))
        .order_by(comments.c.pk.desc())
        .limit(limit)
    )
    if not include_concealed:
        q = q.where(comments.c.hidden.is_(False), users.c.suspended.is_(False))
    return [CommentRef(r.pk, r.id, r.title, r.body, aware(r.created_at), bool(r.hidden)) for r in conn.execute(q)]
