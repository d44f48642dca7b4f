"""PostgreSQL's bulk path for new papers: COPY instead of row-by-row INSERT, and the keyword index's GIN
maintained in bulk while a large import runs.

Each new paper costs the database its generated `search_vector` (three `to_tsvector` calls) and its GIN
entries: most of an import's time there. COPY streams a batch's rows in one statement (an INSERT per row
paid a parse-bind-execute round of its own). A large batch lets the GIN index's pending list grow to
PENDING_LIST_LIMIT before it is merged into the index, so the entries of many batches go in sorted, in one
pass, instead of a merge every 4 MB; the importer flushes the list at its end (`flush_pending`), so searches
never scan a long one for long. Everything runs inside the caller's transaction: a killed import leaves no
half-written batch, as with INSERT.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection

from dailypapers.store.paper_names import name_keys

# A batch this large (new papers) takes the bulk settings below, for its transaction only.
BULK_ROWS = 1000
# The GIN pending list may hold this much before the inserting backend merges it (PostgreSQL's default: 4MB),
# merged with this much memory (work_mem: the merge an INSERT triggers sorts the entries in it; per writer).
PENDING_LIST_LIMIT = "64MB"
MERGE_WORK_MEM = "64MB"
FLUSH_MAINTENANCE_WORK_MEM = "256MB"

_NEXT_PKS = (
    "SELECT nextval(s.seq) FROM (SELECT pg_get_serial_sequence('papers', 'pk')::regclass AS seq) s, "
    "generate_series(1, %s)"
)
# gin_clean_pending_list of each GIN index on papers that this role owns (only the owner may, as for VACUUM).
_FLUSH = (
    "SELECT gin_clean_pending_list(c.oid::regclass) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
    "JOIN pg_am a ON a.oid = c.relam "
    "WHERE i.indrelid = 'papers'::regclass AND a.amname = 'gin' AND pg_has_role(c.relowner, 'USAGE')"
)


def _cursor(conn: Connection) -> Any:
    """A psycopg 3 cursor on the connection's own transaction."""
    return conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]


def copy_rows(conn: Connection, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """COPY `rows` (values in `columns` order; text for JSON columns) into `table`.

    The text format: psycopg escapes tabs, newlines and backslashes, and the server parses each value as its
    column's type, as it would a bound parameter's text.
    """
    if not rows:
        return
    with _cursor(conn) as cur, cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def draw_pks(conn: Connection, count: int) -> list[int]:
    """`count` numbers from the papers' pk sequence, ascending: the pks of new papers, drawn in the order an
    INSERT's default would draw them. Drawn ahead of the COPY, so that batches written on several
    connections at once still number their papers in file order."""
    return sorted(r[0] for r in conn.exec_driver_sql(_NEXT_PKS, (count,)))


def insert_papers(
    conn: Connection,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    pks: Sequence[int],
    *,
    authors: int,
    extra: int,
) -> None:
    """Insert new papers (`rows` in `columns` order, pk left out, numbered by `pks`) and their `paper_names`
    entries. `authors` and `extra`: where those columns are in a row (the name index reads them)."""
    if not rows:
        return
    if len(rows) >= BULK_ROWS:
        conn.exec_driver_sql(f"SET LOCAL gin_pending_list_limit = '{PENDING_LIST_LIMIT}'")
        conn.exec_driver_sql(f"SET LOCAL work_mem = '{MERGE_WORK_MEM}'")
    numbered = list(zip(pks, rows, strict=True))
    copy_rows(conn, "papers", ["pk", *columns], [(pk, *row) for pk, row in numbered])
    names = [(kind, key, pk) for pk, row in numbered for kind, key in name_keys(row[authors], row[extra])]
    copy_rows(conn, "paper_names", ["kind", "key", "paper_pk"], names)


def flush_pending(conn: Connection) -> None:
    """Merge the GIN pending lists of `papers`' indexes into the indexes (after a large import), so searches
    read no long list. Only the indexes' owner may (as for VACUUM): for another role the list waits for the
    next insert past the default limit, or for autovacuum. Nothing on SQLite."""
    if conn.dialect.name != "postgresql":
        return
    conn.exec_driver_sql(f"SET LOCAL maintenance_work_mem = '{FLUSH_MAINTENANCE_WORK_MEM}'")
    conn.exec_driver_sql(_FLUSH).all()
