"""PostgreSQL search: accents folded in the keyword index (Schrödinger = Schrodinger), the tsvector kept in the
row (no TOAST fetch per match ranked), finer word statistics for leaving common words out, and the embeddings'
HNSW graph built with ef_construction 200 (64 before), for recall@10 >= 0.95 among a million papers. SQLite:
nothing (FTS5 already folds accents: `remove_diacritics 2`; usearch has its own index file).

`dp_fold_accents(text)` is an immutable SQL function (no extension needed: the `unaccent` contrib module is not
in every PostgreSQL, the test server's included): ASCII text is returned as it is; other text is decomposed
(NFKD, which also splits ligatures such as "ﬁ"), its combining marks dropped, and the letters with no
decomposition that names carry (ø, ł, đ, ß, æ, œ...) spelled in ASCII. The same function folds the queries.

The generated column cannot change its expression in place (PostgreSQL 16), so it is dropped and added again
in one ALTER TABLE: one rewrite of `papers`, under an exclusive lock, then the GIN index and ANALYZE. On the
development machine (2 vCPUs) that took 198 s for a million papers (docs/benchmarks.md); the site waits on
`dailypapers migrate` meanwhile, as for every migration, and the table needs its size again free on disk
while it is rewritten. The column is computed by the database, so an INSERT or COPY that leaves it out
(every import) needs no change.

The HNSW index is built again: 17 minutes for a million vectors on those 2 vCPUs, with maintenance_work_mem
large enough to hold the graph (about 2 GB for a million; pgvector says when it does not fit, and goes on
slower). With ef_construction 64 the graph's recall@10 against exact search stayed at 0.913 at ef_search 800
there (0.961 now at 1000): docs/benchmarks.md, "PostgreSQL search at 100k and 1M papers".

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05
"""

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

FOLD = r"""
CREATE OR REPLACE FUNCTION dp_fold_accents(text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
SELECT CASE WHEN octet_length($1) = char_length($1) THEN $1 ELSE
  replace(replace(replace(replace(replace(translate(
    regexp_replace(normalize($1, NFKD), '[\u0300-\u036f]', '', 'g'),
    'øØłŁđĐħĦıŧŦ', 'oOlLdDhHitT'), 'ß', 'ss'), 'æ', 'ae'), 'Æ', 'AE'), 'œ', 'oe'), 'Œ', 'OE') END
$$
"""
# NFKD needs a UTF8 database; in a single-byte one every text takes the ASCII branch (byte and character
# lengths agree), so the function never reaches it there.


def _vector(fold: bool) -> str:
    f = (lambda col: f"dp_fold_accents(coalesce({col}, ''))") if fold else (lambda col: f"coalesce({col}, '')")
    return (
        f"setweight(to_tsvector('english', {f('title')}), 'A') || "
        f"setweight(to_tsvector('simple', {f('authors_text')}), 'B') || "
        f"setweight(to_tsvector('english', {f('abstract')}), 'C')"
    )


def _rebuild(fold: bool) -> None:
    # One statement, one rewrite: the column (and its GIN index with it) dropped and added again. STORAGE
    # MAIN keeps the vector in the row, so ranking a match reads no TOAST (the abstract moves out instead).
    column = "ALTER COLUMN search_vector SET"
    op.execute(
        "ALTER TABLE papers DROP COLUMN search_vector, "
        f"ADD COLUMN search_vector tsvector GENERATED ALWAYS AS ({_vector(fold)}) STORED"
        + (f", {column} STORAGE MAIN, {column} STATISTICS 1000" if fold else "")
    )
    op.execute("CREATE INDEX ix_papers_search ON papers USING gin (search_vector)")
    # Word frequencies for the searches' common-word pruning (store.term_stats) come from these statistics.
    op.execute("ANALYZE papers")


def _hnsw(ef_construction: int) -> None:
    op.execute("DROP INDEX IF EXISTS ix_paper_embeddings_hnsw")
    op.execute(
        "CREATE INDEX ix_paper_embeddings_hnsw ON paper_embeddings USING hnsw (vector vector_cosine_ops) "
        f"WITH (m = 16, ef_construction = {ef_construction})"
    )


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    op.execute(FOLD)
    _rebuild(fold=True)
    _hnsw(200)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    _hnsw(64)  # pgvector's default, as 0004 built it
    _rebuild(fold=False)
    op.execute("DROP FUNCTION IF EXISTS dp_fold_accents(text)")
