"""Semantic search: paper embeddings (pgvector HNSW on PostgreSQL), embedding claims, tombstones.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op
from pgvector.sqlalchemy import Vector

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TS = sa.DateTime(timezone=True)
DIM = 384  # all-MiniLM-L6-v2
VectorType = sa.LargeBinary().with_variant(Vector(DIM), "postgresql")


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    if not sqlite:
        # Needs a role allowed to create it, unless it is there already (CREATE EXTENSION vector as a superuser).
        op.execute("CREATE EXTENSION IF NOT EXISTS vector")
    op.create_table(
        "paper_embeddings",
        sa.Column(
            "paper_pk", PK, sa.ForeignKey("papers.pk", ondelete="CASCADE"), primary_key=True, autoincrement=False
        ),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("content_hash", sa.String(32), nullable=False),  # papers.content_hash when embedded
        sa.Column("seq", sa.BigInteger, nullable=False),  # from site_state 'embedding_seq', on every write
        sa.Column("vector", VectorType, nullable=False),  # float32 bytes on SQLite
    )
    op.create_index("ix_paper_embeddings_seq", "paper_embeddings", ["seq", "model"])
    op.create_table(
        "embedding_claims",
        sa.Column(
            "paper_pk", PK, sa.ForeignKey("papers.pk", ondelete="CASCADE"), primary_key=True, autoincrement=False
        ),
        sa.Column("owner", sa.String(100), nullable=False),
        sa.Column("claimed_at", TS, nullable=False),
    )
    op.create_table(
        "embedding_tombstones",
        sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("paper_pk", sa.BigInteger, nullable=False),
    )
    op.execute("INSERT INTO site_state (key, value) VALUES ('embedding_seq', 0)")
    if sqlite:
        # An ANN index file catching up by seq must also learn of deletions (a paper deleted, its
        # embedding with it by cascade): each leaves a tombstone at the next seq.
        op.execute("INSERT INTO site_state (key, value) VALUES ('embedding_store_id', abs(random()))")
        op.execute(
            "CREATE TRIGGER paper_embeddings_ad AFTER DELETE ON paper_embeddings BEGIN "
            "UPDATE site_state SET value = value + 1 WHERE key = 'embedding_seq'; "
            "INSERT INTO embedding_tombstones (seq, paper_pk) "
            "SELECT value, old.paper_pk FROM site_state WHERE key = 'embedding_seq'; END"
        )
    else:
        op.execute("INSERT INTO site_state (key, value) VALUES ('embedding_store_id', floor(random() * 9e15)::bigint)")
        op.execute("CREATE INDEX ix_paper_embeddings_hnsw ON paper_embeddings USING hnsw (vector vector_cosine_ops)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS paper_embeddings_ad")
    op.execute("DELETE FROM site_state WHERE key IN ('embedding_seq', 'embedding_store_id')")
    op.drop_table("embedding_tombstones")
    op.drop_table("embedding_claims")
    op.drop_table("paper_embeddings")
