"""Saved papers (`saves`): one row per reader and paper, private to the reader.

`set_save` is idempotent: saving a saved paper (two clicks at once included) changes nothing, on SQLite
(serialized writers) and on PostgreSQL (the primary key and `ON CONFLICT DO NOTHING`).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Connection, delete, func, select

from dailypapers.store.convert import aware, upsert_insert, utc_now
from dailypapers.store.schema_personal import Save

saves = Save.__table__


def set_save(conn: Connection, user_pk: int, paper_pk: int, on: bool) -> bool:
    """Make the reader's save of the paper `on` or off; True if anything changed."""
    if on:
        row = {"user_pk": user_pk, "paper_pk": paper_pk, "created_at": utc_now()}
        stmt = upsert_insert(conn)(saves).values(row).on_conflict_do_nothing(index_elements=["user_pk", "paper_pk"])
        # RETURNING says whether the row appeared (psycopg reports no rowcount for an upsert's insert).
        return conn.execute(stmt.returning(saves.c.paper_pk)).first() is not None
    result = conn.execute(delete(saves).where(saves.c.user_pk == user_pk, saves.c.paper_pk == paper_pk))
    return result.rowcount == 1


def is_saved(conn: Connection, user_pk: int, paper_pk: int) -> bool:
    q = select(saves.c.paper_pk).where(saves.c.user_pk == user_pk, saves.c.paper_pk == paper_pk)
    return conn.execute(q).first() is not None


def saved_among(conn: Connection, user_pk: int, paper_pks: list[int]) -> set[int]:
    """Which of these papers the reader has saved."""
    if not paper_pks:
        return set()
    q = select(saves.c.paper_pk).where(saves.c.user_pk == user_pk, saves.c.paper_pk.in_(paper_pks))
    return {int(r[0]) for r in conn.execute(q)}


def saved_of(conn: Connection, user_pk: int, limit: int, offset: int = 0) -> list[tuple[int, dt.datetime]]:
    """(paper pk, saved at) of the reader's saved papers, the most recently saved first."""
    q = (
        select(saves.c.paper_pk, saves.c.created_at)
        .where(saves.c.user_pk == user_pk)
        .order_by(saves.c.created_at.desc(), saves.c.paper_pk.desc())
        .limit(limit)
        .offset(offset)
    )
    return [(int(pk), aware(at) or utc_now()) for pk, at in conn.execute(q)]


def count_saved(conn: Connection, user_pk: int) -> int:
    q = select(func.count()).select_from(saves).where(saves.c.user_pk == user_pk)
    return int(conn.execute(q).scalar() or 0)
