"""A reader's data, all of it: gathered for an export, and deleted with the account (personal.privacy).

`export_of` reads every row the site keeps about one account. `lock_for_deletion` and `delete_account`
remove them in the caller's transaction: votes are taken back one by one through the store's own un-vote
(`votes.set_vote`, so `papers.votes` stays equal to the rows), comments lose their text and author (those
with replies stay, as "[deleted]", under the built-in `GHOST` account, so other people's replies keep their
thread; the others go) and `papers.num_comments` is recounted, submissions and curators' skips lose their
submitter, and the personal rows, sessions, API tokens and digest subscriptions go with the user's row.

Lock order, as every other writer takes it (store/comments.py): users' rows (the admins' and the account's,
by pk), then papers (by pk), then `data_version` (bumped last).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Table, delete, exists, func, or_, select, update

from dailypapers.store import votes as vote_rows
from dailypapers.store.convert import upsert_insert, utc_now
from dailypapers.store.db import bump_data_version
from dailypapers.store.schema import (
    ApiToken,
    AuditEntry,
    Comment,
    DailyListing,
    DigestDelivery,
    DigestPaper,
    Paper,
    Session,
    Subscriber,
    User,
    Vote,
)
from dailypapers.store.schema_derived import CurationSkip
from dailypapers.store.schema_personal import (
    Collection,
    CollectionPaper,
    Dismissal,
    Follow,
    LibraryEntry,
    ReaderProfile,
    Save,
)

users: Table = User.__table__  # type: ignore[assignment]
papers: Table = Paper.__table__  # type: ignore[assignment]
sessions: Table = Session.__table__  # type: ignore[assignment]
tokens: Table = ApiToken.__table__  # type: ignore[assignment]
votes: Table = Vote.__table__  # type: ignore[assignment]
comments: Table = Comment.__table__  # type: ignore[assignment]
listings: Table = DailyListing.__table__  # type: ignore[assignment]
audit: Table = AuditEntry.__table__  # type: ignore[assignment]
subscribers: Table = Subscriber.__table__  # type: ignore[assignment]
deliveries: Table = DigestDelivery.__table__  # type: ignore[assignment]
digest_papers: Table = DigestPaper.__table__  # type: ignore[assignment]
skips: Table = CurationSkip.__table__  # type: ignore[assignment]
saves: Table = Save.__table__  # type: ignore[assignment]
collections: Table = Collection.__table__  # type: ignore[assignment]
collection_papers: Table = CollectionPaper.__table__  # type: ignore[assignment]
follows: Table = Follow.__table__  # type: ignore[assignment]
library: Table = LibraryEntry.__table__  # type: ignore[assignment]
dismissals: Table = Dismissal.__table__  # type: ignore[assignment]
reader_profiles: Table = ReaderProfile.__table__  # type: ignore[assignment]

# The one account deleted members' comments that still carry replies are kept under. Its name is no valid
# username (accounts.rules), so nobody can sign up as it or be mistaken for it; it is external (no member).
GHOST = "[deleted]"

# Columns an export never holds: secrets (hashes of passwords and tokens) and derived bytes (vectors, models).
_NEVER = {"password_hash", "token_hash", "vector", "model"}


# Export


def _rows(
    conn: Connection, table: Table, where: Any, order: Iterable[Any], *, paper_of: Any = None, leave_out: str = ""
) -> list[dict[str, Any]]:
    """Every column of `table`'s rows matching `where` (secrets and bytes left out, `user_pk`, the account's
    own key, and `leave_out` too), with the arXiv id and title of the paper `paper_of` (a column) names, as
    `paper` and `paper_title`."""
    cols = [c for c in table.c if c.name not in _NEVER and c.name not in ("user_pk", leave_out)]
    q = select(*cols)
    if paper_of is not None:
        q = select(*cols, papers.c.id.label("paper"), papers.c.title.label("paper_title")).select_from(
            table.outerjoin(papers, papers.c.pk == paper_of)
        )
    return [dict(r._mapping) for r in conn.execute(q.where(where).order_by(*order))]


def _subscriber_pks(conn: Connection, user_pk: int, email: str | None) -> list[int]:
    """The account's digest subscriptions: those made as a member (`user_pk`) and the one of its address."""
    mine = subscribers.c.user_pk == user_pk
    if email:
        mine = or_(mine, subscribers.c.email == email.lower())
    return [int(pk) for pk in conn.execute(select(subscribers.c.pk).where(mine).order_by(subscribers.c.pk)).scalars()]


def export_of(conn: Connection, user_pk: int) -> dict[str, Any] | None:
    """Everything the site stores about the account, as plain rows (None when there is no such account).

    Never its password's hash, session or API tokens' hashes, library vectors or the trained model's bytes."""
    account = conn.execute(
        select(
            users.c.pk,
            users.c.name,
            users.c.fullname,
            users.c.email,
            users.c.avatar_url,
            users.c.created_at,
            users.c.role,
            users.c.active,
            users.c.suspended,
        ).where(users.c.pk == user_pk, users.c.external.is_(False))
    ).first()
    if account is None:
        return None
    mine = {"account": {k: v for k, v in account._mapping.items() if k != "pk"}}
    session_rows = conn.execute(
        select(sessions.c.created_at, sessions.c.expires_at)
        .where(sessions.c.user_pk == user_pk)
        .order_by(sessions.c.created_at)
    )
    session_list = [dict(r._mapping) for r in session_rows]
    mine["sessions"] = {"count": len(session_list), "sessions": session_list}
    mine["api_tokens"] = _rows(conn, tokens, tokens.c.user_pk == user_pk, [tokens.c.pk])
    mine["votes"] = _rows(conn, votes, votes.c.user_pk == user_pk, [votes.c.created_at], paper_of=votes.c.paper_pk)
    mine["comments"] = _rows(
        conn, comments, comments.c.user_pk == user_pk, [comments.c.pk], paper_of=comments.c.paper_pk, leave_out="html"
    )
    mine["submissions"] = _rows(
        conn,
        listings,
        listings.c.submitter_pk == user_pk,
        [listings.c.day, listings.c.pk],
        paper_of=listings.c.paper_pk,
    )
    mine["saves"] = _rows(conn, saves, saves.c.user_pk == user_pk, [saves.c.created_at], paper_of=saves.c.paper_pk)
    mine["collections"] = _rows(conn, collections, collections.c.user_pk == user_pk, [collections.c.pk])
    for collection in mine["collections"]:
        collection["papers"] = _rows(
            conn,
            collection_papers,
            collection_papers.c.collection_pk == collection["pk"],
            [collection_papers.c.added_at],
            paper_of=collection_papers.c.paper_pk,
        )
    mine["follows"] = _rows(conn, follows, follows.c.user_pk == user_pk, [follows.c.pk])
    mine["library"] = _rows(conn, library, library.c.user_pk == user_pk, [library.c.pk], paper_of=library.c.paper_pk)
    mine["not_interested"] = _rows(
        conn, dismissals, dismissals.c.user_pk == user_pk, [dismissals.c.created_at], paper_of=dismissals.c.paper_pk
    )
    profile = _rows(conn, reader_profiles, reader_profiles.c.user_pk == user_pk, [])
    mine["reader_profile"] = profile[0] if profile else None
    subs = []
    for pk in _subscriber_pks(conn, user_pk, account.email):
        sub = _rows(conn, subscribers, subscribers.c.pk == pk, [])[0]
        sub["deliveries"] = _rows(conn, deliveries, deliveries.c.subscriber_pk == pk, [deliveries.c.period])
        sub["papers_sent"] = [
            r["paper"]
            for r in _rows(
                conn,
                digest_papers,
                digest_papers.c.subscriber_pk == pk,
                [papers.c.id],
                paper_of=digest_papers.c.paper_pk,
            )
        ]
        subs.append(sub)
    mine["digest_subscriptions"] = subs
    mine["curation_skips"] = _rows(
        conn, skips, skips.c.user_pk == user_pk, [skips.c.day, skips.c.paper_pk], paper_of=skips.c.paper_pk
    )
    mine["moderation_actions"] = _rows(conn, audit, audit.c.actor_pk == user_pk, [audit.c.pk])
    # Entries naming this username since the account was made (an earlier account of the name is not this one).
    about = (audit.c.target == f"user:{account.name}") & (audit.c.created_at >= account.created_at)
    actor = users.alias("actor")
    about_rows = conn.execute(
        select(actor.c.name.label("actor"), audit.c.action, audit.c.detail, audit.c.created_at)
        .select_from(audit.outerjoin(actor, actor.c.pk == audit.c.actor_pk))
        .where(about)
        .order_by(audit.c.pk)
    )
    mine["audit_entries_about_you"] = [dict(r._mapping) for r in about_rows]
    return mine


# Deletion


@dataclass(frozen=True, slots=True)
class Doomed:
    """The account about to be deleted, its row (and every admin's) locked until the transaction ends."""

    pk: int
    name: str
    email: str | None
    role: str
    other_admins: int  # active, unsuspended admins besides this account


def lock_for_deletion(conn: Connection, user_pk: int) -> Doomed | None:
    """Lock the account's row and every admin's (by pk, so two admins leaving at once see each other's
    answer: the second counts the admins the first left); None when the account is gone (or external)."""
    rows = conn.execute(
        select(
            users.c.pk, users.c.name, users.c.email, users.c.role, users.c.active, users.c.suspended, users.c.external
        )
        .where(or_(users.c.pk == user_pk, users.c.role == "admin"))
        .order_by(users.c.pk)
        .with_for_update()
    ).all()
    me = next((r for r in rows if r.pk == user_pk and not r.external), None)
    if me is None:
        return None
    others = sum(
        1 for r in rows if r.pk != user_pk and r.role == "admin" and r.active and not r.suspended and not r.external
    )
    return Doomed(int(me.pk), me.name, me.email, me.role, others)


@dataclass(frozen=True, slots=True)
class Deleted:
    """What deleting an account removed or changed, by kind."""

    name: str
    votes: int
    comments_removed: int
    comments_kept_as_deleted: int  # they had replies: kept, without text or author, above them
    submissions: int  # listings that stay, without their submitter
    saves: int
    collections: int
    follows: int
    library_entries: int
    dismissals: int
    sessions: int
    api_tokens: int
    digest_subscriptions: int


def ghost_pk(conn: Connection) -> int:
    """The built-in account that deleted members' comments with replies are kept under (made when first needed)."""
    row = {
        "name": GHOST,
        "fullname": "deleted",
        "avatar_url": "",
        "external": True,
        "created_at": utc_now(),
        "email": None,
        "password_hash": None,
        "role": "user",
        "active": False,
        "suspended": False,
    }
    conn.execute(upsert_insert(conn)(users).values(row).on_conflict_do_nothing(index_elements=["name"]))
    return int(conn.execute(select(users.c.pk).where(users.c.name == GHOST)).scalar_one())


def _lock_papers(conn: Connection, paper_pks: Iterable[int]) -> list[int]:
    """Lock these papers' rows in pk order (as store/comments.py does, so concurrent writers cannot deadlock)."""
    pks = sorted(set(paper_pks))
    if pks:
        conn.execute(select(papers.c.pk).where(papers.c.pk.in_(pks)).order_by(papers.c.pk).with_for_update())
    return pks


def _recount_comments(conn: Connection, paper_pks: list[int]) -> None:
    """`papers.num_comments` as store/comments.py counts it: visible comments (not deleted, not hidden, author
    not suspended)."""
    if not paper_pks:
        return
    visible = (
        select(func.count())
        .select_from(comments.join(users, users.c.pk == comments.c.user_pk))
        .where(
            comments.c.paper_pk == papers.c.pk,
            comments.c.deleted.is_(False),
            comments.c.hidden.is_(False),
            users.c.suspended.is_(False),
        )
        .scalar_subquery()
    )
    conn.execute(update(papers).where(papers.c.pk.in_(paper_pks)).values(num_comments=visible))


def _count(result: Any) -> int:
    return int(result.rowcount or 0)


def delete_account(conn: Connection, doomed: Doomed) -> Deleted:
    """Delete the account `lock_for_deletion` locked and everything personal of it (see the module's doc)."""
    pk = doomed.pk
    ghost = ghost_pk(conn)
    voted = list(conn.execute(select(votes.c.paper_pk).where(votes.c.user_pk == pk)).scalars())
    commented = list(conn.execute(select(comments.c.paper_pk).where(comments.c.user_pk == pk).distinct()).scalars())
    _lock_papers(conn, [*voted, *commented])
    taken_back = sum(vote_rows.set_vote(conn, pk, paper_pk, False) for paper_pk in sorted(voted))

    reply = comments.alias("reply")
    has_replies = exists().where(reply.c.parent_pk == comments.c.pk)
    # Twice: a comment whose only replies were the account's own has none left after the first pass.
    removed = sum(
        _count(conn.execute(delete(comments).where(comments.c.user_pk == pk, ~has_replies))) for _ in range(2)
    )
    kept = _count(
        conn.execute(
            update(comments).where(comments.c.user_pk == pk).values(user_pk=ghost, deleted=True, body="", html="")
        )
    )
    _recount_comments(conn, sorted(set(commented)))

    submissions = _count(conn.execute(update(listings).where(listings.c.submitter_pk == pk).values(submitter_pk=None)))
    conn.execute(update(skips).where(skips.c.user_pk == pk).values(user_pk=None))
    conn.execute(update(audit).where(audit.c.actor_pk == pk).values(actor_pk=None))

    subs = _subscriber_pks(conn, pk, doomed.email)
    if subs:
        conn.execute(delete(digest_papers).where(digest_papers.c.subscriber_pk.in_(subs)))
        conn.execute(delete(deliveries).where(deliveries.c.subscriber_pk.in_(subs)))
        conn.execute(delete(subscribers).where(subscribers.c.pk.in_(subs)))

    owned = select(collections.c.pk).where(collections.c.user_pk == pk)
    conn.execute(delete(collection_papers).where(collection_papers.c.collection_pk.in_(owned)))
    gone = {
        name: _count(conn.execute(delete(table).where(table.c.user_pk == pk)))
        for name, table in (
            ("saves", saves),
            ("collections", collections),
            ("follows", follows),
            ("library_entries", library),
            ("dismissals", dismissals),
            ("reader_profiles", reader_profiles),
            ("sessions", sessions),
            ("api_tokens", tokens),
        )
    }
    conn.execute(delete(users).where(users.c.pk == pk))
    bump_data_version(conn)
    return Deleted(
        name=doomed.name,
        votes=taken_back,
        comments_removed=removed,
        comments_kept_as_deleted=kept,
        submissions=submissions,
        saves=gone["saves"],
        collections=gone["collections"],
        follows=gone["follows"],
        library_entries=gone["library_entries"],
        dismissals=gone["dismissals"],
        sessions=gone["sessions"],
        api_tokens=gone["api_tokens"],
        digest_subscriptions=len(subs),
    )
