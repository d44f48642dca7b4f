"""Listings written by hand: a paper featured on a day by a member's submission or a curator, unfeatured,
pinned or unpinned. Every change bumps the data version (page caches notice). Who may do what, and
the audit log, are `curation.featuring`'s.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Connection, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite

from dailypapers.store.convert import as_date, utc_now
from dailypapers.store.db import bump_data_version
from dailypapers.store.schema import DailyListing, User

listings = DailyListing.__table__
users = User.__table__
USER_SOURCE = "user"
CURATOR_SOURCE = "curator"
AUTO_PREFIX = "auto:"  # featured by a rule, not by a person: every new paper of a category, or the model's pick
MODEL_SOURCE = "auto:model"  # picked by the curation model for this community (with its reason)


@dataclass(frozen=True, slots=True)
class ListingInfo:
    """One day a paper is featured on, as the curation panel shows it."""

    day: dt.date
    source: str
    submitter: str | None
    submitter_pk: int | None
    pinned: bool
    upvotes: int


def listing_of(conn: Connection, paper_pk: int, day: dt.date) -> ListingInfo | None:
    """The listing that features the paper on `day`, if any."""
    found = listings_of(conn, paper_pk, day=day)
    return found[0] if found else None


def listings_of(conn: Connection, paper_pk: int, *, day: dt.date | None = None) -> list[ListingInfo]:
    """Every day the paper is featured on (or only `day`), oldest first."""
    q = (
        select(listings.c.day, listings.c.source, users.c.name, users.c.pk, listings.c.pinned, listings.c.upvotes)
        .select_from(listings.outerjoin(users, users.c.pk == listings.c.submitter_pk))
        .where(listings.c.paper_pk == paper_pk)
        .order_by(listings.c.day)
    )
    if day is not None:
        q = q.where(listings.c.day == day)
    return [
        ListingInfo(as_date(r.day), r.source, r.name, r.pk, bool(r.pinned), r.upvotes or 0) for r in conn.execute(q)
    ]


def feature(
    conn: Connection, paper_pk: int, day: dt.date, user_pk: int | None, source: str = USER_SOURCE, reason: str = ""
) -> bool:
    """Feature a paper on `day`, submitted by `user_pk` (with why, for a model's pick); False (and no
    change) when it already is.

    Safe against a concurrent feature of the same paper and day: the unique (paper, day) key
    decides, and the loser gets False.
    """
    values = {
        "paper_pk": paper_pk,
        "day": day,
        "source": source,
        "submitter_pk": user_pk,
        "upvotes": 0,
        "pinned": False,
        "created_at": utc_now(),
        "reason": reason,
    }
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(listings).values(**values).on_conflict_do_nothing(index_elements=["paper_pk", "day"])
    # RETURNING, not rowcount: with an implicit RETURNING the PostgreSQL driver reports rowcount -1.
    added = conn.execute(stmt.returning(listings.c.pk)).first() is not None
    if added:
        bump_data_version(conn)
    return added


def unfeature(conn: Connection, paper_pk: int, day: dt.date) -> bool:
    """Take a paper off `day`'s feed (with the listing's upvote count); False when it was not on it."""
    removed = conn.execute(delete(listings).where(listings.c.paper_pk == paper_pk, listings.c.day == day)).rowcount
    if removed:
        bump_data_version(conn)
    return bool(removed)


def set_pinned(conn: Connection, paper_pk: int, day: dt.date, pinned: bool) -> bool:
    """Pin (or unpin) the paper's listing on `day`: pinned papers come first on their day.

    False when the paper is not featured on `day` or was already in that state.
    """
    changed = conn.execute(
        update(listings)
        .where(listings.c.paper_pk == paper_pk, listings.c.day == day, listings.c.pinned != pinned)
        .values(pinned=pinned)
    ).rowcount
    if changed:
        bump_data_version(conn)
    return bool(changed)
