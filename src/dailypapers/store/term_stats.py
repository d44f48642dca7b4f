"""How common each word is (SQLite FTS5; PostgreSQL for `rarest_within`), to leave the commonest words out
of large searches."""

from __future__ import annotations

import dataclasses
import threading
import time

from sqlalchemy import Connection, text

from dailypapers.search.query import Query

# Words in more than 2% of the papers, and in at least 20,000, are left out beside the 2 rarest (SQLite).
COMMON, COMMON_MIN, KEEP_RAREST = 0.02, 20_000, 2
DF_TTL, DF_CACHE_SIZE = 3600.0, 100_000
_df_cache: dict[tuple[str, str], tuple[float, int]] = {}  # (database, word) -> (when, papers)
_df_lock = threading.Lock()
PAPERS = "\x00papers"  # the cache's entry for about how many papers there are (the highest pk)


def _doc_freq(conn: Connection, term: str) -> int:
    """How many papers hold `term` (SQLite's FTS5 index, or PostgreSQL's GIN index), from a per-process
    cache refreshed every DF_TTL seconds."""
    key, now = (str(conn.engine.url), term), time.monotonic()
    with _df_lock:
        hit = _df_cache.get(key)
    if hit is not None and now - hit[0] < DF_TTL:
        return hit[1]
    if term == PAPERS:
        sql, params = text("SELECT max(pk) FROM papers"), {}
    elif conn.dialect.name == "postgresql":
        sql = text("SELECT count(*) FROM papers WHERE search_vector @@ plainto_tsquery('english', :m)")
        params = {"m": term}
    else:
        sql = text("SELECT count(*) FROM papers_fts WHERE papers_fts MATCH :m")
        params = {"m": '"' + term.replace('"', '""') + '"'}
    count = int(conn.execute(sql, params).scalar() or 0)
    with _df_lock:
        if len(_df_cache) >= DF_CACHE_SIZE:
            _df_cache.clear()
        _df_cache[key] = (now, count)
    return count


def without_common_terms(conn: Connection, q: Query) -> Query:
    """`q` without the words found in more than COMMON of the papers (and at least COMMON_MIN papers),
    keeping at least the KEEP_RAREST rarest words (SQLite).

    FTS5 reads a word's whole list of matches to rank it, which costs tens of milliseconds for a word in
    most of a million papers, while BM25 gives such a word almost no weight: leaving it out keeps
    searches fast on large databases and changes nothing on small ones (no word is that common there).
    """
    terms = q.content_terms
    if len(terms) <= KEEP_RAREST:
        return q
    papers = _doc_freq(conn, PAPERS)
    if papers <= COMMON_MIN:
        return q
    limit = max(COMMON * papers, COMMON_MIN)
    by_rarity = sorted((_doc_freq(conn, t), t) for t in terms)
    kept = {t for i, (df, t) in enumerate(by_rarity) if i < KEEP_RAREST or df <= limit}
    if len(kept) == len(terms):
        return q
    return dataclasses.replace(q, terms=tuple(t for t in q.terms if t in kept or t not in terms))


def rarest_within(conn: Connection, q: Query, budget: int) -> Query:
    """`q` with only its rarest words whose matches add up to at most `budget` papers (at least one word),
    for an any-word search (SQLite and PostgreSQL).

    Ranking only the `budget` most recently added matches would drop older papers however well they
    match (a ten-word description matches most of a 10,000-paper store); the rarest words carry nearly
    all of BM25's weight, and their matches fit in the budget, so those are ranked exactly instead.
    """
    terms = q.content_terms
    if len(terms) <= 1:
        return q
    by_rarity = sorted((_doc_freq(conn, t), t) for t in terms)
    kept: set[str] = set()
    total = 0
    for df, term in by_rarity:
        if kept and total + df > budget:
            break
        kept.add(term)
        total += df
    if len(kept) == len(terms):
        return q
    return dataclasses.replace(q, terms=tuple(t for t in q.terms if t in kept or t not in terms))


def doc_freq(conn: Connection, term: str) -> int:
    """How many papers hold `term` (cached per process, as the searches' pruning uses it)."""
    return _doc_freq(conn, term)


def paper_count(conn: Connection) -> int:
    """About how many papers there are (the highest pk; cached)."""
    return _doc_freq(conn, PAPERS)
