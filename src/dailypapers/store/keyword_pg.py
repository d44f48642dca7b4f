"""Keyword search on PostgreSQL: tsqueries over the accent-folded `papers.search_vector` (migration 0013), and
ranked searches that read a bounded number of matches however common the words (docs/search.md, "Keyword").

Each match ranked costs a heap fetch and a score, one to a few microseconds, so ranking every match of a
common word cost hundreds of milliseconds at 100,000 papers. Here:

- All the words (and an any-word search left with one word): about the newest AND_WINDOW matches are ranked,
  by `ts_rank` (all of them, if fewer). When the rarest word (`term_stats`' counts) is in at most
  `_all_matches` papers (a few thousand), every match is read for its pk and the newest are read again to be
  ranked; beyond that only a range of the newest pks is read, sized to hold about 1.5 windows of that word's
  papers (and so fewer matches of all the words: it is read again, wider, if it held under an eighth).
- Any of the words: a paper's score is the inverse document frequency of each word it holds plus the cover
  density of its matches (`ts_rank_cd`: how often and where, title first), counted up to 1 for a paper with
  only one of the words. Papers with two or more of the words are ranked first
  (the index intersects their lists); papers with one word are then read a word at a time, rarest first, and
  only while such a paper could still reach the results (its word's IDF plus 1 above the last result's
  score). The results are those of ranking every match, at a fraction of the reads.

What is sorted (by pk for the window, then by score) is narrow: scores are computed as the rows are read, or
for the newest only, read again by pk. Parallel workers are off for these queries (on a bounded read their
start costs more than they save).
"""

from __future__ import annotations

import math
from itertools import combinations
from typing import Any

from sqlalchemy import Connection, text

from dailypapers.search.query import Query
from dailypapers.store import term_stats

AND_WINDOW = 1_000  # all-words matches ranked per query, the newest (as good as 10,000 among 11,066 papers)
SMALL = 2_000  # an any-word search whose words match at most this many papers ranks them all at once
OR_WINDOW = 10_000  # any-word matches ranked per query at most (the newest), as on SQLite
SLACK = 1.5  # a pk range is sized to hold this many times the matches wanted, by the rarest word's count
ENOUGH = 8  # a range that held a window's 1/ENOUGH of matches is ranked as it is (not read again, wider)
RANGE_COST = 0.04  # a pk of a range scanned against a match fetched (60 ns and 1.5 us, at 1M papers)
AND_RANK = "ts_rank($v, query)"  # as good as ts_rank_cd among 11,066 papers, a fifth of the cost


def word_query(i: int, prefix: str, phrase: bool = False) -> str:
    """The tsquery of bound parameter `prefix``i` (a word, or a phrase), accents folded as in the index."""
    fn = "phraseto_tsquery" if phrase else "plainto_tsquery"
    return f"{fn}('english', dp_fold_accents(:{prefix}{i}))"


def tsquery(q: Query, mode: str | None, params: dict[str, Any]) -> str:
    """A tsquery expression (bound parameters only) for the words (all or any), authors and exclusions."""
    parts = []
    if mode:
        ws = [word_query(i, "t") for i in range(len(q.content_terms))]
        ws += [word_query(i, "ph", phrase=True) for i in range(len(q.phrases))]
        params.update({f"t{i}": t for i, t in enumerate(q.content_terms)})
        params.update({f"ph{i}": p for i, p in enumerate(q.phrases)})
        parts.append("(" + (" && " if mode == "AND" else " || ").join(ws) + ")")
    extra = constraints(q, params)
    if extra:
        parts.append(extra)
    return " && ".join(parts)


def constraints(q: Query, params: dict[str, Any]) -> str:
    """The authors (weight B, 'simple' configuration) and exclusions of `q` as a tsquery expression, or ''."""
    parts = []
    for i, a in enumerate(q.authors):
        params[f"au{i}"] = " <-> ".join(f"'{w}':B" for w in a.split())
        parts.append(f"to_tsquery('simple', dp_fold_accents(:au{i}))")
    if q.exclude:
        params.update({f"x{i}": x for i, x in enumerate(q.exclude)})
        parts.append("!!(" + " || ".join(word_query(i, "x", phrase=True) for i in range(len(q.exclude))) + ")")
    return " && ".join(parts)


def excluded(q: Query, params: dict[str, Any]) -> str:
    """A condition on `papers p`: none of the excluded words or phrases of `q`."""
    params.update({f"x{i}": x for i, x in enumerate(q.exclude)})
    return f"NOT (p.search_vector @@ ({' || '.join(word_query(i, 'x', phrase=True) for i in range(len(q.exclude)))}))"


def ranked(conn: Connection, q: Query, mode: str, want: int, filters: list[str], params: dict[str, Any]) -> list[int]:
    """The best `want` papers for the words of `q`, all of them (mode AND) or any (OR), best first."""
    conn.execute(text("SELECT set_config('max_parallel_workers_per_gather', '0', true)"))
    if mode == "OR":
        return _any(conn, q, want, filters, params)
    counts = [term_stats.doc_freq(conn, t) for t in q.words]
    if any(c == 0 and not term_stats.stop_word(conn, t) for t, c in zip(q.words, counts, strict=True)):
        return []  # a word no paper holds
    return _newest(conn, tsquery(q, "AND", params), counts, filters, params, want, AND_RANK)


def _newest(
    conn: Connection,
    tsq: str,
    counts: list[int],
    filters: list[str],
    params: dict[str, Any],
    want: int,
    score: str,
    rank_query: str | None = None,
) -> list[int]:
    """The best `want` among the newest AND_WINDOW papers matching `tsq` (all of them, if fewer), `counts`
    being the papers holding each of its words (0: a stop word, which sets no condition).

    Reading every match costs a heap fetch each; reading the newest only costs a scan of the pk index over
    the range that holds them (RANGE_COST a pk against a fetch) plus their fetches. Every match is read when
    the rarest word is in at most `_all_matches` papers; beyond that the newest range, sized first by that
    count (at most that many match), then, when it held too few, by the share of matches it found."""
    window = max(AND_WINDOW, want + 20)
    papers = max(term_stats.paper_count(conn), 1)
    # At most the rarest word's papers match: at most that many are read, or a range sized by it (which holds
    # fewer matches when the words go together less than that, down to what independent words would give).
    expected = min([papers, *(c for c in counts if c)])
    span = None
    while True:
        if expected > _all_matches(window, papers):
            span = min(papers, round(SLACK * window * papers / expected))
        where = filters + ([f"p.pk > {papers - span}"] if span else [])
        found, matched = _run(conn, tsq, where, params, window, want, score, rank_query, late=True)
        if span is None or matched >= window // ENOUGH or span >= papers:
            return [pk for pk, _ in found]
        expected = max(1, round(matched * papers / span))  # too few in the range: widen it, by what it held
        span = None


def _all_matches(window: int, papers: int) -> int:
    """Up to how many matches reading them all costs less than reading the newest pk range that holds about
    SLACK * `window` of them: all of M cost M fetches; the range RANGE_COST * SLACK * window * papers / M pks
    and SLACK * window fetches (equal at the M solving M**2 - a M - b = 0)."""
    a, b = SLACK * window, RANGE_COST * SLACK * window * papers
    return round((a + math.sqrt(a * a + 4 * b)) / 2)


def _any(conn: Connection, q: Query, want: int, filters: list[str], params: dict[str, Any]) -> list[int]:
    terms = q.content_terms
    papers = max(term_stats.paper_count(conn), 1)
    counts = [term_stats.doc_freq(conn, t) for t in terms]
    idf = [math.log(1 + papers / (1 + c)) for c in counts]
    params.update({f"t{i}": t for i, t in enumerate(terms)})
    params.update({f"ph{i}": p for i, p in enumerate(q.phrases)})
    params.update({f"idf{i}": w for i, w in enumerate(idf)})
    held = [i for i, c in enumerate(counts) if c]  # stop words would turn a pair into its other word
    tests = [f"$v @@ {word_query(i, 't')}" for i in held]
    holds = " + ".join(f"CASE WHEN {test} THEN :idf{i} ELSE 0 END" for i, test in zip(held, tests, strict=True))
    several = " + ".join(f"({test})::int" for test in tests) or "0"
    density = f"CASE WHEN {several} > 1 THEN ts_rank_cd($v, query) ELSE least(ts_rank_cd($v, query), 1) END"
    score = f"{holds or '0'} + {density}"
    words = [word_query(i, "t") for i in held] + [word_query(i, "ph", phrase=True) for i in range(len(q.phrases))]
    ors = "(" + (" || ".join(words) or "''::tsquery") + ")"
    if not held and not q.phrases:
        return []  # stop words, and words no paper holds
    if len(held) < 2 and not q.phrases:  # one word: ranked as an all-words search of it is
        return _newest(conn, tsquery(q, "OR", params), counts, filters, params, want, score, ors)
    if q.phrases or sum(counts) <= SMALL:
        found, _ = _run(conn, tsquery(q, "OR", params), filters, params, max(OR_WINDOW, want + 20), want, score, ors)
        return [pk for pk, _ in found]
    extra = constraints(q, params)
    pairs = " || ".join(f"({word_query(i, 't')} && {word_query(j, 't')})" for i, j in combinations(held, 2))
    window = max(OR_WINDOW, want + 20)
    two = f"({pairs})" + (f" && {extra}" if extra else "")
    pool = _run(conn, two, filters, params, window, want, score, ors)[0]
    for i in sorted(held, key=lambda i: -idf[i]):
        floor = sorted((s for _, s in pool), reverse=True)[want - 1] if len(pool) >= want else -1.0
        if idf[i] + 1 <= floor:
            break  # a paper with this word alone (or a commoner one's) cannot reach the results
        one = word_query(i, "t") + (f" && {extra}" if extra else "")
        alone = [*filters, f"NOT (p.search_vector @@ ({pairs}))"]
        # The score of a paper holding word i alone among them (its density is that of word i's covers).
        single = f":idf{i} + least(ts_rank_cd($v, query), 1)"
        pool += _run(conn, one, alone, params, window, want, single, word_query(i, "t"))[0]
    pool.sort(key=lambda item: (-item[1], -item[0]))
    return [pk for pk, _ in pool[:want]]


def _run(
    conn: Connection,
    tsq: str,
    where: list[str],
    params: dict[str, Any],
    window: int,
    want: int,
    score: str,
    rank_query: str | None = None,
    late: bool = False,
) -> tuple[list[tuple[int, float]], int]:
    """The best `want` (pk, score) among the newest `window` papers matching `tsq` and `where`, and how many
    were ranked. `score` reads the paper's vector `$v` and `query` (`rank_query`, else `tsq`). It is computed
    as the rows are read, so that only pks and scores are sorted; `late`, only for the newest `window`, read
    again by pk (for a window much smaller than the matches)."""
    query = f"(SELECT {rank_query or tsq} AS query) t"
    score = score.replace("$v", "p.search_vector")
    if late:  # the matches read for their pks alone; withdrawn papers (rare) dropped from the window after
        conditions = " AND ".join([f"p.search_vector @@ ({tsq})", *where])
        newest = f"SELECT p.pk FROM papers p WHERE {conditions} ORDER BY p.pk DESC LIMIT :window"
        ranked = (
            f"SELECT p.pk, {score} AS score FROM ({newest}) w JOIN papers p USING (pk), {query} WHERE NOT p.withdrawn"
        )
    else:
        conditions = " AND ".join([f"p.search_vector @@ ({tsq})", "NOT p.withdrawn", *where])
        scored = f"SELECT p.pk, {score} AS score FROM papers p, {query} WHERE {conditions} OFFSET 0"
        ranked = f"SELECT pk, score FROM ({scored}) s ORDER BY pk DESC LIMIT :window"
    sql = f"SELECT pk, score, count(*) OVER () FROM ({ranked}) r ORDER BY score DESC, pk DESC LIMIT :want"
    rows = conn.execute(text(sql), {**params, "window": window, "want": want}).all()
    return [(int(r[0]), float(r[1])) for r in rows], int(rows[0][2]) if rows else 0
