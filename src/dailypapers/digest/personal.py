"""What a "for you" digest holds (docs/personal.md): the period's papers, featured or merely ingested, as
the reader's own ranking orders them (personal.for_you), and every new paper of the period from what they
follow, each with its reason; never one the subscriber was mailed before.

One `PersonalDigests` serves a whole delivery run: the period's papers and their tf-idf rows are read
once, each subscriber's ranking is then a few small queries."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from dailypapers.config import Settings
from dailypapers.digest.compose import MAX_PAPERS, DigestPaper
from dailypapers.periods import Period
from dailypapers.personal import for_you
from dailypapers.store import subscribers
from dailypapers.store.db import read_tx
from dailypapers.store.feed import Entry
from dailypapers.store.subscribers import Subscriber

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from dailypapers.search.service import Searcher

FOLLOWED_MAX = 20  # new papers from what the reader follows, beyond the ranked ones


def _paper(e: Entry, reason: str, fallback_day: dt.date) -> DigestPaper:
    authors = ", ".join(a.get("name", "") for a in e.authors)
    day = e.day or (e.published.date() if e.published else fallback_day)
    return DigestPaper(e.pk, e.id, e.title, authors, e.abstract, e.categories, e.upvotes, day, reason)


class PersonalDigests:
    """The "for you" selections of one period's run."""

    def __init__(self, engine: Engine, settings: Settings, period: Period, searcher: Searcher | None = None) -> None:
        self.engine, self.settings, self.period = engine, settings, period
        self._searcher = searcher
        self._snap: for_you.Snapshot | None = None

    @property
    def searcher(self) -> Searcher:
        if self._searcher is None:
            from dailypapers.search.service import Searcher

            self._searcher = Searcher(self.engine, self.settings)
        return self._searcher

    def choose(self, sub: Subscriber) -> list[DigestPaper]:
        """The subscriber's papers: their top MAX_PAPERS of the period, then new papers from their follows
        (at most FOLLOWED_MAX more), none mailed to them before. Empty when the member has told us nothing
        yet (no signal, no follow) or nothing is new."""
        if sub.user_pk is None:
            return []
        if self._snap is None:
            self._snap = for_you.snapshot_between(self.engine, self.settings, self.period.start, self.period.end)
        snap = self._snap
        candidates = [int(pk) for pk in snap.window.pks]
        with read_tx(self.engine) as conn:
            received = subscribers.received_among(conn, [sub.pk], candidates).get(sub.pk, set())
        ranked = for_you.rank_snapshot(
            self.engine, self.settings, snap, self.searcher, sub.user_pk, self.period.start, len(candidates), received
        )
        if ranked is None:
            return []
        picks = ranked[0]
        top = picks[:MAX_PAPERS]
        extra = [p for p in picks[MAX_PAPERS:] if p.followed][:FOLLOWED_MAX]
        return [_paper(p.entry, p.reason, self.period.end) for p in top + extra]
