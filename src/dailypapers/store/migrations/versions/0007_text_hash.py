"""A paper's text hash (of its title and abstract, what its embedding is computed from): embeddings are
current while that text is, whatever else changes (upvotes synced from Hugging Face, stars, links).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04
"""

import hashlib

import orjson
import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

CHUNK = 2000


def _text_hash(title: str, abstract: str) -> str:
    # The same as dailypapers.store.papers.text_hash (a migration keeps its own copy of what it computes).
    return hashlib.blake2b(orjson.dumps([title, abstract]), digest_size=16).hexdigest()


def upgrade() -> None:
    # A plain ADD COLUMN (no batch copy): on SQLite a copy of `papers` would lose its full-text triggers.
    op.add_column("papers", sa.Column("text_hash", sa.String(32), nullable=False, server_default=""))
    bind = op.get_bind()
    papers = sa.table(
        "papers",
        sa.column("pk", sa.BigInteger),
        sa.column("title", sa.Text),
        sa.column("abstract", sa.Text),
        sa.column("text_hash", sa.String),
        sa.column("content_hash", sa.String),
    )
    embeddings = sa.table(
        "paper_embeddings", sa.column("paper_pk", sa.BigInteger), sa.column("content_hash", sa.String)
    )
    after = 0
    while True:
        rows = bind.execute(
            sa.select(papers.c.pk, papers.c.title, papers.c.abstract, papers.c.content_hash)
            .where(papers.c.pk > after)
            .order_by(papers.c.pk)
            .limit(CHUNK)
        ).all()
        if not rows:
            break
        hashes = {r.pk: _text_hash(r.title or "", r.abstract or "") for r in rows}
        bind.execute(
            papers.update().where(papers.c.pk == sa.bindparam("b_pk")).values(text_hash=sa.bindparam("b_hash")),
            [{"b_pk": pk, "b_hash": h} for pk, h in hashes.items()],
        )
        # An embedding of the paper's current content is an embedding of its current text: keep it current.
        current = {r.pk: r.content_hash for r in rows}
        found = bind.execute(
            sa.select(embeddings.c.paper_pk, embeddings.c.content_hash).where(embeddings.c.paper_pk.in_(list(current)))
        ).all()
        keep = [
            {"b_pk": e.paper_pk, "b_hash": hashes[e.paper_pk]} for e in found if e.content_hash == current[e.paper_pk]
        ]
        if keep:
            bind.execute(
                embeddings.update()
                .where(embeddings.c.paper_pk == sa.bindparam("b_pk"))
                .values(content_hash=sa.bindparam("b_hash")),
                keep,
            )
        after = rows[-1].pk


def downgrade() -> None:
    # Embeddings then count as stale until re-embedded (their hash is no paper's content hash).
    op.drop_column("papers", "text_hash")
