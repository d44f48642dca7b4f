"""Keyword search over titles, authors and abstracts: SQLite FTS5 (bm25) or PostgreSQL full text.

User text never reaches the query language as syntax: terms are extracted and quoted, so
operators, quotes, LaTeX or SQL metacharacters cannot make a query fail.
"""

from __future__ import annotations

import re

from sqlalchemy import Connection, text

_TERM = re.compile(r"\w+", re.UNICODE)
MAX_TERMS = 32


def terms(query: str) -> list[str]:
    """The words of a query, lower-cased, in order, without duplicates."""
    seen: dict[str, None] = {}
    for t in _TERM.findall(query.lower()):
        seen.setdefault(t, None)
    return list(seen)[:MAX_TERMS]


def search_pks(conn: Connection, query: str, limit: int = 20) -> list[int]:
    """Paper pks best first: papers with all the terms, then (if too few) papers with any."""
    words = terms(query)
    if not words:
        return []
    if conn.dialect.name == "sqlite":
        # Title weighs most, then authors, then the abstract.
        sql = text(
            "SELECT rowid FROM papers_fts WHERE papers_fts MATCH :q "
            "ORDER BY bm25(papers_fts, 10.0, 1.0, 4.0) LIMIT :limit"
        )
        quoted = ['"' + w.replace('"', '""') + '"' for w in words]
        found = [r[0] for r in conn.execute(sql, {"q": " AND ".join(quoted), "limit": limit})]
        if len(found) < limit and len(words) > 1:
            more = conn.execute(sql, {"q": " OR ".join(quoted), "limit": limit})
            found += [r[0] for r in more if r[0] not in set(found)]
        return found[:limit]
    sql = text(
        "SELECT pk FROM papers, to_tsquery('english', :q) query WHERE search_vector @@ query "
        "ORDER BY ts_rank_cd(search_vector, query) DESC, pk LIMIT :limit"
    )
    lexemes = [w.replace("'", "") for w in words if w.replace("'", "")]
    found = [r[0] for r in conn.execute(sql, {"q": " & ".join(f"'{w}'" for w in lexemes), "limit": limit})]
    if len(found) < limit and len(lexemes) > 1:
        more = conn.execute(sql, {"q": " | ".join(f"'{w}'" for w in lexemes), "limit": limit})
        found += [r[0] for r in more if r[0] not in set(found)]
    return found[:limit]
