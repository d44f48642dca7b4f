"""Papers' one-line descriptions for cards: a TL;DR and keywords, Hugging Face's `ai_summary`/`ai_keywords`
when the paper has them, else computed offline (docs/summaries.md). One row per described paper; it is
stale once the paper's text hash moves or Hugging Face's fields appear or go (`hf_fields`).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TS = sa.DateTime(timezone=True)
JSONType = sa.JSON().with_variant(JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "paper_descriptions",
        sa.Column(
            "paper_pk", PK, sa.ForeignKey("papers.pk", ondelete="CASCADE"), primary_key=True, autoincrement=False
        ),
        sa.Column("tldr", sa.Text, nullable=False, server_default=""),
        sa.Column("keywords", JSONType, nullable=False),
        sa.Column("source", sa.String(16), nullable=False, server_default=""),
        sa.Column("text_hash", sa.String(32), nullable=False, server_default=""),
        sa.Column("hf_fields", sa.Integer, nullable=False, server_default="0"),
        sa.Column("described_at", TS, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("paper_descriptions")
