"""Papers by the names on them: the `paper_names` index (authors and Hugging Face organizations, under the
keys `sources.names` gives them), kept as papers are written, and the questions the author and
organization pages ask of it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
from sqlalchemy import Connection, text

from dailypapers.sources.names import author_key, keys_of, org_key
from dailypapers.store.convert import from_json
from dailypapers.store.feed import Entry, entries_by_pk

AUTHOR, ORG = "author", "org"
SPELLINGS_FROM = 300  # papers read for the ways a name is written


def name_keys(authors: Any, extra: Any) -> list[tuple[str, str]]:
    """The `(kind, key)` index entries of a paper, from its authors and extra fields (stored JSON as text,
    or parsed)."""
    if isinstance(authors, str):
        authors = orjson.loads(authors)
    keys = [(AUTHOR, k) for k in keys_of(a.get("name") or "" for a in authors if isinstance(a, dict))]
    if isinstance(extra, str):
        if '"organization"' not in extra:
            return keys
        extra = orjson.loads(extra)
    org = (extra or {}).get("organization")
    if isinstance(org, dict) and isinstance(org.get("name"), str) and (key := org_key(org["name"])):
        keys.append((ORG, key))
    return keys


def index_papers(conn: Connection, papers: Sequence[tuple[str, Any, Any]], *, replace: bool) -> None:
    """Index papers just written, given as `(id, authors, extra)`; `replace`: drop what was indexed for
    them before (an update). One query for their pks, one batch of inserts: this runs in every import
    batch."""
    if not papers:
        return
    pks = _pks(conn, [p[0] for p in papers])
    rows = [
        (kind, key, pks[pid]) for pid, authors, extra in papers if pid in pks for kind, key in name_keys(authors, extra)
    ]
    sqlite = conn.dialect.name == "sqlite"
    if replace:
        if sqlite:
            sql = "DELETE FROM paper_names WHERE paper_pk IN (SELECT value FROM json_each(?))"
            arg: Any = orjson.dumps(list(pks.values())).decode()
        else:
            sql, arg = "DELETE FROM paper_names WHERE paper_pk = ANY(%s)", list(pks.values())
        conn.exec_driver_sql(sql, (arg,))
    if rows:
        marks = "?, ?, ?" if sqlite else "%s, %s, %s"
        conn.exec_driver_sql(f"INSERT INTO paper_names (kind, key, paper_pk) VALUES ({marks})", rows)


def _pks(conn: Connection, ids: list[str]) -> dict[str, int]:
    if conn.dialect.name == "sqlite":
        sql = "SELECT id, pk FROM papers WHERE id IN (SELECT value FROM json_each(?))"
        arg: Any = orjson.dumps(ids).decode()
    else:
        sql, arg = "SELECT id, pk FROM papers WHERE id = ANY(%s)", ids
    return {r[0]: r[1] for r in conn.exec_driver_sql(sql, (arg,))}


def count_papers(conn: Connection, kind: str, key: str) -> int:
    """How many papers carry the name `key` of `kind` (AUTHOR or ORG)."""
    sql = "SELECT count(*) FROM paper_names WHERE kind = :kind AND key = :key"
    return int(conn.execute(text(sql), {"kind": kind, "key": key}).scalar() or 0)


def papers_by_author(conn: Connection, key: str, *, limit: int, offset: int = 0) -> list[Entry]:
    """One page of the papers of the author `key`, newest first (by first submission)."""
    sql = (
        "SELECT n.paper_pk FROM paper_names n JOIN papers p ON p.pk = n.paper_pk "
        "WHERE n.kind = :kind AND n.key = :key "
        "ORDER BY p.published DESC NULLS LAST, p.pk DESC LIMIT :limit OFFSET :offset"
    )
    args = {"kind": AUTHOR, "key": key, "limit": limit, "offset": offset}
    return entries_by_pk(conn, [r[0] for r in conn.execute(text(sql), args)])


def papers_of_org(conn: Connection, key: str, *, limit: int, offset: int = 0) -> list[Entry]:
    """One page of the papers of the organization `key`, the most recently featured first (papers never
    featured last, newest first)."""
    sql = (
        "SELECT n.paper_pk FROM paper_names n JOIN papers p ON p.pk = n.paper_pk "
        "WHERE n.kind = :kind AND n.key = :key "
        "ORDER BY (SELECT max(l.day) FROM daily_listings l WHERE l.paper_pk = n.paper_pk) DESC NULLS LAST, "
        "p.published DESC NULLS LAST, p.pk DESC LIMIT :limit OFFSET :offset"
    )
    args = {"kind": ORG, "key": key, "limit": limit, "offset": offset}
    return entries_by_pk(conn, [r[0] for r in conn.execute(text(sql), args)])


def author_spellings(conn: Connection, key: str) -> list[str]:
    """The names written on (up to SPELLINGS_FROM of) the papers of the author `key` that are that author's,
    one per paper, the newest papers first."""
    sql = (
        "SELECT p.authors FROM paper_names n JOIN papers p ON p.pk = n.paper_pk "
        "WHERE n.kind = :kind AND n.key = :key ORDER BY p.pk DESC LIMIT :limit"
    )
    out = []
    for (authors,) in conn.execute(text(sql), {"kind": AUTHOR, "key": key, "limit": SPELLINGS_FROM}):
        for a in from_json(authors):
            if isinstance(a, dict) and author_key(a.get("name") or "") == key:
                out.append(a["name"])
                break
    return out


def org_names(conn: Connection, key: str) -> tuple[str, str] | None:
    """`(name, full name)` of the organization `key` as on its newest paper, or None for an unknown one."""
    sql = (
        "SELECT p.extra FROM paper_names n JOIN papers p ON p.pk = n.paper_pk "
        "WHERE n.kind = :kind AND n.key = :key ORDER BY p.pk DESC LIMIT 1"
    )
    extra = conn.execute(text(sql), {"kind": ORG, "key": key}).scalar()
    if extra is None:
        return None
    org = from_json(extra).get("organization") or {}
    return str(org.get("name") or key), str(org.get("fullname") or "")
