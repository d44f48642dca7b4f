"""The reader's own ranking (docs/personal.md): recent papers, featured or merely ingested, ranked from
the reader's signals by `ranking.personal`, each with a short reason.

The parts that cost are kept off the request: a process keeps the recent papers' vectors and tf-idf rows
(`Pool`, refreshed in a thread when papers or the site's idf change), and each reader's word model is
trained by the `reader-profiles` job when their signals change (`train_stale`). A request reads the
reader's signals (a few small queries) and scores a few thousand rows: the ranking follows a new save at
once through the meaning part, and the word model catches up within a minute.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from scipy import sparse

from dailypapers.config import Settings
from dailypapers.personal import follows
from dailypapers.problems import NotFound, Unprocessable
from dailypapers.ranking import order, personal
from dailypapers.ranking.score import TrendingParams, window_start
from dailypapers.sources.latex import plain_text
from dailypapers.store import reader_profiles, signals
from dailypapers.store.db import read_tx, write_tx
from dailypapers.store.feed import Entry, entries_by_pk, latest_day
from dailypapers.store.schema import EMBEDDING_DIM
from dailypapers.store.signals import Signal, Window

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from dailypapers.search.service import Searcher

log = logging.getLogger(__name__)

MAX_DAYS = 30  # the longest `days` a reader may ask for
DEFAULT_DAYS = 7
MAX_LIMIT = 100
IDF_KEY = "document_frequencies"
IDF_DOCUMENTS = 50_000  # the newest papers the site's idf is counted over
IDF_MAX_AGE = dt.timedelta(days=1)
NEGATIVES_DAYS = 120  # the word model learns against papers of this many recent days
POOL_CHECK_SECONDS = 30.0

_REASONS = {
    "saved": "Like “{title}”, which you saved",
    "collection": "Like “{title}” in your collection “{label}”",
    "upvoted": "Like “{title}”, which you upvoted",
    "library": "Like “{title}” from your library",
}


def check_days(days: int) -> int:
    if not 1 <= days <= MAX_DAYS:
        raise Unprocessable(f"days must be from 1 to {MAX_DAYS}, not {days}")
    return days


def check_limit(limit: int) -> int:
    if not 1 <= limit <= MAX_LIMIT:
        raise Unprocessable(f"limit must be from 1 to {MAX_LIMIT}, not {limit}")
    return limit


# -- the site's idf ---------------------------------------------------------------------------------------


def refresh_frequencies(engine: Engine, documents: int = IDF_DOCUMENTS, *, force: bool = False) -> int:
    """Count the hashed terms' document frequencies over the newest papers (a day old at most, unless
    `force`); the number of documents counted (0 when the stored ones are fresh)."""
    with read_tx(engine) as conn:
        updated = signals.state_updated(conn, IDF_KEY)
        if not force and updated is not None and updated > dt.datetime.now(dt.UTC) - IDF_MAX_AGE:
            return 0
        texts = signals.newest_texts(conn, documents)
    df = personal.document_frequencies(personal.term_counts(texts)) if texts else np.zeros(personal.N_FEATURES)
    buf = io.BytesIO()
    np.savez_compressed(buf, df=df.astype(np.int32))
    with write_tx(engine) as conn:
        signals.put_state(conn, IDF_KEY, buf.getvalue(), len(texts))
    return len(texts)


def _idf(conn: object) -> tuple[np.ndarray, dt.datetime | None]:
    stored = signals.state(conn, IDF_KEY)  # type: ignore[arg-type]
    if stored is None:
        return personal.idf_of(None, 0), None
    data, documents, updated = stored
    with np.load(io.BytesIO(data), allow_pickle=False) as z:
        return personal.idf_of(z["df"], documents), updated


# -- training ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Negatives:
    """Papers a word model learns against: a random sample of recent ones, with their tf-idf rows. One
    sample serves every reader trained in a run (drawn again each run)."""

    pks: np.ndarray
    words: sparse.csr_matrix

    @staticmethod
    def draw(engine: Engine) -> Negatives:
        with read_tx(engine) as conn:
            anchor = signals.latest_paper_day(conn) or dt.date.today()
            drawn = signals.sample_texts(conn, anchor - dt.timedelta(days=NEGATIVES_DAYS), personal.NEGATIVES)
            idf, _ = _idf(conn)
        words = personal.features(personal.term_counts([t for _, t in drawn]), idf) if drawn else None
        return Negatives(np.array([pk for pk, _ in drawn], dtype=np.int64), words)  # type: ignore[arg-type]


def train(
    engine: Engine,
    settings: Settings,
    user_pk: int,
    seen: dt.datetime | None = None,
    negatives: Negatives | None = None,
) -> int:
    """Train the reader's word model from their signals now; the number of signals it learned from."""
    negatives = negatives or Negatives.draw(engine)
    with read_tx(engine) as conn:
        mine = signals.reader_signals(conn, user_pk, settings.embed_model, EMBEDDING_DIM, personal.MAX_SIGNALS)
        idf, _ = _idf(conn)
    model = None
    if mine and negatives.words is not None:
        own = np.fromiter((s.paper_pk for s in mine if s.paper_pk is not None), dtype=np.int64)
        others = negatives.words[~np.isin(negatives.pks, own)]  # the reader's own papers are not negatives
        pos = personal.features(personal.term_counts([s.text for s in mine]), idf)
        words = personal.train_words(pos, others)
        model = words.dumps() if words else None
    with write_tx(engine) as conn:
        reader_profiles.store_trained(conn, user_pk, seen, model, len(mine))
    return len(mine)


def train_stale(engine: Engine, settings: Settings, limit: int = 100) -> int:
    """Retrain the readers whose signals changed, the longest waiting first; how many were trained."""
    with read_tx(engine) as conn:
        todo = reader_profiles.stale(conn, limit)
    if not todo:
        return 0
    negatives = Negatives.draw(engine)
    for user_pk, since in todo:
        train(engine, settings, user_pk, seen=since, negatives=negatives)
    return len(todo)


# -- the candidates, kept by each process -----------------------------------------------------------------


@dataclass
class Snapshot:
    anchor: dt.date  # the last day
    window: Window
    words: sparse.csr_matrix
    key: tuple[object, ...]


def snapshot_between(
    engine: Engine, settings: Settings, start: dt.date, end: dt.date, key: tuple[object, ...] = ()
) -> Snapshot:
    """The papers of the days from `start` to `end` with their vectors and tf-idf rows."""
    with read_tx(engine) as conn:
        window = signals.recent_papers(conn, start, settings.embed_model, EMBEDDING_DIM, until=end)
        idf, _ = _idf(conn)
    if window.texts:
        words = personal.features(personal.term_counts(window.texts), idf)
    else:
        words = sparse.csr_matrix((0, personal.N_FEATURES), dtype=np.float32)
    return Snapshot(end, window, words, key)


@dataclass
class Pool:
    """The recent papers a process ranks: the last `MAX_DAYS` days up to the newest paper, with vectors and
    tf-idf rows. Built on first use; afterwards rebuilt in a thread when papers or the idf change, while
    requests go on with the one they have."""

    engine: Engine
    settings: Settings
    _snap: Snapshot | None = None
    _checked: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _busy: bool = False

    def _key(self, conn: object) -> tuple[object, ...]:
        from dailypapers.store.vectors import current_seq

        return (current_seq(conn), signals.state_updated(conn, IDF_KEY), signals.latest_paper_day(conn))  # type: ignore[arg-type]

    def _build(self) -> Snapshot:
        with read_tx(self.engine) as conn:
            key = self._key(conn)
        anchor = key[2] if isinstance(key[2], dt.date) else dt.date.today()
        return snapshot_between(self.engine, self.settings, anchor - dt.timedelta(days=MAX_DAYS - 1), anchor, key)

    def _refresh(self) -> None:
        try:
            snap = self._build()
            with self._lock:
                self._snap = snap
        except Exception:  # a failed refresh keeps the old snapshot; the next check tries again
            log.exception("refreshing the for-you candidates failed")
        finally:
            self._busy = False

    def snapshot(self) -> Snapshot:
        with self._lock:
            snap = self._snap
        if snap is None:
            snap = self._build()
            with self._lock:
                self._snap, self._checked = snap, time.monotonic()
            return snap
        if time.monotonic() - self._checked > POOL_CHECK_SECONDS and not self._busy:
            self._checked = time.monotonic()
            with read_tx(self.engine) as conn:
                stale = self._key(conn) != snap.key
            if stale:
                self._busy = True
                threading.Thread(target=self._refresh, daemon=True, name="for-you-pool").start()
        return snap

    def invalidate(self) -> None:
        """Look again at the next request (tests; after an import in this process)."""
        self._checked = 0.0


# -- ranking ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pick:
    entry: Entry
    score: float
    reason: str
    kind: str  # follow | signal | trending
    followed: bool = False  # it comes from something the reader follows (whatever its reason says)


@dataclass(frozen=True)
class ForYou:
    picks: list[Pick]
    personal: bool  # False: the reader has no signals yet, and these are the community's trending papers
    signals: int
    follows: int
    days: int
    since: dt.date | None
    until: dt.date | None


def _reason(signal: Signal) -> str:
    title = " ".join(plain_text(signal.title).split())  # TeX as readable text: a reason is plain text
    title = title if len(title) <= 90 else title[:88].rstrip() + "…"
    return _REASONS[signal.kind].format(title=title, label=signal.label)


def recommend(
    engine: Engine, settings: Settings, pool: Pool, searcher: Searcher | None, user_pk: int, days: int, limit: int
) -> ForYou:
    """The reader's top `limit` papers of the last `days` days (up to the newest paper), best first."""
    check_days(days)
    check_limit(limit)
    snap = pool.snapshot()
    since = snap.anchor - dt.timedelta(days=days - 1)
    ranked = rank_snapshot(engine, settings, snap, searcher, user_pk, since, limit)
    if ranked is None:
        return community_trending(engine, settings, 0, limit, days)
    picks, signal_count, follow_count = ranked
    if not picks and not signal_count and not follow_count:
        return community_trending(engine, settings, 0, limit, days)
    return ForYou(picks, True, signal_count, follow_count, days, since, snap.anchor)


def rank_snapshot(
    engine: Engine,
    settings: Settings,
    snap: Snapshot,
    searcher: Searcher | None,
    user_pk: int,
    since: dt.date,
    limit: int,
    leave_out: set[int] | frozenset[int] = frozenset(),
) -> tuple[list[Pick], int, int] | None:
    """The reader's best `limit` papers of `snap` from `since` on, without `leave_out`, with the number of
    signals and follows they came from; None when the reader has neither (nothing personal to rank by)."""
    with read_tx(engine) as conn:
        mine = signals.reader_signals(conn, user_pk, settings.embed_model, EMBEDDING_DIM, personal.MAX_SIGNALS)
        _, dismissed_vectors = signals.dismissed(conn, user_pk, settings.embed_model, EMBEDDING_DIM)
        skip = signals.excluded(conn, user_pk) | set(leave_out)
        profile = reader_profiles.profile_of(conn, user_pk)
    following = follows.follows_of(engine, user_pk)
    with_vectors = [s for s in mine if s.vector is not None]
    if not with_vectors and not following:
        return None
    w = snap.window
    rows = np.flatnonzero(w.days >= np.datetime64(since, "D"))
    if skip:
        rows = rows[~np.isin(w.pks[rows], np.fromiter(skip, dtype=np.int64))]
    pks_in = [int(p) for p in w.pks[rows]]
    matches = follows.matches_among(engine, searcher, user_pk, pks_in) if following and pks_in else {}
    followed = np.array([1.0 if matches.get(p) else 0.0 for p in pks_in])
    model = personal.WordModel.loads(profile.model) if profile and profile.model else None
    signal_vectors = np.array([s.vector for s in with_vectors], dtype=np.float32).reshape(-1, EMBEDDING_DIM)
    signal_vectors /= np.maximum(np.linalg.norm(signal_vectors, axis=1, keepdims=True), 1e-12)
    ranked = personal.rank(
        w.vectors[rows],
        snap.words[rows] if snap.words.shape[0] else None,
        signal_vectors,
        model,
        dismissed_vectors,
        followed,
        np.log1p(w.upvotes[rows].astype(np.float64)),
    )
    top = np.argsort(-ranked.scores, kind="stable")[:limit]
    pks = [pks_in[i] for i in top]
    with read_tx(engine) as conn:
        entries = {e.pk: e for e in entries_by_pk(conn, pks)}
    picks = []
    for i, pk in zip(top, pks, strict=True):
        if pk not in entries:
            continue
        reasons = matches.get(pk)
        if reasons:
            reason, kind = reasons[0][:1].upper() + reasons[0][1:], "follow"
        elif ranked.nearest[i] >= 0:
            reason, kind = _reason(with_vectors[int(ranked.nearest[i])]), "signal"
        else:
            reason, kind = "Popular with the community", "trending"
        picks.append(Pick(entries[pk], float(ranked.scores[i]), reason, kind, bool(reasons)))
    return picks, len(mine), len(following)


def community_trending(engine: Engine, settings: Settings, signal_count: int, limit: int, days: int) -> ForYou:
    """No signals yet: the community's trending papers (as /trending shows them)."""
    now = dt.datetime.now(dt.UTC)
    params = TrendingParams.from_settings(settings)
    start, end = window_start(now, settings.trending_days), now.date()
    with read_tx(engine) as conn:
        latest = latest_day(conn)
        if latest is not None and latest < start:
            now = dt.datetime.combine(latest + dt.timedelta(days=1), dt.time(), dt.UTC)
            start, end = window_start(now, settings.trending_days), latest
        ranked = order.trending_between(conn, start, end, now, params, limit=limit)
    picks = [Pick(s.item, float(s.score), "Trending in the community", "trending") for s in ranked]
    return ForYou(picks, False, signal_count, 0, days, start, end)


def not_interested(engine: Engine, user_pk: int, paper_id: str, on: bool) -> bool:
    """Record (or take back) the reader's "not interested" in `paper_id`; whether it is recorded now."""
    from dailypapers.store.feed import paper_pk_of

    with write_tx(engine) as conn:
        pk = paper_pk_of(conn, paper_id)
        if pk is None:
            raise NotFound(f"Paper {paper_id} not found")
        if signals.dismiss(conn, user_pk, pk, on):
            reader_profiles.mark_stale(conn, user_pk)
    return on
