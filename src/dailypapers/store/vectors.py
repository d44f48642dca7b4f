"""Paper embeddings: which papers need one, claims on that work, writing vectors, reading them back,
and nearest neighbours through pgvector's HNSW index on PostgreSQL.

Every write takes fresh numbers from the `embedding_seq` counter (site_state) for its rows, and on SQLite
a trigger leaves a tombstone at the next number for every deleted row: an index file built from this
table holds "everything up to seq N" and catches up by reading what is newer (`changes`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import Connection, Float, bindparam, delete, exists, func, not_, or_, select, text
from sqlalchemy.dialects import postgresql, sqlite

from dailypapers.store import term_stats
from dailypapers.store.db import bump_data_version
from dailypapers.store.schema import EmbeddingClaim, EmbeddingTombstone, Paper, PaperEmbedding

# PostgreSQL's HNSW scan keeps a candidate per EF_PAPERS papers (hnsw.ef_search), EF_MIN to EF_MAX (pgvector's
# most). Recall@10 against exact search, the graph built with ef_construction 200 (migration 0013): among 100k
# synthetic papers 0.968 at 100 candidates, among a million 0.961 at 1000, 0.957 at 800 and 0.946 at 400
# (docs/benchmarks.md, "PostgreSQL search at 100k and 1M papers").
EF_PAPERS, EF_MIN, EF_MAX = 1000, 100, 1000
_iterative: dict[str, bool] = {}  # per database URL: pgvector has iterative index scans
embeddings = PaperEmbedding.__table__
claims = EmbeddingClaim.__table__
tombstones = EmbeddingTombstone.__table__
papers = Paper.__table__


@dataclass(frozen=True)
class PaperText:
    """What gets embedded, and the paper's text hash (of that title and abstract) at the time it was read."""

    pk: int
    title: str
    abstract: str
    text_hash: str


@dataclass(frozen=True)
class Changes:
    """Embedding rows written, and rows deleted, in a range of seq."""

    keys: np.ndarray  # paper pks of rows of the model asked for
    vectors: np.ndarray  # float32, one row per key
    dropped: np.ndarray  # paper pks whose rows were deleted or now hold another model


def to_db(conn: Connection, vectors: np.ndarray) -> list[Any]:
    """Vectors as the vector column takes them: float32 bytes on SQLite, arrays for pgvector."""
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    if conn.dialect.name == "sqlite":
        return [row.tobytes() for row in vectors]
    return list(vectors)


def from_db(values: Sequence[Any], dim: int) -> np.ndarray:
    """Stored vectors as one float32 matrix."""
    if not values:
        return np.zeros((0, dim), dtype=np.float32)
    if isinstance(values[0], bytes | memoryview):
        return np.frombuffer(b"".join(bytes(v) for v in values), dtype=np.float32).reshape(len(values), -1)
    return np.asarray(np.stack(values), dtype=np.float32)


def _stale_condition(model: str) -> Any:
    e = embeddings.c
    return or_(e.paper_pk.is_(None), e.model != model, e.content_hash != papers.c.text_hash)


def stale_papers(
    conn: Connection,
    model: str,
    *,
    after: int = 0,
    limit: int = 256,
    now: dt.datetime,
    ttl: dt.timedelta,
    force: bool = False,
    owner: str = "",
) -> list[PaperText]:
    """Papers past pk `after`, in pk order, with no embedding by `model` of their current content (any, with
    `force`), leaving out those another owner than `owner` has claimed within `ttl`."""
    live_claim = exists().where(
        claims.c.paper_pk == papers.c.pk, claims.c.claimed_at > now - ttl, claims.c.owner != owner
    )
    query = (
        select(papers.c.pk, papers.c.title, papers.c.abstract, papers.c.text_hash)
        .select_from(papers.outerjoin(embeddings, embeddings.c.paper_pk == papers.c.pk))
        .where(papers.c.pk > after, not_(live_claim))
        .order_by(papers.c.pk)
        .limit(limit)
    )
    if not force:
        query = query.where(_stale_condition(model))
    return [PaperText(r.pk, r.title or "", r.abstract or "", r.text_hash) for r in conn.execute(query)]


def count_stale(conn: Connection, model: str) -> int:
    """How many papers have no embedding by `model` of their current content."""
    query = (
        select(func.count())
        .select_from(papers.outerjoin(embeddings, embeddings.c.paper_pk == papers.c.pk))
        .where(_stale_condition(model))
    )
    return int(conn.execute(query).scalar() or 0)


def claim(
    conn: Connection,
    pks: Sequence[int],
    owner: str,
    now: dt.datetime,
    ttl: dt.timedelta,
    model: str | None = None,
) -> list[int]:
    """Claim papers for embedding by `owner`; returns those it got: not claimed by another owner within `ttl`
    (an owner's own claims are its again: a job retried after its worker died takes its papers back),
    and (given `model`) still without an up-to-date embedding by it, in case another process just wrote one."""
    if not pks:
        return []
    expired = or_(claims.c.claimed_at <= now - ttl, claims.c.owner == owner)
    conn.execute(delete(claims).where(expired, claims.c.paper_pk.in_(list(pks))))
    # Only papers that still exist: a claim on a deleted one would violate its foreign key.
    query = select(papers.c.pk).where(papers.c.pk.in_(list(pks)))
    if model is not None:
        query = query.select_from(papers.outerjoin(embeddings, embeddings.c.paper_pk == papers.c.pk)).where(
            _stale_condition(model)
        )
    alive = [r[0] for r in conn.execute(query)]
    if not alive:
        return []
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    stmt = (
        insert(claims)
        .values([{"paper_pk": pk, "owner": owner, "claimed_at": now} for pk in alive])
        .on_conflict_do_nothing(index_elements=["paper_pk"])
        .returning(claims.c.paper_pk)
    )
    return sorted(int(r[0]) for r in conn.execute(stmt))


def release(conn: Connection, pks: Sequence[int], owner: str) -> None:
    """Drop `owner`'s claims on `pks` (done, or given up)."""
    if pks:
        conn.execute(delete(claims).where(claims.c.owner == owner, claims.c.paper_pk.in_(list(pks))))


def _take_seq(conn: Connection, count: int) -> int:
    """Reserve `count` numbers of the embedding counter; returns the first."""
    top = conn.execute(
        text("UPDATE site_state SET value = value + :n WHERE key = 'embedding_seq' RETURNING value"), {"n": count}
    ).scalar_one()
    return int(top) - count + 1


def write(
    conn: Connection, model: str, items: Sequence[tuple[int, str]], vectors: np.ndarray, owner: str | None = None
) -> int:
    """Store the vectors of papers `items` = [(pk, content_hash embedded)], replacing older ones, and drop
    `owner`'s claims on them. Papers deleted meanwhile are skipped. Returns how many rows were written."""
    if not len(items):
        return 0
    alive = {r[0] for r in conn.execute(select(papers.c.pk).where(papers.c.pk.in_([pk for pk, _ in items])))}
    keep = [i for i, (pk, _) in enumerate(items) if pk in alive]
    if keep:
        first = _take_seq(conn, len(keep))
        values = to_db(conn, vectors[keep])
        rows = [
            {"paper_pk": items[i][0], "model": model, "content_hash": items[i][1], "seq": first + n, "vector": v}
            for n, (i, v) in enumerate(zip(keep, values, strict=True))
        ]
        insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
        stmt = insert(embeddings)
        stmt = stmt.on_conflict_do_update(
            index_elements=["paper_pk"],
            set_={c: stmt.excluded[c] for c in ("model", "content_hash", "seq", "vector")},
        )
        conn.execute(stmt, rows)
        bump_data_version(conn)
    if owner:
        release(conn, [pk for pk, _ in items], owner)
    return len(keep)


def current_seq(conn: Connection) -> int:
    """The embedding counter: every row and tombstone has a seq at most this."""
    return int(conn.execute(text("SELECT value FROM site_state WHERE key = 'embedding_seq'")).scalar() or 0)


def store_id(conn: Connection) -> int:
    """A number drawn when the database was created: tells an index file which database it was built from."""
    return int(conn.execute(text("SELECT value FROM site_state WHERE key = 'embedding_store_id'")).scalar() or 0)


def any_stored(conn: Connection, model: str) -> bool:
    """Whether any paper has an embedding by `model` (cheap, unlike `count`)."""
    return conn.execute(select(embeddings.c.paper_pk).where(embeddings.c.model == model).limit(1)).first() is not None


def count(conn: Connection, model: str) -> int:
    """How many papers have an embedding by `model`."""
    return int(conn.execute(select(func.count()).where(embeddings.c.model == model)).scalar() or 0)


def changes(conn: Connection, model: str, dim: int, after: int, upto: int) -> Changes:
    """What happened in seq range (after, upto]: rows written (of `model`, or of another model, which
    no longer counts for this one) and rows deleted."""
    e = embeddings.c
    rows = conn.execute(select(e.paper_pk, e.model, e.vector).where(e.seq > after, e.seq <= upto).order_by(e.seq)).all()
    ours = [r for r in rows if r.model == model]
    dropped = [r.paper_pk for r in rows if r.model != model]
    dropped += [
        r[0]
        for r in conn.execute(select(tombstones.c.paper_pk).where(tombstones.c.seq > after, tombstones.c.seq <= upto))
    ]
    return Changes(
        np.array([r.paper_pk for r in ours], dtype=np.uint64),
        from_db([r.vector for r in ours], dim),
        np.array(dropped, dtype=np.uint64),
    )


def seq_after(conn: Connection, after: int, rows: int) -> int:
    """The seq of the `rows`th embedding row past `after` (or the counter if fewer): how far to read in one go."""
    upto = conn.execute(
        select(embeddings.c.seq).where(embeddings.c.seq > after).order_by(embeddings.c.seq).offset(rows - 1).limit(1)
    ).scalar()
    return int(upto) if upto is not None else current_seq(conn)


def keys(conn: Connection, model: str) -> set[int]:
    """Every paper pk with an embedding by `model`."""
    return {r[0] for r in conn.execute(select(embeddings.c.paper_pk).where(embeddings.c.model == model))}


def vectors_of(conn: Connection, model: str, pks: Sequence[int], dim: int) -> dict[int, np.ndarray]:
    """The stored vectors of those of `pks` embedded by `model`."""
    if not pks:
        return {}
    rows = conn.execute(
        select(embeddings.c.paper_pk, embeddings.c.vector).where(
            embeddings.c.model == model, embeddings.c.paper_pk.in_(list(pks))
        )
    ).all()
    matrix = from_db([r.vector for r in rows], dim)
    return {r.paper_pk: matrix[i] for i, r in enumerate(rows)}


def _iterative_scans(conn: Connection) -> bool:
    """Whether this database's pgvector has iterative index scans (0.8 and later; cached per database)."""
    key = str(conn.engine.url)
    if key not in _iterative:
        version = conn.execute(text("SELECT extversion FROM pg_extension WHERE extname = 'vector'")).scalar()
        _iterative[key] = tuple(int(x) for x in str(version or "0.0").split(".")[:2]) >= (0, 8)
    return _iterative[key]


def ef_search(k: int, papers: int) -> int:
    """How many candidates the HNSW scan keeps for `k` neighbours among about `papers`: one per EF_PAPERS, and
    at least 2k (from EF_MIN to EF_MAX)."""
    return min(EF_MAX, max(EF_MIN, 2 * k + 2, papers // EF_PAPERS))


def nearest(
    conn: Connection, model: str, vector: np.ndarray, k: int, exclude: int | None = None
) -> list[tuple[int, float]]:
    """PostgreSQL: the `k` papers nearest to `vector` by cosine, through the HNSW index (approximate).

    The scan keeps `ef_search(k, papers)` candidates, and goes on past them (pgvector's iterative scan) when the
    conditions (the model, `exclude`) leave fewer than `k`; its order is then relaxed, so the rows are
    sorted here."""
    scan = "SELECT set_config('hnsw.ef_search', :ef, true)"
    if _iterative_scans(conn):
        scan += ", set_config('hnsw.iterative_scan', 'relaxed_order', true)"
    conn.execute(text(scan), {"ef": str(ef_search(k, term_stats.paper_count(conn)))})
    query_vector = bindparam("q", vector, type_=embeddings.c.vector.type)  # pgvector's type on PostgreSQL
    distance = embeddings.c.vector.op("<=>", return_type=Float)(query_vector)
    query = select(embeddings.c.paper_pk, distance).where(embeddings.c.model == model).order_by(distance).limit(k)
    if exclude is not None:
        query = query.where(embeddings.c.paper_pk != exclude)
    found = [(int(pk), 1.0 - float(d)) for pk, d in conn.execute(query)]
    found.sort(key=lambda item: (-item[1], item[0]))
    return found


def export(conn: Connection, model: str, dim: int) -> tuple[list[str], list[str], np.ndarray]:
    """Every embedding by `model` with its paper's id: (ids, content hashes, vectors), in pk order."""
    rows = conn.execute(
        select(papers.c.id, embeddings.c.content_hash, embeddings.c.vector)
        .join(papers, papers.c.pk == embeddings.c.paper_pk)
        .where(embeddings.c.model == model)
        .order_by(embeddings.c.paper_pk)
    ).all()
    return [r.id for r in rows], [r.content_hash for r in rows], from_db([r.vector for r in rows], dim)


def import_matching(
    conn: Connection, model: str, ids: Sequence[str], hashes: Sequence[str], vectors: np.ndarray
) -> int:
    """Store precomputed vectors for the papers whose id and content hash both match and that have no
    up-to-date embedding by `model` yet; returns how many were stored."""
    wanted = dict(zip(ids, range(len(ids)), strict=True))
    rows = conn.execute(
        select(papers.c.pk, papers.c.id, papers.c.text_hash)
        .select_from(papers.outerjoin(embeddings, embeddings.c.paper_pk == papers.c.pk))
        .where(papers.c.id.in_(list(ids)), _stale_condition(model))
    ).all()
    take = [(r.pk, r.text_hash, wanted[r.id]) for r in rows if hashes[wanted[r.id]] == r.text_hash]
    if not take:
        return 0
    matrix = np.asarray(vectors, dtype=np.float32)[[i for _, _, i in take]]
    matrix /= np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-12)
    return write(conn, model, [(pk, h) for pk, h, _ in take], matrix)
