"""Curation learned from the community: train the model on the store's history, rank an announcement day's
new papers, and feature the day's best few ("picked for this community", with the reason).

The rules live here:
- a *community pick* is a listing made by people: a Hugging Face pick (synced or imported), a curator's
  feature, a member's submission; an automatic listing counts only once people upvoted or discussed it;
- a pick counts for the announcement day D of its paper when it was featured from D-3 to D+10 (Hugging
  Face features papers up to a few days before arXiv announces them, and a week or more after), so a
  day is learned from only once D+10 has passed, and only when the community picked some of its papers
  (days before the community's history began would teach "nothing is wanted");
- a day's candidates are its newly announced papers (new submissions and cross-lists) of the categories;
- a curator's skip keeps a paper off its day's auto picks, and teaches the model nothing else.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from dailypapers.config import Settings
from dailypapers.curation.model import Candidate, CurationModel, Pick, Ranked, train
from dailypapers.ingest.batches import AUTO_FEATURE_TYPES
from dailypapers.store import curation as history
from dailypapers.store import listings
from dailypapers.store.convert import utc_today
from dailypapers.store.curation import Announced, Featuring
from dailypapers.store.db import read_tx, write_tx

if TYPE_CHECKING:
    from sqlalchemy import Engine

BEFORE, AFTER = 3, 10  # a pick counts for its paper's announcement day D when featured from D-3 to D+10
MIN_DAY = 20  # days with fewer announced papers are not announcement lists (papers fetched one by one)


class NoHistory(Exception):
    """Nothing to learn from yet; the message says what to import or sync."""


@dataclass(frozen=True, slots=True)
class TrainReport:
    model_pk: int
    days: int
    first_day: dt.date
    last_day: dt.date
    papers: int
    positives: int
    picks: int
    seconds: float


@dataclass(frozen=True, slots=True)
class PickReport:
    day: dt.date
    candidates: int
    picked: int  # newly featured now
    kept: int  # already featured on the day (by the model before, by Hugging Face or by people)
    skipped: int  # skipped by curators, passed over
    trained: TrainReport | None = None


def is_community_pick(f: Featuring) -> bool:
    """A listing people made, or an automatic one people then upvoted or discussed."""
    return not f.source.startswith(listings.AUTO_PREFIX) or f.upvotes > 0 or f.comments > 0


def community_picks(featured: Sequence[Featuring]) -> list[Pick]:
    """One `Pick` per paper: its first community featuring, with its best reception."""
    first: dict[int, Featuring] = {}
    best: dict[int, int] = {}
    for f in featured:
        if not is_community_pick(f):
            continue
        if f.paper_pk not in first or f.day < first[f.paper_pk].day:
            first[f.paper_pk] = f
        best[f.paper_pk] = max(best.get(f.paper_pk, 0), f.upvotes + f.comments)
    return [
        Pick(f.id, f.day, f.authors, best[pk], f.title, f.abstract)
        for pk, f in sorted(first.items(), key=lambda kv: (kv[1].day, kv[0]))
    ]


def is_candidate(a: Announced, categories: Sequence[str]) -> bool:
    """Newly announced (not a replacement) and of one of the categories (all, with none given)."""
    return a.announce_type in AUTO_FEATURE_TYPES and (not categories or bool(set(a.categories) & set(categories)))


def _candidate(a: Announced) -> Candidate:
    return Candidate(a.id, a.title, a.abstract, a.authors, a.categories, a.day)


def train_model(engine: Engine, settings: Settings, today: dt.date | None = None) -> TrainReport:
    """Fit the model on every announcement day whose picking window has closed, and store it."""
    today = today or utc_today()
    categories = settings.auto_feature
    with read_tx(engine) as conn:
        days = [d for d, n in history.announcement_days(conn, MIN_DAY) if d + dt.timedelta(days=AFTER) < today]
        announced = history.announced_between(conn, days[0], days[-1]) if days else []
        featured = history.featurings(conn)
    picks = community_picks(featured)
    picked_days: dict[str, list[dt.date]] = {}
    for f in featured:
        if is_community_pick(f):
            picked_days.setdefault(f.id, []).append(f.day)
    wanted = set(days)
    by_day: dict[dt.date, list[Candidate]] = {}
    labels: dict[str, float] = {}
    for a in announced:
        if a.day not in wanted or not is_candidate(a, categories):
            continue
        by_day.setdefault(a.day, []).append(_candidate(a))
        if any(-BEFORE <= (d - a.day).days <= AFTER for d in picked_days.get(a.id, ())):
            labels[a.id] = 1.0
    by_day = {d: cs for d, cs in by_day.items() if any(c.id in labels for c in cs)}
    if not by_day:
        raise NoHistory(
            "no announcement day to learn from: import or harvest arXiv's announcement lists "
            f"(days that ended more than {AFTER} days ago) and the community's picks of those days "
            "(dailypapers fetch hf --from DAY, or import Hugging Face's daily-papers files)"
        )
    started = time.perf_counter()
    model = train(by_day, picks, labels)
    seconds = time.perf_counter() - started
    first, last = min(by_day), max(by_day)
    facts = dict(
        first_day=first,
        last_day=last,
        days=len(by_day),
        papers=sum(len(cs) for cs in by_day.values()),
        positives=sum(1 for cs in by_day.values() for c in cs if c.id in labels),
        picks=len(picks),
        seconds=round(seconds, 3),
    )
    with write_tx(engine) as conn:
        pk = history.save_model(conn, model.to_bytes(), **facts)
    return TrainReport(pk, **facts)  # type: ignore[arg-type]


_cache: dict[int, CurationModel] = {}
_cache_lock = threading.Lock()


def current_model(engine: Engine) -> tuple[int, CurationModel] | None:
    """The stored model in use (read once per process and model), or None when none was trained."""
    with read_tx(engine) as conn:
        meta = history.latest_model(conn, with_bytes=False)
        if meta is None:
            return None
        with _cache_lock:
            if meta.pk in _cache:
                return meta.pk, _cache[meta.pk]
        stored = history.latest_model(conn)
    if stored is None:
        return None
    model = CurationModel.from_bytes(stored.model)
    with _cache_lock:
        _cache.clear()
        _cache[stored.pk] = model
    return stored.pk, model


def day_candidates(engine: Engine, day: dt.date, categories: Sequence[str]) -> tuple[list[Announced], list[Pick]]:
    """The day's candidates, and the community's picks before the day."""
    with read_tx(engine) as conn:
        announced = [a for a in history.announced_between(conn, day, day) if is_candidate(a, categories)]
        picks = community_picks(history.featurings(conn, before=day))
    return announced, picks


def rank_day(engine: Engine, settings: Settings, day: dt.date, categories: Sequence[str] | None = None) -> list[Ranked]:
    """Every paper announced on `day` in `categories` (default: DAILYPAPERS_AUTO_FEATURE; none: all), best
    first. NoHistory when no model was trained."""
    found = current_model(engine)
    if found is None:
        raise NoHistory("no curation model yet: run `dailypapers curate train`")
    announced, picks = day_candidates(engine, day, settings.auto_feature if categories is None else categories)
    return found[1].rank([_candidate(a) for a in announced], picks)


def pick_day(engine: Engine, settings: Settings, day: dt.date, top: int | None = None) -> PickReport:
    """Feature the day's `top` (DAILYPAPERS_AUTO_FEATURE_TOP) best candidates that curators did not skip,
    each with its reason; training a model first when there is none. Running it again tops the day up
    (after curators' skips) and changes nothing else."""
    top = settings.auto_feature_top if top is None else top
    trained = None
    if current_model(engine) is None:
        trained = train_model(engine, settings)
    ranked = rank_day(engine, settings, day)
    ids = {r.id for r in ranked}
    with write_tx(engine) as conn:
        announced = {a.id: a.pk for a in history.announced_between(conn, day, day) if a.id in ids}
        skipped = history.skipped(conn, day, day)
        passed = [r for r in ranked if (announced[r.id], day) in skipped]
        chosen = [r for r in ranked if (announced[r.id], day) not in skipped][:top]
        picked = sum(
            listings.feature(conn, announced[r.id], day, None, source=listings.MODEL_SOURCE, reason=r.reason)
            for r in chosen
        )
    return PickReport(day, len(ranked), picked, len(chosen) - picked, len(passed), trained)


@dataclass(frozen=True, slots=True)
class Row:
    """A candidate as `/admin/curation` shows it."""

    rank: int
    paper: Announced
    score: float
    reason: str
    state: str  # "picked" (by the model), "featured" (by people or Hugging Face), "skipped" or ""


@dataclass(frozen=True, slots=True)
class Review:
    day: dt.date | None
    categories: tuple[str, ...]
    top: int
    model: history.StoredModel | None
    rows: list[Row]
    problem: str = ""


def review_day(engine: Engine, settings: Settings, day: dt.date | None) -> Review:
    """A day's ranking for curators (the latest announcement day by default), with each paper's state."""
    with read_tx(engine) as conn:
        day = day or history.latest_announcement_day(conn)
        model = history.latest_model(conn, with_bytes=False)
    categories = settings.auto_feature
    top = settings.auto_feature_top
    if day is None:
        return Review(None, categories, top, model, [], "No announcement day in the store yet.")
    try:
        ranked = rank_day(engine, settings, day)
    except NoHistory as exc:
        return Review(day, categories, top, model, [], str(exc))
    announced, _ = day_candidates(engine, day, categories)
    papers = {a.id: a for a in announced}
    pks = [a.pk for a in announced]
    with read_tx(engine) as conn:
        listed = history.listed_on(conn, day, pks)
        skipped = history.skipped(conn, day, day)
    rows = []
    for n, r in enumerate(ranked, 1):
        a = papers[r.id]
        source = listed.get(a.pk)
        state = "skipped" if (a.pk, day) in skipped else ""
        if source is not None:
            state = "picked" if source == listings.MODEL_SOURCE else "featured"
        rows.append(Row(n, a, r.score, r.reason, state))
    return Review(day, categories, top, model, rows)
