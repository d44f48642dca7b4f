"""The SQLite full-text index's catch-up: new papers are indexed in bulk behind a watermark.

Indexing a batch with one INSERT..SELECT is several times faster than a trigger per row, and
keeps bulk imports fast. The watermark moves in the same transaction as the indexing, so after
a crash the index resumes exactly where it stopped. PostgreSQL needs none of this: its tsvector
column is generated with the row.
"""

from __future__ import annotations

from sqlalchemy import Connection, Engine, text

from dailypapers.store.db import bump_data_version, write_tx


def pending(conn: Connection) -> int:
    """How many papers are not yet in the keyword index."""
    if conn.dialect.name != "sqlite":
        return 0
    return int(
        conn.execute(
            text("SELECT count(*) FROM papers WHERE pk > (SELECT value FROM site_state WHERE key = 'fts_indexed_pk')")
        ).scalar()
        or 0
    )


def index_batch(conn: Connection, limit: int = 20_000) -> int:
    """Index up to `limit` papers past the watermark; returns how many."""
    if conn.dialect.name != "sqlite":
        return 0
    mark = int(conn.execute(text("SELECT value FROM site_state WHERE key = 'fts_indexed_pk'")).scalar() or 0)
    upto = conn.execute(
        text("SELECT max(pk), count(*) FROM (SELECT pk FROM papers WHERE pk > :mark ORDER BY pk LIMIT :limit)"),
        {"mark": mark, "limit": limit},
    ).first()
    if not upto or not upto[1]:
        return 0
    conn.execute(
        text(
            "INSERT INTO papers_fts(rowid, title, abstract, authors_text) "
            "SELECT pk, title, abstract, authors_text FROM papers WHERE pk > :mark AND pk <= :upto"
        ),
        {"mark": mark, "upto": upto[0]},
    )
    conn.execute(text("UPDATE site_state SET value = :upto WHERE key = 'fts_indexed_pk'"), {"upto": upto[0]})
    bump_data_version(conn)
    return int(upto[1])


def index_pending(engine: Engine, progress: object = None, batch: int = 20_000) -> int:
    """Index every pending paper, one transaction per batch; returns how many were indexed.

    `progress`, if given, is called with the number indexed after each batch.
    """
    total = 0
    while True:
        with write_tx(engine) as conn:
            done = index_batch(conn, batch)
        if not done:
            return total
        total += done
        if callable(progress):
            progress(done)
