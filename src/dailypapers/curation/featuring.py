"""Featuring papers on days: a member submits an arXiv paper to today's feed; curators and admins feature
any paper on any day, take it off, pin and unpin it. Curators' actions go to the audit log.

Refusals are `problems` (no HTTP here): BadRequest for text that is no arXiv id (or that arXiv refuses)
and days out of range, NotFound for papers arXiv or the store lacks, Forbidden for non-curators,
Unavailable when arXiv cannot be reached.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from dailypapers.config import Settings
from dailypapers.ingest.lookup import ArxivRejected, ArxivUnreachable, find_or_fetch
from dailypapers.problems import BadRequest, Forbidden, NotFound, Unavailable
from dailypapers.sources.arxiv_ids import InvalidArxivId, normalize_arxiv_id
from dailypapers.store import accounts, feed, listings
from dailypapers.store import curation as curation_store
from dailypapers.store.accounts import Account
from dailypapers.store.convert import utc_today
from dailypapers.store.db import write_tx
from dailypapers.store.listings import ListingInfo

if TYPE_CHECKING:
    from sqlalchemy import Connection, Engine

MAX_INPUT = 300
EXAMPLES = "Use an id such as 2401.01234, arXiv:2401.01234v2 or hep-th/9901001, or a link to its arXiv page or PDF."
FIRST_DAY = dt.date(1991, 1, 1)  # arXiv's first year
AHEAD = dt.timedelta(days=366)


@dataclass(frozen=True, slots=True)
class Submitted:
    """The outcome of a submission: the paper and day, and whether someone had featured it already."""

    paper_id: str
    title: str
    day: dt.date
    already_featured: bool
    submitter: str | None


def submit(engine: Engine, settings: Settings, account: Account, text: str) -> Submitted:
    """Feature the paper `text` names (an arXiv id or URL) on today's (UTC) feed, submitted by `account`,
    fetching it from arXiv when the store lacks it (blocking). A paper already featured today stays as it
    is, and the outcome says who featured it."""
    text = text.strip()
    if not text:
        raise BadRequest(f"Enter an arXiv id or URL. {EXAMPLES}")
    if len(text) > MAX_INPUT:
        raise BadRequest(f"That is too long for an arXiv id or URL. {EXAMPLES}")
    try:
        arxiv_id = normalize_arxiv_id(text)
    except InvalidArxivId as exc:
        reason = str(exc)
        raise BadRequest(f"{reason[:1].upper()}{reason[1:]}. {EXAMPLES}") from exc
    try:
        paper_id = find_or_fetch(engine, settings, arxiv_id)
    except ArxivRejected as exc:
        raise BadRequest(f"{exc}.") from exc
    except ArxivUnreachable as exc:
        raise Unavailable(f"{exc}. Please try again in a few minutes.") from exc
    if paper_id is None:
        raise NotFound(f"arXiv has no paper {arxiv_id}. Check the id and try again.")
    day = utc_today()
    with write_tx(engine) as conn:
        pk = feed.paper_pk_of(conn, paper_id)
        if pk is None:  # deleted between the lookup and now
            raise NotFound(f"Paper {paper_id} is not available.")
        added = listings.feature(conn, pk, day, account.pk, source=listings.USER_SOURCE)
        existing = None if added else listings.listing_of(conn, pk, day)
        title = feed.title_of(conn, pk)
    submitter = existing.submitter if existing else account.name
    return Submitted(paper_id, title, day, not added, submitter)


def _curator(account: Account) -> None:
    if not account.is_curator:
        raise Forbidden("Only curators and admins can do this")


def _paper_pk(conn: Connection, paper_id: str) -> int:
    pk = feed.paper_pk_of(conn, paper_id)
    if pk is None:
        raise NotFound(f"No paper {paper_id!r} here.")
    return pk


def _log(conn: Connection, curator: Account, action: str, paper_id: str, day: dt.date, **detail: str) -> None:
    accounts.log_action(conn, curator.pk, action, f"paper:{paper_id}@{day.isoformat()}", **detail)


def feature(engine: Engine, curator: Account, paper_id: str, day: dt.date) -> bool:
    """Feature the paper on `day` (from arXiv's first year to a year ahead); False when it already was."""
    _curator(curator)
    last = utc_today() + AHEAD
    if not FIRST_DAY <= day <= last:
        raise BadRequest(f"Choose a day from {FIRST_DAY.isoformat()} to {last.isoformat()}.")
    with write_tx(engine) as conn:
        added = listings.feature(conn, _paper_pk(conn, paper_id), day, curator.pk, source=listings.CURATOR_SOURCE)
        if added:
            _log(conn, curator, "feature", paper_id, day, source=listings.CURATOR_SOURCE)
    return added


def unfeature(engine: Engine, curator: Account, paper_id: str, day: dt.date) -> None:
    """Take the paper (with its listing's upvotes) off `day`'s feed. The curation model's pick stays off:
    it is skipped for that day (a later pick of the day passes it over)."""
    _curator(curator)
    with write_tx(engine) as conn:
        pk = _paper_pk(conn, paper_id)
        found = listings.listing_of(conn, pk, day)
        if found is None or not listings.unfeature(conn, pk, day):
            raise NotFound(f"Paper {paper_id} is not featured on {day.isoformat()}.")
        if found.source == listings.MODEL_SOURCE:
            curation_store.skip(conn, pk, day, curator.pk)
        _log(conn, curator, "unfeature", paper_id, day)


def skip(engine: Engine, curator: Account, paper_id: str, day: dt.date) -> None:
    """Not for this community: the paper is not auto-picked for `day`, and the model's pick is taken off."""
    _curator(curator)
    with write_tx(engine) as conn:
        pk = _paper_pk(conn, paper_id)
        found = listings.listing_of(conn, pk, day)
        if found is not None and found.source == listings.MODEL_SOURCE:
            listings.unfeature(conn, pk, day)
        if curation_store.skip(conn, pk, day, curator.pk):
            _log(conn, curator, "skip", paper_id, day)


def unskip(engine: Engine, curator: Account, paper_id: str, day: dt.date) -> None:
    """Take a skip back (the next pick of the day may choose the paper again)."""
    _curator(curator)
    with write_tx(engine) as conn:
        if curation_store.unskip(conn, _paper_pk(conn, paper_id), day):
            _log(conn, curator, "unskip", paper_id, day)


def set_pinned(engine: Engine, curator: Account, paper_id: str, day: dt.date, pinned: bool) -> None:
    """Pin (or unpin) the paper on `day`: pinned papers come first on their day."""
    _curator(curator)
    with write_tx(engine) as conn:
        pk = _paper_pk(conn, paper_id)
        if listings.listing_of(conn, pk, day) is None:
            raise NotFound(f"Paper {paper_id} is not featured on {day.isoformat()}.")
        if listings.set_pinned(conn, pk, day, pinned):
            _log(conn, curator, "pin" if pinned else "unpin", paper_id, day)


@dataclass(frozen=True, slots=True)
class Panel:
    """What a paper page's curation panel shows its viewer."""

    today: dt.date
    submitted_today: bool  # the viewer put it on today's feed
    is_curator: bool
    listings: list[ListingInfo]  # every day it is featured on (for curators only)


def panel(conn: Connection, paper_pk: int, viewer: Account | None) -> Panel | None:
    """The curation panel of a paper page: nothing for visitors, the tools for curators."""
    if viewer is None:
        return None
    today = utc_today()
    days = listings.listings_of(conn, paper_pk)
    submitted_today = any(
        li.day == today and li.submitter_pk == viewer.pk and li.source == listings.USER_SOURCE for li in days
    )
    return Panel(today, submitted_today, viewer.is_curator, days if viewer.is_curator else [])
