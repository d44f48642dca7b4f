"""Following authors, organizations, categories and saved searches: what a reader follows, the new papers
that brings them (the Following page) and which follows match candidate papers ("for you").

A follow is kept under the key its matching uses: an author's name as `sources.names.author_key` makes it
(`Bal\\'azs`, `Balázs` and `balazs` are one follow), an organization's as `org_key`, a category in lower
case (an archive, `cs`, follows all its classes), a search as typed (whitespace collapsed). Its label is
how the reader wrote it, for display. Every change marks the reader's profile stale, in its transaction.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from dailypapers.problems import NotFound, Unprocessable
from dailypapers.search.query import MAX_INPUT, Query, clean, parse
from dailypapers.sources.categories import filter_categories
from dailypapers.sources.names import MAX_NAME, author_key, org_key, tex_to_unicode
from dailypapers.store import feed, reader_profiles
from dailypapers.store import follows as stored
from dailypapers.store.accounts import Account
from dailypapers.store.db import read_tx, write_tx
from dailypapers.store.feed import Entry

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from dailypapers.search.service import Searcher

KINDS = ("author", "org", "category", "search")
MAX_FOLLOWS = 500  # per reader, every kind together
MAX_SEARCHES = 50  # saved searches per reader: each is one search on every Following page
MAX_SEARCH = 500  # characters of a saved search
MATCH_CAP = 2000  # matches read per kind of follow (authors and organizations; categories) for one page
SEARCH_DEPTH = 500  # a saved search's hits looked at for new papers
# A search's dates are submission days; a paper is new by its announcement, days later: search from earlier.
SEARCH_SLACK = dt.timedelta(days=14)


@dataclass(frozen=True, slots=True)
class FollowInfo:
    """One follow of a reader: `key` what it matches, `label` how the reader wrote it."""

    pk: int
    kind: str
    key: str
    label: str
    created_at: dt.datetime

    @property
    def reason(self) -> str:
        """Why a paper this follow brings is shown, in words."""
        return reason(self.kind, self.label or self.key)


@dataclass(slots=True)
class FollowedPaper:
    """A new paper from what a reader follows: its card, the day it counts as new on, and the follows that
    brought it (`reasons`: theirs in words, authors first, then organizations, categories and searches)."""

    pk: int
    entry: Entry
    day: dt.date | None
    follows: list[FollowInfo] = field(default_factory=list)

    @property
    def reasons(self) -> list[str]:
        return [f.reason for f in self.follows]


def reason(kind: str, label: str) -> str:
    if kind == "author":
        return f"by an author you follow: {label}"
    if kind == "org":
        return f"from an organization you follow: {label}"
    if kind == "category":
        return f"in {label}, a category you follow"
    return f"matches your search '{label}'"


def _info(row: stored.FollowRow) -> FollowInfo:
    return FollowInfo(row.pk, row.kind, row.key, row.label, row.created_at)


def _shown(value: str) -> str:
    return repr(value if len(value) <= 40 else value[:40] + "…")


def normalize(kind: str, value: str) -> tuple[str, str]:
    """`(key, label)` of a follow of `value` as `kind`. Raises Unprocessable naming the field at fault."""
    if kind not in KINDS:
        raise Unprocessable(f"kind: one of {', '.join(KINDS)}, not {_shown(kind)}")
    if not isinstance(value, str) or not value.strip():
        raise Unprocessable("value: empty; name an author, an organization, a category or a search")
    if kind == "search":
        if len(value) > MAX_SEARCH:
            raise Unprocessable(f"value: a saved search is at most {MAX_SEARCH} characters")
        text = " ".join(clean(value[:MAX_INPUT]).split())
        if parse(text).is_empty or len(text) > MAX_SEARCH:
            raise Unprocessable(f"value: nothing to search for in {_shown(value)}")
        return text, text
    if len(value) > MAX_NAME or not value.isprintable():
        raise Unprocessable(f"value: not a name: at most {MAX_NAME} printable characters")
    written = " ".join(value.split())
    if kind == "category":
        try:
            found = filter_categories([written])
        except Unprocessable as exc:
            raise Unprocessable("value: " + str(exc).removeprefix("cat: ")) from None
        if len(found) != 1:
            raise Unprocessable("value: one category at a time (like cs.CL, or cs for all of cs)")
        return found[0].lower(), found[0]
    key = author_key(written) if kind == "author" else org_key(written)
    if not key:
        raise Unprocessable(f"value: {_shown(value)} has no letter or digit to follow")
    return key, tex_to_unicode(written) if kind == "author" else written


def follow(engine: Engine, account: Account, kind: str, value: str) -> FollowInfo:
    """Follow `value` as `kind` (idempotent: following again changes nothing and answers the follow)."""
    key, label = normalize(kind, value)
    with write_tx(engine) as conn:
        existing = stored.find_follow(conn, account.pk, kind, key)
        if existing is not None:
            return _info(existing)
        if stored.count_follows(conn, account.pk) >= MAX_FOLLOWS:
            raise Unprocessable(f"You follow {MAX_FOLLOWS} things already: unfollow some first")
        if kind == "search" and stored.count_follows(conn, account.pk, "search") >= MAX_SEARCHES:
            raise Unprocessable(f"You follow {MAX_SEARCHES} searches already: unfollow some first")
        row = stored.add_follow(conn, account.pk, kind, key, label)
        reader_profiles.mark_stale(conn, account.pk)
        return _info(row)


def unfollow(engine: Engine, account: Account, kind: str, value: str) -> bool:
    """Stop following `value` as `kind` (idempotent); whether the reader followed it."""
    key, _ = normalize(kind, value)
    with write_tx(engine) as conn:
        removed = stored.remove_follow(conn, account.pk, kind, key)
        if removed:
            reader_profiles.mark_stale(conn, account.pk)
        return removed


def unfollow_by_pk(engine: Engine, account: Account, pk: int) -> FollowInfo:
    """Stop following the reader's follow `pk`; the follow that was. NotFound when they have none `pk`."""
    with write_tx(engine) as conn:
        row = stored.follow_by_pk(conn, account.pk, pk)
        if row is None or not stored.remove_follow_pk(conn, account.pk, pk):
            raise NotFound(f"You follow nothing numbered {pk}")
        reader_profiles.mark_stale(conn, account.pk)
        return _info(row)


def follows_of(engine: Engine, user_pk: int) -> list[FollowInfo]:
    """The reader's follows, oldest first."""
    with read_tx(engine) as conn:
        return [_info(r) for r in stored.follows_of(conn, user_pk)]


def followed(engine: Engine, user_pk: int, kind: str, value: str) -> FollowInfo | None:
    """The reader's follow of `value` as `kind`, if they follow it (None too for a value no follow could have)."""
    try:
        key, _ = normalize(kind, value)
    except Unprocessable:
        return None
    with read_tx(engine) as conn:
        row = stored.find_follow(conn, user_pk, kind, key)
    return _info(row) if row is not None else None


def _order(follows: Sequence[FollowInfo]) -> dict[int, tuple[int, int]]:
    """Follows' pks to where their reasons go: by kind (KINDS' order), then oldest first."""
    return {f.pk: (KINDS.index(f.kind), i) for i, f in enumerate(follows)}


def _search_window(text: str, since: dt.date) -> tuple[Query, Query] | None:
    """The saved search `text` as parsed, and bounded to papers submitted from a little before `since`;
    None when its own dates end before `since`."""
    q = parse(text)
    if q.until is not None and q.until < since - SEARCH_SLACK:
        return None
    start = since - SEARCH_SLACK
    return q, dataclasses.replace(q, since=max(q.since, start) if q.since else start)


def new_from_follows(
    engine: Engine, searcher: Searcher, user_pk: int, since: dt.date, limit: int, offset: int = 0
) -> list[FollowedPaper]:
    """Papers new on or after `since` (by their announcement day, else their first submission's) from what
    the reader follows, newest first: `limit` of them from `offset`. Saved searches run on the site's
    keyword search; a paper counts for one when it holds all its words and passes its filters."""
    with read_tx(engine) as conn:
        follows = [_info(r) for r in stored.follows_of(conn, user_pk)]
        kinds = {f.kind for f in follows}
        matches: list[stored.Match] = []
        if kinds & set(stored.NAMED):
            matches += stored.new_named(conn, user_pk, since, MATCH_CAP)
        if "category" in kinds:
            matches += stored.new_in_categories(conn, user_pk, since, MATCH_CAP)
    for f in follows:
        if f.kind != "search" or (window := _search_window(f.key, since)) is None:
            continue
        q, bounded = window
        hits = [h.pk for h in searcher.search(bounded, "keyword", limit=SEARCH_DEPTH).hits]
        with read_tx(engine) as conn:
            new = stored.new_among(conn, hits, since)
            found = stored.search_matches(conn, q, list(new))
        matches += [stored.Match(pk, new[pk], f.pk) for pk in hits if pk in found]
    page = _grouped(follows, matches)[offset : offset + limit] if limit > 0 else []
    with read_tx(engine) as conn:
        entries = {e.pk: e for e in feed.entries_by_pk(conn, [p[0] for p in page])}
    return [FollowedPaper(pk, entries[pk], day, fs) for pk, day, fs in page if pk in entries]


def _grouped(
    follows: Sequence[FollowInfo], matches: Sequence[stored.Match]
) -> list[tuple[int, dt.date | None, list[FollowInfo]]]:
    """Matches as papers, each with its follows in order, the newest paper first."""
    by_pk = {f.pk: f for f in follows}
    order = _order(follows)
    papers: dict[int, tuple[dt.date | None, set[int]]] = {}
    for m in matches:
        if m.follow_pk in by_pk:
            papers.setdefault(m.paper_pk, (m.day, set()))[1].add(m.follow_pk)
    newest = sorted(papers.items(), key=lambda item: (item[1][0] or dt.date.min, item[0]), reverse=True)
    return [(pk, day, [by_pk[f] for f in sorted(fs, key=order.__getitem__)]) for pk, (day, fs) in newest]


def matches_among(engine: Engine, searcher: Searcher, user_pk: int, pks: Sequence[int]) -> dict[int, list[str]]:
    """For candidate papers `pks`, the reasons (in words) of the reader's follows each matches; papers
    matching none are left out. One query for authors, organizations and categories, one per saved search
    (checked against the search index among the candidates alone, so `searcher` has nothing to rank)."""
    if not pks:
        return {}
    with read_tx(engine) as conn:
        follows = [_info(r) for r in stored.follows_of(conn, user_pk)]
        matches: list[stored.Match] = []
        if any(f.kind != "search" for f in follows):
            matches += stored.named_among(conn, user_pk, pks)
        for f in follows:
            if f.kind == "search":
                matches += [stored.Match(pk, None, f.pk) for pk in stored.search_matches(conn, parse(f.key), pks)]
    return {pk: [f.reason for f in fs] for pk, _, fs in _grouped(follows, matches)}
