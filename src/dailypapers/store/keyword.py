"""Keyword search: SQLite FTS5 (bm25) or PostgreSQL full text (`keyword_pg`: IDF and ts_rank), with filters.

A parsed query (dailypapers.search.query) is turned into the engine's query language by
quoting every word and phrase, and into SQL with bound parameters only, so nothing a person
types is ever syntax. Ranking weighs the title above the authors above the abstract. Papers
with all the words come first, then (if too few) papers with any of them; a query with filters
and no words lists the matching papers newest first. Withdrawn papers are never returned.

Ranking a very common word is costly (each match is scored), so only the RANK_WINDOW most
recently added matches of a query are ranked (SQLite; `keyword_pg.AND_WINDOW` on PostgreSQL); below that many
matches the ranking is exact. Words in most papers are left out beside rarer ones
(`term_stats.without_common_terms`). The any-word search keeps only the query's rarest words whose matches
fit in RANK_WINDOW (`term_stats.rarest_within`), so an older paper that holds them is still ranked.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import orjson
from sqlalchemy import Connection, text

from dailypapers.search.query import Query
from dailypapers.store import keyword_pg, term_stats

RANK_WINDOW = 10_000  # matches ranked per query, the most recently added (docs/search.md, "Keyword")
AUTHOR_SWITCH = 3_000  # SQLite: from this many papers by an author, walk the dates index instead
DATE_SPAN = 50_000  # SQLite: up to this many papers in a date range, bound the index scan by their pks
MAX_LIMIT = 1_000
_BM25 = "bm25(papers_fts, 10.0, 1.0, 4.0)"  # papers_fts columns: title, abstract, authors_text


def search(conn: Connection, q: Query, limit: int = 20, offset: int = 0) -> list[int]:
    """Paper pks best first: all the words, then (if too few) any; with only filters, newest first."""
    limit, offset = max(0, min(limit, MAX_LIMIT)), max(0, offset)
    want = offset + limit
    if not limit or q.is_empty:
        return []
    if not q.has_words:
        return _newest(conn, q, want)[offset:]
    q = term_stats.without_common_terms(conn, q)
    found = _ranked(conn, q, "AND", want)
    if len(found) < want and len(q.content_terms) + len(q.phrases) > 1:
        seen = set(found)
        found += [
            pk for pk in _ranked(conn, term_stats.rarest_within(conn, q, RANK_WINDOW), "OR", want) if pk not in seen
        ]
    return found[offset:want]


def matching(conn: Connection, q: Query, pks: Sequence[int]) -> set[int]:
    """Which of `pks` pass the filters of `q`: authors, categories, dates and the excluded words
    (not the words searched for); withdrawn papers never pass."""
    if not pks:
        return set()
    params: dict[str, Any] = {}
    where = ["NOT p.withdrawn", *_filters(conn, q, params)]
    if conn.dialect.name == "sqlite":
        params["pks"] = orjson.dumps([int(pk) for pk in pks]).decode()
        where.insert(0, "p.pk IN (SELECT value FROM json_each(:pks))")
    else:
        params["pks"] = [int(pk) for pk in pks]
        where.insert(0, "p.pk = ANY(:pks)")
    where += _word_filters(conn, q, params)
    sql = "SELECT p.pk FROM papers p WHERE " + " AND ".join(where)
    return {int(r[0]) for r in conn.execute(text(sql), params)}


# -- ranked search ---------------------------------------------------------------------------


def _fts_string(s: str) -> str:
    return '"' + s.replace('"', '""') + '"'


def _fts_match(q: Query, mode: str | None) -> str:
    """The FTS5 query: the words (all or any), author phrases in their column, exclusions."""
    parts = []
    if mode:
        words_ = [_fts_string(t) for t in (*q.content_terms, *q.phrases)]
        parts.append("(" + f" {mode} ".join(words_) + ")")
    parts += [f"(authors_text : {_fts_string(a)})" for a in q.authors]
    expr = " AND ".join(parts)
    if q.exclude:
        expr = f"({expr}) NOT ({' OR '.join(_fts_string(x) for x in q.exclude)})"
    return expr


def _ranked(conn: Connection, q: Query, mode: str, want: int) -> list[int]:
    params: dict[str, Any] = {}
    filters = _filters(conn, q, params)
    if conn.dialect.name != "sqlite":
        return keyword_pg.ranked(conn, q, mode, want, filters, params)
    params.update(window=max(RANK_WINDOW, want + 20), want=want, m=_fts_match(q, mode))
    if not filters:
        # Rank in the index alone, then drop withdrawn papers (rare): no row lookups per match.
        sql = (
            f"SELECT rowid FROM (SELECT rowid, {_BM25} AS score FROM papers_fts WHERE papers_fts MATCH :m "
            "ORDER BY rowid DESC LIMIT :window) ORDER BY score, rowid DESC LIMIT :want"
        )
        return _without_withdrawn(conn, sql, params, want)
    if q.since or q.until:
        # Matches are scanned newest first: bound the scan by the pks of the date range.
        span = _date_pks(conn, q)
        if span:
            params["lo"], params["hi"] = span
            filters.append("papers_fts.rowid BETWEEN :lo AND :hi")
    sql = (
        f"SELECT pk FROM (SELECT p.pk, {_BM25} AS score FROM papers_fts CROSS JOIN papers p "
        "ON p.pk = papers_fts.rowid WHERE papers_fts MATCH :m AND NOT p.withdrawn AND "
        + " AND ".join(filters)
        + " ORDER BY papers_fts.rowid DESC LIMIT :window) ORDER BY score, pk DESC LIMIT :want"
    )
    return [int(r[0]) for r in conn.execute(text(sql), params)]


def _date_pks(conn: Connection, q: Query) -> tuple[int, int] | None:
    """The lowest and highest pk of the papers in the date range of `q` (an empty range when
    there are none), or None when the range holds too many papers to be worth finding out."""
    lo, hi = None, None
    for dated in (True, False):
        params: dict[str, Any] = {"cap": DATE_SPAN}
        where = ["p.published IS NOT NULL" if dated else "p.published IS NULL"]
        where += _filters(conn, Query(raw="", since=q.since, until=q.until), params, dated)
        sql = (
            f"SELECT min(pk), max(pk), count(*) FROM (SELECT p.pk FROM papers p WHERE {' AND '.join(where)} LIMIT :cap)"
        )
        low, high, n = conn.execute(text(sql), params).one()
        if n >= DATE_SPAN:
            return None
        if n:
            lo, hi = min(lo or low, low), max(hi or high, high)
    return (lo, hi) if lo is not None and hi is not None else (1, 0)


def _without_withdrawn(conn: Connection, sql: str, params: dict[str, Any], want: int) -> list[int]:
    ranked = [int(r[0]) for r in conn.execute(text(sql), {**params, "want": want + 20})]
    if not ranked:
        return []
    live = {
        int(r[0])
        for r in conn.execute(
            text("SELECT pk FROM papers WHERE pk IN (SELECT value FROM json_each(:pks)) AND NOT withdrawn"),
            {"pks": orjson.dumps(ranked).decode()},
        )
    }
    if len(live) < want and len(ranked) == want + 20:
        # Many withdrawn papers among the best: rank again, joining papers for every match.
        sql = (
            f"SELECT pk FROM (SELECT p.pk, {_BM25} AS score FROM papers_fts CROSS JOIN papers p "
            "ON p.pk = papers_fts.rowid WHERE papers_fts MATCH :m AND NOT p.withdrawn "
            "ORDER BY papers_fts.rowid DESC LIMIT :window) ORDER BY score, pk DESC LIMIT :want"
        )
        return [int(r[0]) for r in conn.execute(text(sql), params)]
    return [pk for pk in ranked if pk in live][:want]


# -- filters ---------------------------------------------------------------------------------


def _filters(conn: Connection, q: Query, params: dict[str, Any], dated: bool | None = None) -> list[str]:
    """SQL conditions on `papers p` for the categories and dates of `q` (not authors or words).

    Dates apply to the submission date, or to the announcement day of papers without one;
    `dated` True or False writes the condition for only those papers that have, or lack, one.
    """
    sqlite = conn.dialect.name == "sqlite"
    where = []
    if q.categories:
        # Category names (checked by the parser: letters, digits, '.', '-') need no escaping in
        # JSON or LIKE. SQLite: the JSON list's text holds each in quotes (LIKE ignores ASCII case).
        # PostgreSQL: the list's elements (a subquery, which the planner does not take for rare).
        ors = []
        for i, cat in enumerate(q.categories):
            params[f"cat{i}"] = f'%"{cat}"%' if sqlite else cat
            ors.append(f"p.categories LIKE :cat{i}" if sqlite else f"lower(c.value) = :cat{i}")
            if "." not in cat:  # an archive: itself and its subject classes
                params[f"catp{i}"] = f'%"{cat}.%' if sqlite else f"{cat}.%"
                ors.append(f"p.categories LIKE :catp{i}" if sqlite else f"lower(c.value) LIKE :catp{i}")
        if sqlite:
            where.append(f"({' OR '.join(ors)})")
        else:
            elements = "jsonb_array_elements_text(p.categories) c(value)"
            where.append(f"EXISTS (SELECT 1 FROM {elements} WHERE {' OR '.join(ors)})")
    if q.since or q.until:
        published, announced = [], []
        if q.since:
            params["since_ts"], params["since_d"] = _bound(sqlite, q.since)
            published.append("p.published >= :since_ts")
            announced.append("p.announced >= :since_d")
        if q.until:
            params["until_ts"], params["until_d"] = _bound(sqlite, q.until + dt.timedelta(days=1))
            published.append("p.published < :until_ts")
            announced.append("p.announced < :until_d")
        if dated is None:
            where.append(f"(({' AND '.join(published)}) OR (p.published IS NULL AND {' AND '.join(announced)}))")
        else:
            where += published if dated else announced
    return where


def _bound(sqlite: bool, day: dt.date) -> tuple[Any, Any]:
    """A day as a bound for papers.published and papers.announced on this engine."""
    if sqlite:  # stored as naive UTC text, 'YYYY-MM-DD HH:MM:SS', and 'YYYY-MM-DD'
        return day.isoformat(), day.isoformat()
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC), day


def _word_filters(conn: Connection, q: Query, params: dict[str, Any]) -> list[str]:
    """SQL conditions on `papers p` for the authors and excluded words of `q`."""
    if not (q.authors or q.exclude):
        return []
    if conn.dialect.name == "sqlite":
        where = []
        if q.authors:
            params["am"] = _fts_match(Query(raw="", authors=q.authors), None)
            where.append("EXISTS (SELECT 1 FROM papers_fts WHERE papers_fts MATCH :am AND rowid = p.pk)")
        if q.exclude:
            params["xm"] = " OR ".join(_fts_string(x) for x in q.exclude)
            where.append("NOT EXISTS (SELECT 1 FROM papers_fts WHERE papers_fts MATCH :xm AND rowid = p.pk)")
        return where
    where = []
    if q.authors:
        where.append(f"p.search_vector @@ ({keyword_pg.constraints(Query(raw='', authors=q.authors), params)})")
    if q.exclude:
        where.append(keyword_pg.excluded(q, params))
    return where


def _newest(conn: Connection, q: Query, want: int) -> list[int]:
    """Papers passing the filters of `q`, newest first (by submission, else announcement)."""
    sqlite = conn.dialect.name == "sqlite"
    rows: list[tuple[str, int]] = []
    by_author: int | None = None
    # Two index-friendly queries, merged: papers with a submission date, and those without (if any).
    undated = conn.execute(text("SELECT 1 FROM papers WHERE published IS NULL LIMIT 1")).first() is not None
    for dated, column in ((True, "published"), (False, "announced"))[: 2 if undated else 1]:
        params: dict[str, Any] = {"want": want}
        where = ["NOT p.withdrawn", "p.published IS NOT NULL" if dated else "p.published IS NULL"]
        where += _filters(conn, q, params, dated)
        source = "papers p"
        if sqlite and q.authors:
            params["am"] = _fts_match(q, None)
            if by_author is None:
                by_author = _count(conn, params["am"], AUTHOR_SWITCH)
                if not by_author:
                    return []
            if by_author < AUTHOR_SWITCH:  # start from the author's few papers
                source = "papers_fts CROSS JOIN papers p ON p.pk = papers_fts.rowid"
                where.insert(0, "papers_fts MATCH :am")
            else:  # walk the dates newest first, keeping the author's papers
                source = "papers p INDEXED BY ix_papers_published"
                where.append("p.pk IN (SELECT rowid FROM papers_fts WHERE papers_fts MATCH :am)")
        else:
            where += _word_filters(conn, q, params)
        sql = (
            f"SELECT p.pk, p.{column} FROM {source} WHERE {' AND '.join(where)} "
            f"ORDER BY p.{column} DESC{'' if dated else ' NULLS LAST'}, p.pk DESC LIMIT :want"
        )
        rows += [(_sort_key(when), int(pk)) for pk, when in conn.execute(text(sql), params)]
    rows.sort(reverse=True)
    return [pk for _, pk in rows[:want]]


def _count(conn: Connection, match: str, cap: int) -> int:
    """How many papers match an FTS5 query, counting up to `cap`."""
    sql = "SELECT count(*) FROM (SELECT rowid FROM papers_fts WHERE papers_fts MATCH :m LIMIT :cap)"
    return int(conn.execute(text(sql), {"m": match, "cap": cap}).scalar() or 0)


def _sort_key(value: object) -> str:
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return value.isoformat(" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value or "")


def bare_among(conn: Connection, pks: Sequence[int]) -> set[int]:
    """Those of `pks` whose record is bare: no authors and no publication date (a title and an abstract
    only, like the seed list's papers). Search ranks them after fuller records of similar relevance."""
    if not pks:
        return set()
    marks = ", ".join(f":k{i}" for i in range(len(pks)))
    params = {f"k{i}": pk for i, pk in enumerate(pks)}
    sql = f"SELECT pk FROM papers WHERE pk IN ({marks}) AND authors_text = '' AND published IS NULL"
    return {int(r[0]) for r in conn.execute(text(sql), params)}
