"""What the "for you" ranker reads and keeps (personal.for_you): a reader's signals with their vectors and
text, their "not interested" clicks, the recent papers it ranks, a sample of papers to learn against, and
the site's document frequencies."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
from sqlalchemy import Connection, delete, select, text

from dailypapers.store.convert import as_date, aware, upsert_insert, utc_now
from dailypapers.store.schema import VectorType
from dailypapers.store.schema_personal import Dismissal, RankerState
from dailypapers.store.vectors import from_db

# (kind, the query of (paper_pk, created_at, label)): every signal that names a stored paper.
_PAPER_SIGNALS = {
    "saved": "SELECT paper_pk, created_at AS at, '' AS label FROM saves WHERE user_pk = :u",
    "collection": "SELECT cp.paper_pk, cp.added_at AS at, c.name AS label FROM collection_papers cp "
    "JOIN collections c ON c.pk = cp.collection_pk WHERE c.user_pk = :u",
    "upvoted": "SELECT paper_pk, created_at AS at, '' AS label FROM votes WHERE user_pk = :u",
    "library": "SELECT paper_pk, imported_at AS at, '' AS label FROM library_entries "
    "WHERE user_pk = :u AND paper_pk IS NOT NULL",
}


@dataclass(frozen=True)
class Signal:
    """One thing the reader showed interest in: a stored paper (`paper_pk`) or an imported entry's text."""

    kind: str  # saved | collection | upvoted | library
    paper_pk: int | None
    at: dt.datetime
    label: str  # the collection's name
    title: str
    text: str
    vector: np.ndarray | None


def reader_signals(conn: Connection, user_pk: int, model: str, dim: int, limit: int) -> list[Signal]:
    """The reader's `limit` most recent signals, newest first, each paper once (its newest signal; a save
    before an upvote of the same time), with the paper's stored vector where it has one."""
    union = " UNION ALL ".join(f"SELECT '{kind}' AS kind, q.* FROM ({sql}) q" for kind, sql in _PAPER_SIGNALS.items())
    rows = conn.execute(
        text(
            f"SELECT s.kind, s.paper_pk, s.at, s.label, p.title, p.abstract, e.vector FROM ({union}) s "
            "JOIN papers p ON p.pk = s.paper_pk "
            "LEFT JOIN paper_embeddings e ON e.paper_pk = s.paper_pk AND e.model = :m "
            "ORDER BY s.at DESC LIMIT :n"
        ).columns(vector=VectorType),
        {"u": user_pk, "m": model, "n": limit * 4},
    ).all()
    seen: set[int] = set()
    out: list[Signal] = []
    for r in rows:
        if r.paper_pk in seen:
            continue
        seen.add(r.paper_pk)
        vec = from_db([r.vector], dim)[0] if r.vector is not None else None
        out.append(Signal(r.kind, r.paper_pk, aware(r.at), r.label or "", r.title, f"{r.title}. {r.abstract}", vec))
    entries = conn.execute(
        text(
            "SELECT title, abstract, imported_at, vector FROM library_entries "
            "WHERE user_pk = :u AND paper_pk IS NULL ORDER BY imported_at DESC, pk LIMIT :n"
        ),
        {"u": user_pk, "n": limit},
    ).all()
    for r in entries:
        vec = np.frombuffer(r.vector, dtype=np.float32) if r.vector else None
        out.append(Signal("library", None, aware(r.imported_at), "", r.title, f"{r.title}. {r.abstract}", vec))
    out.sort(key=lambda s: s.at, reverse=True)
    return out[:limit]


def dismiss(conn: Connection, user_pk: int, paper_pk: int, on: bool) -> bool:
    """Record (or take back) a "not interested" click; True if it changed anything."""
    if on:
        stmt = upsert_insert(conn)(Dismissal).values(user_pk=user_pk, paper_pk=paper_pk, created_at=utc_now())
        return conn.execute(stmt.on_conflict_do_nothing(index_elements=["user_pk", "paper_pk"])).rowcount > 0
    gone = delete(Dismissal).where(Dismissal.user_pk == user_pk, Dismissal.paper_pk == paper_pk)
    return conn.execute(gone).rowcount > 0


def dismissed(conn: Connection, user_pk: int, model: str, dim: int) -> tuple[set[int], np.ndarray]:
    """The papers the reader is not interested in, and the vectors of those that have one."""
    rows = conn.execute(
        text(
            "SELECT d.paper_pk, e.vector FROM dismissals d LEFT JOIN paper_embeddings e "
            "ON e.paper_pk = d.paper_pk AND e.model = :m WHERE d.user_pk = :u ORDER BY d.created_at DESC LIMIT 500"
        ).columns(vector=VectorType),
        {"u": user_pk, "m": model},
    ).all()
    vectors = [r.vector for r in rows if r.vector is not None]
    return {int(r.paper_pk) for r in rows}, (from_db(vectors, dim) if vectors else np.zeros((0, dim), np.float32))


def excluded(conn: Connection, user_pk: int) -> set[int]:
    """Papers not to recommend: those the reader saved, collected, imported or dismissed."""
    rows = conn.execute(
        text(
            "SELECT paper_pk FROM saves WHERE user_pk = :u UNION SELECT cp.paper_pk FROM collection_papers cp "
            "JOIN collections c ON c.pk = cp.collection_pk WHERE c.user_pk = :u "
            "UNION SELECT paper_pk FROM library_entries WHERE user_pk = :u AND paper_pk IS NOT NULL "
            "UNION SELECT paper_pk FROM dismissals WHERE user_pk = :u"
        ),
        {"u": user_pk},
    )
    return {int(r[0]) for r in rows}


def _bounds(conn: Connection, day_name: str, time_name: str, day: dt.date) -> dict[str, object]:
    """A day as bounds on papers.announced (`day_name`) and papers.published (`time_name`, its midnight UTC):
    SQLite stores them as text, 'YYYY-MM-DD' and 'YYYY-MM-DD HH:MM:SS'."""
    if conn.dialect.name == "sqlite":
        return {day_name: day.isoformat(), time_name: day.isoformat()}
    return {day_name: day, time_name: dt.datetime.combine(day, dt.time(), dt.UTC)}


@dataclass(frozen=True)
class Window:
    """Recent papers with their vectors: the candidates, as parallel arrays."""

    pks: np.ndarray  # int64
    days: np.ndarray  # datetime64[D]
    upvotes: np.ndarray  # int32: Hugging Face's and this site's
    vectors: np.ndarray  # float32 unit rows
    texts: list[str]


def recent_papers(conn: Connection, since: dt.date, model: str, dim: int, until: dt.date | None = None) -> Window:
    """Papers announced (or, without an announcement, published) from `since` to `until` (both included;
    None: no end) that have a vector."""
    after = (until or dt.date(9998, 12, 31)) + dt.timedelta(days=1)
    rows = conn.execute(
        text(
            "SELECT p.pk, p.announced, p.published, p.title, p.abstract, p.votes, e.vector, "
            "coalesce((SELECT max(l.upvotes) FROM daily_listings l WHERE l.paper_pk = p.pk), 0) AS hf "
            "FROM papers p JOIN paper_embeddings e ON e.paper_pk = p.pk AND e.model = :m "
            # Two index ranges (announced; published of the unannounced), not an OR that scans every paper.
            "WHERE p.pk IN (SELECT pk FROM papers WHERE announced >= :since AND announced < :after "
            "UNION ALL SELECT pk FROM papers WHERE published >= :start AND published < :end "
            "AND coalesce(announced, NULL) IS NULL) "  # (not by the index of announced: most are NULL)
            "AND NOT p.withdrawn ORDER BY p.pk"
        ).columns(vector=VectorType),
        {"m": model, **_bounds(conn, "since", "start", since), **_bounds(conn, "after", "end", after)},
    ).all()
    days = [as_date(r.announced) or (aware(r.published) or dt.datetime.min).date() for r in rows]
    vectors = from_db([r.vector for r in rows], dim) if rows else np.zeros((0, dim), np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return Window(
        pks=np.array([r.pk for r in rows], dtype=np.int64),
        days=np.array(days, dtype="datetime64[D]"),
        upvotes=np.array([int(r.votes or 0) + int(r.hf or 0) for r in rows], dtype=np.int32),
        vectors=(vectors / np.maximum(norms, 1e-12)).astype(np.float32),
        texts=[f"{r.title}. {r.abstract}" for r in rows],
    )


def sample_texts(conn: Connection, since: dt.date, count: int) -> list[tuple[int, str]]:
    """(pk, text) of up to `count` papers published since `since`, drawn at random."""
    rows = conn.execute(
        text(
            "SELECT pk, title, abstract FROM papers WHERE published >= :start AND NOT withdrawn "
            "ORDER BY random() LIMIT :n"
        ),
        {**_bounds(conn, "day", "start", since), "n": count},
    ).all()
    return [(int(r.pk), f"{r.title}. {r.abstract}") for r in rows]


def newest_texts(conn: Connection, count: int) -> list[str]:
    """The text of the `count` most recently published papers (the corpus of the site's idf)."""
    rows = conn.execute(
        text("SELECT title, abstract FROM papers WHERE published IS NOT NULL ORDER BY published DESC LIMIT :n"),
        {"n": count},
    ).all()
    return [f"{r.title}. {r.abstract}" for r in rows]


def state(conn: Connection, key: str) -> tuple[bytes, int, dt.datetime] | None:
    row = conn.execute(
        select(RankerState.data, RankerState.documents, RankerState.updated_at).where(RankerState.key == key)
    ).first()
    if row is None:
        return None
    updated = aware(row.updated_at)
    assert updated is not None
    return bytes(row.data), int(row.documents), updated


def state_updated(conn: Connection, key: str) -> dt.datetime | None:
    return aware(conn.execute(select(RankerState.updated_at).where(RankerState.key == key)).scalar())


def put_state(conn: Connection, key: str, data: bytes, documents: int) -> None:
    values = {"key": key, "data": data, "documents": documents, "updated_at": utc_now()}
    stmt = upsert_insert(conn)(RankerState).values(values)
    conn.execute(stmt.on_conflict_do_update(index_elements=["key"], set_={k: stmt.excluded[k] for k in values}))


def latest_paper_day(conn: Connection) -> dt.date | None:
    """The newest announcement day of any paper (or its publication day when none is announced later)."""
    announced = as_date(conn.execute(text("SELECT max(announced) FROM papers")).scalar())
    published = aware(conn.execute(text("SELECT max(published) FROM papers")).scalar())
    days = [d for d in (announced, published.date() if published else None) if d is not None]
    return max(days) if days else None
