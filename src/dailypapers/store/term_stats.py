"""How common each word is, to leave the commonest words out of large searches (SQLite FTS5 and PostgreSQL).

On PostgreSQL a word's count comes from the planner's statistics when ANALYZE found it common (the
`most_common_elems` of `papers.search_vector`, kept 10,000 deep by migration 0013): counting the matches of a
word in most of a million papers would read most of the table. A word below those statistics' floor is rare,
and its matches are counted, up to COUNT_CAP.
"""

from __future__ import annotations

import dataclasses
import threading
import time

from sqlalchemy import Connection, text

from dailypapers.search.query import Query

# Words in more than 2% of the papers, and in at least 20,000, are left out beside the 2 rarest (SQLite).
COMMON, COMMON_MIN, KEEP_RAREST = 0.02, 20_000, 2
DF_TTL, DF_CACHE_SIZE = 3600.0, 100_000
COUNT_CAP = 20_000  # PostgreSQL: a word's matches counted up to this many (more: the statistics' estimate)
_df_cache: dict[tuple[str, str], tuple[float, int]] = {}  # (database, word) -> (when, papers; -1: no lexeme)
_df_lock = threading.Lock()
PAPERS = "\x00papers"  # the cache's entry for about how many papers there are (the highest pk)
# PostgreSQL: per database, (when, {lexeme: share of papers}, papers the statistics saw, the share's floor).
_pg_stats: dict[str, tuple[float, dict[str, float], float, float]] = {}


def _doc_freq(conn: Connection, term: str) -> int:
    """How many papers hold `term` (SQLite's FTS5 index, or PostgreSQL's GIN index), from a per-process
    cache refreshed every DF_TTL seconds."""
    return max(0, _counted(conn, term))


def _counted(conn: Connection, term: str) -> int:
    """`_doc_freq`, or -1 for a word PostgreSQL's 'english' configuration drops (a stop word: no lexeme)."""
    key, now = (str(conn.engine.url), term), time.monotonic()
    with _df_lock:
        hit = _df_cache.get(key)
    if hit is not None and now - hit[0] < DF_TTL:
        return hit[1]
    if term == PAPERS:
        count = int(conn.execute(text("SELECT max(pk) FROM papers")).scalar() or 0)
    elif conn.dialect.name == "postgresql":
        count = _pg_doc_freq(conn, term)
    else:
        sql = text("SELECT count(*) FROM papers_fts WHERE papers_fts MATCH :m")
        count = int(conn.execute(sql, {"m": '"' + term.replace('"', '""') + '"'}).scalar() or 0)
    with _df_lock:
        if len(_df_cache) >= DF_CACHE_SIZE:
            _df_cache.clear()
        _df_cache[key] = (now, count)
    return count


def _pg_doc_freq(conn: Connection, term: str) -> int:
    """PostgreSQL: about how many papers hold `term` (all its lexemes): from the statistics when they know
    every lexeme of it, else counted (up to COUNT_CAP, or the statistics' estimate if that is more)."""
    sql = "SELECT tsvector_to_array(to_tsvector('english', dp_fold_accents(:t)))"
    lexemes = conn.execute(text(sql), {"t": term}).scalar() or []
    if not lexemes:
        return -1  # a stop word, or no word at all
    shares, papers, floor = _pg_common(conn)
    known = [shares[x] for x in lexemes if x in shares]
    if len(known) == len(lexemes):
        return round(min(known) * papers)
    sql = (
        "SELECT count(*) FROM (SELECT 1 FROM papers "
        "WHERE search_vector @@ plainto_tsquery('english', dp_fold_accents(:t)) LIMIT :cap) m"
    )
    count = int(conn.execute(text(sql), {"t": term, "cap": COUNT_CAP}).scalar() or 0)
    return max(count, round(floor * papers)) if count >= COUNT_CAP else count


def _pg_common(conn: Connection) -> tuple[dict[str, float], float, float]:
    """The lexemes ANALYZE found in the most papers, with their share of papers; how many papers it saw; and
    the lowest share it kept (a lexeme not listed is in fewer papers than that, about). Cached as the counts."""
    key, now = str(conn.engine.url), time.monotonic()
    with _df_lock:
        hit = _pg_stats.get(key)
    if hit is not None and now - hit[0] < DF_TTL:
        return hit[1], hit[2], hit[3]
    sql = (
        "SELECT s.most_common_elems::text::text[], s.most_common_elem_freqs, c.reltuples FROM pg_class c "
        "LEFT JOIN pg_stats s ON s.schemaname = current_schema() AND s.tablename = 'papers' "
        "AND s.attname = 'search_vector' WHERE c.oid = 'papers'::regclass"
    )
    row = conn.execute(text(sql)).one()
    lexemes, freqs, papers = row[0] or [], row[1] or [], float(row[2] or 0)
    shares = dict(zip(lexemes, freqs[: len(lexemes)], strict=True))
    floor = float(freqs[len(lexemes)]) if len(freqs) > len(lexemes) else 0.0  # then max, then the null share
    with _df_lock:
        _pg_stats[key] = (now, shares, papers, floor)
    return shares, papers, floor


def without_common_terms(conn: Connection, q: Query) -> Query:
    """`q` without the words found in more than COMMON of the papers (and at least COMMON_MIN papers),
    keeping at least the KEEP_RAREST rarest words (SQLite and PostgreSQL).

    FTS5 reads a word's whole list of matches to rank it, which costs tens of milliseconds for a word in
    most of a million papers, while BM25 gives such a word almost no weight: leaving it out keeps
    searches fast on large databases and changes nothing on small ones (no word is that common there).
    PostgreSQL's GIN index likewise reads the word's whole posting list, and IDF weighs it near zero.
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


def stop_word(conn: Connection, term: str) -> bool:
    """PostgreSQL: whether `term` has no lexeme (a stop word), so that it sets no condition on a search; a
    word with a lexeme that no paper holds leaves an all-words search nothing to find."""
    return _counted(conn, term) < 0


def paper_count(conn: Connection) -> int:
    """About how many papers there are (the highest pk; cached)."""
    return _doc_freq(conn, PAPERS)
