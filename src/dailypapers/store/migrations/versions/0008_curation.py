"""Curation learned from the community: trained models, curators' skips, the reason of an auto pick, and
an index on the announcement day (a day's candidates).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    # Plain ADD COLUMN (no batch copy of the table).
    op.add_column("daily_listings", sa.Column("reason", sa.Text, nullable=False, server_default=""))
    op.create_index("ix_papers_announced", "papers", ["announced"])
    op.create_table(
        "curation_models",
        sa.Column("pk", PK, primary_key=True, autoincrement=True),
        sa.Column("trained_at", TS, nullable=False),
        sa.Column("model", sa.LargeBinary, nullable=False),
        sa.Column("first_day", sa.Date, nullable=False),
        sa.Column("last_day", sa.Date, nullable=False),
        sa.Column("days", sa.Integer, nullable=False),
        sa.Column("papers", sa.Integer, nullable=False),
        sa.Column("positives", sa.Integer, nullable=False),
        sa.Column("picks", sa.Integer, nullable=False),
        sa.Column("seconds", sa.Float, nullable=False),
    )
    op.create_table(
        "curation_skips",
        sa.Column("paper_pk", PK, sa.ForeignKey("papers.pk", ondelete="CASCADE"), primary_key=True),
        sa.Column("day", sa.Date, primary_key=True),
        sa.Column("user_pk", PK, sa.ForeignKey("users.pk", ondelete="SET NULL")),
        sa.Column("created_at", TS, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("curation_skips")
    op.drop_table("curation_models")
    op.drop_index("ix_papers_announced", "papers")
    op.drop_column("daily_listings", "reason")
