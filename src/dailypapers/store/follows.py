"""What readers follow (`follows`: authors, organizations, categories, saved searches) and the papers
that match them: new ones since a day (the Following page) or among given candidates ("for you").

Names meet the `paper_names` index under the keys `sources.names` gives them; categories are matched as
the feed's filter matches them (an archive stands for its classes); saved searches are checked against
the full-text index here, the words all required. A paper is new by its announcement day, else by the
day of its first submission.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Connection, delete, func, select, text

from dailypapers.search.query import Query
from dailypapers.store import keyword
from dailypapers.store.convert import as_date, aware, upsert_insert, utc_now
from dailypapers.store.schema_personal import Follow

NAMED = ("author", "org")  # follows matched through `paper_names`


@dataclass(frozen=True, slots=True)
class FollowRow:
    pk: int
    kind: str
    key: str
    label: str
    created_at: dt.datetime


@dataclass(frozen=True, slots=True)
class Match:
    """A paper a follow matches, with the day it counts as new on."""

    paper_pk: int
    day: dt.date | None
    follow_pk: int


_COLS = (Follow.pk, Follow.kind, Follow.key, Follow.label, Follow.created_at)


def _row(r: Any) -> FollowRow:
    return FollowRow(int(r.pk), r.kind, r.key, r.label or "", aware(r.created_at) or utc_now())


def add_follow(conn: Connection, user_pk: int, kind: str, key: str, label: str) -> FollowRow:
    """Follow `key` of `kind` (nothing changes when the reader already does); the follow as stored."""
    row = {"user_pk": user_pk, "kind": kind, "key": key, "label": label, "created_at": utc_now()}
    stmt = upsert_insert(conn)(Follow).values(row)
    conn.execute(stmt.on_conflict_do_nothing(index_elements=["user_pk", "kind", "key"]))
    found = find_follow(conn, user_pk, kind, key)
    assert found is not None  # just written, in this transaction
    return found


def find_follow(conn: Connection, user_pk: int, kind: str, key: str) -> FollowRow | None:
    row = conn.execute(
        select(*_COLS).where(Follow.user_pk == user_pk, Follow.kind == kind, Follow.key == key)
    ).one_or_none()
    return _row(row) if row is not None else None


def follow_by_pk(conn: Connection, user_pk: int, pk: int) -> FollowRow | None:
    row = conn.execute(select(*_COLS).where(Follow.user_pk == user_pk, Follow.pk == pk)).one_or_none()
    return _row(row) if row is not None else None


def count_follows(conn: Connection, user_pk: int, kind: str | None = None) -> int:
    """How many follows the reader has (of `kind`, or of every kind)."""
    stmt = select(func.count()).select_from(Follow).where(Follow.user_pk == user_pk)
    if kind is not None:
        stmt = stmt.where(Follow.kind == kind)
    return int(conn.execute(stmt).scalar() or 0)


def remove_follow(conn: Connection, user_pk: int, kind: str, key: str) -> bool:
    """Stop following; whether there was such a follow."""
    stmt = delete(Follow).where(Follow.user_pk == user_pk, Follow.kind == kind, Follow.key == key)
    return bool(conn.execute(stmt).rowcount)


def remove_follow_pk(conn: Connection, user_pk: int, pk: int) -> bool:
    """Stop following the reader's follow `pk`; whether there was one of theirs."""
    return bool(conn.execute(delete(Follow).where(Follow.user_pk == user_pk, Follow.pk == pk)).rowcount)


def follows_of(conn: Connection, user_pk: int) -> list[FollowRow]:
    """The reader's follows, oldest first."""
    rows = conn.execute(select(*_COLS).where(Follow.user_pk == user_pk).order_by(Follow.created_at, Follow.pk))
    return [_row(r) for r in rows]


def keys_followed(conn: Connection, user_pk: int, kind: str, keys: Sequence[str]) -> set[str]:
    """Which of `keys` of `kind` the reader follows."""
    if not keys:
        return set()
    stmt = select(Follow.key).where(Follow.user_pk == user_pk, Follow.kind == kind, Follow.key.in_(list(keys)))
    return {str(k) for k in conn.execute(stmt).scalars()}


# -- matching --------------------------------------------------------------------------------------


def _sqlite(conn: Connection) -> bool:
    return conn.dialect.name == "sqlite"


def _new_since(conn: Connection, since: dt.date, args: dict[str, Any]) -> str:
    """The condition that paper `p` is new on or after `since` (bound into `args`): two index ranges, on
    the announcement day and on the submission time (SQLite: `+` keeps it off the announcement index for
    the papers without one, which may be most of them)."""
    if _sqlite(conn):
        args["since_d"] = args["since_ts"] = since.isoformat()
        return "(p.announced >= :since_d OR (p.published >= :since_ts AND +p.announced IS NULL))"
    args["since_d"], args["since_ts"] = since, dt.datetime.combine(since, dt.time(), tzinfo=dt.UTC)
    return "(p.announced >= :since_d OR (p.published >= :since_ts AND p.announced IS NULL))"


def _new_day(conn: Connection) -> str:
    """The day paper `p` counts as new on (its announcement, else its first submission)."""
    if _sqlite(conn):
        return "coalesce(p.announced, substr(p.published, 1, 10))"
    return "coalesce(p.announced, (p.published AT TIME ZONE 'UTC')::date)"


def _elements(conn: Connection) -> str:
    """A paper's categories as rows `c(value)`."""
    return "json_each(p.categories) c" if _sqlite(conn) else "jsonb_array_elements_text(p.categories) c(value)"


def _in_pks(conn: Connection, pks: Sequence[int], args: dict[str, Any], column: str = "p.pk") -> str:
    if _sqlite(conn):
        args["pks"] = orjson.dumps([int(pk) for pk in pks]).decode()
        return f"{column} IN (SELECT value FROM json_each(:pks))"
    args["pks"] = [int(pk) for pk in pks]
    return f"{column} = ANY(:pks)"


# A follow of a category `f` holds a category `c.value` of a paper: itself, or an archive holding its class.
_CATEGORY_ON = (
    "f.user_pk = :user AND f.kind = 'category' AND "
    "(lower(c.value) = f.key OR (f.key NOT LIKE :any_dot AND lower(c.value) LIKE f.key || :dot_any))"
)
_LIKES = {"any_dot": "%.%", "dot_any": ".%"}  # bound: a '%' in SQL text means something else to some drivers
# From the reader's follows to the names index to the papers (SQLite joins CROSS JOINs in the order written).
_NAMED_FROM = (
    "FROM follows f CROSS JOIN paper_names n CROSS JOIN papers p WHERE f.user_pk = :user "
    "AND f.kind IN ('author', 'org') AND n.kind = f.kind AND n.key = f.key AND p.pk = n.paper_pk"
)


def _matches(conn: Connection, sql: str, args: dict[str, Any]) -> list[Match]:
    return [Match(int(r[0]), as_date(r[1]), int(r[2])) for r in conn.execute(text(sql), args)]


def new_named(conn: Connection, user_pk: int, since: dt.date, cap: int) -> list[Match]:
    """Papers new since `since` by the authors and organizations the reader follows (up to `cap` matches,
    the newest first; a paper once per follow that brings it)."""
    args: dict[str, Any] = {"user": user_pk, "cap": cap}
    sql = (
        f"SELECT DISTINCT p.pk, {_new_day(conn)} AS day, f.pk AS fpk {_NAMED_FROM} "
        f"AND NOT p.withdrawn AND {_new_since(conn, since, args)} ORDER BY day DESC, p.pk DESC LIMIT :cap"
    )
    return _matches(conn, sql, args)


def new_in_categories(conn: Connection, user_pk: int, since: dt.date, cap: int) -> list[Match]:
    """Papers new since `since` in the categories the reader follows (as `new_named`)."""
    args: dict[str, Any] = {"user": user_pk, "cap": cap, **_LIKES}
    sql = (
        f"SELECT DISTINCT p.pk, {_new_day(conn)} AS day, f.pk AS fpk FROM papers p CROSS JOIN {_elements(conn)} "
        f"JOIN follows f ON {_CATEGORY_ON} WHERE NOT p.withdrawn AND {_new_since(conn, since, args)} "
        "ORDER BY day DESC, p.pk DESC LIMIT :cap"
    )
    return _matches(conn, sql, args)


def named_among(conn: Connection, user_pk: int, pks: Sequence[int]) -> list[Match]:
    """The reader's author, organization and category follows that the papers `pks` match, in one query."""
    if not pks:
        return []
    args: dict[str, Any] = {"user": user_pk, **_LIKES}
    day = _new_day(conn)
    sql = (
        f"SELECT DISTINCT p.pk, {day} AS day, f.pk AS fpk {_NAMED_FROM} AND {_in_pks(conn, pks, args, 'n.paper_pk')} "
        f"UNION SELECT DISTINCT p.pk, {day} AS day, f.pk AS fpk FROM papers p CROSS JOIN {_elements(conn)} "
        f"JOIN follows f ON {_CATEGORY_ON} WHERE {_in_pks(conn, pks, args)}"
    )
    return _matches(conn, sql, args)


def new_among(conn: Connection, pks: Sequence[int], since: dt.date) -> dict[int, dt.date | None]:
    """Which of `pks` are new since `since` (and not withdrawn), with the day each counts as new on."""
    if not pks:
        return {}
    args: dict[str, Any] = {}
    sql = (
        f"SELECT p.pk, {_new_day(conn)} FROM papers p WHERE {_in_pks(conn, pks, args)} "
        f"AND NOT p.withdrawn AND {_new_since(conn, since, args)}"
    )
    return {int(r[0]): as_date(r[1]) for r in conn.execute(text(sql), args)}


def search_matches(conn: Connection, q: Query, pks: Sequence[int]) -> set[int]:
    """Which of `pks` a saved search matches: every word and phrase of `q` (not just some, as a search
    fills its later results with), and its filters (`keyword.matching`)."""
    if not pks or q.is_empty:
        return set()
    passing = keyword.matching(conn, q, pks)
    words = [*q.content_terms, *q.phrases]
    if not words or not passing:
        return passing
    args: dict[str, Any] = {}
    if _sqlite(conn):
        # FTS5 narrows a match by a rowid range cheaply, but runs it once per row of an IN list (a second
        # for 6,000 candidates at 1M papers): the range here, the candidates in Python.
        args["m"] = " AND ".join('"' + w.replace('"', '""') + '"' for w in words)
        args["lo"], args["hi"] = min(passing), max(passing)
        sql = "SELECT rowid FROM papers_fts WHERE papers_fts MATCH :m AND rowid >= :lo AND rowid <= :hi"
        return {int(r[0]) for r in conn.execute(text(sql), args)} & passing
    else:
        # Accents folded as in the index (migration 0013).
        parts = [f"plainto_tsquery('english', dp_fold_accents(:t{i}))" for i in range(len(q.content_terms))]
        parts += [f"phraseto_tsquery('english', dp_fold_accents(:ph{i}))" for i in range(len(q.phrases))]
        args.update({f"t{i}": t for i, t in enumerate(q.content_terms)})
        args.update({f"ph{i}": ph for i, ph in enumerate(q.phrases)})
        sql = (
            f"SELECT p.pk FROM papers p WHERE {_in_pks(conn, list(passing), args)} "
            f"AND p.search_vector @@ ({' && '.join(parts)})"
        )
    return {int(r[0]) for r in conn.execute(text(sql), args)}
