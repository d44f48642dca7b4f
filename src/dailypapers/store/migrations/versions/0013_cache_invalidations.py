"""Cache invalidations by tag: an insert-only log that web processes poll, so that a vote drops only the
cached pages that show its paper (its page, the days it is listed on) instead of bumping the one
`data_version` row every writer updates.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "cache_invalidations",
        sa.Column("seq", PK, primary_key=True, autoincrement=True),
        sa.Column("tag", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("cache_invalidations")
