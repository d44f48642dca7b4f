"""Email digests: subscribers, a delivery ledger (exactly once per period), papers already mailed.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

JSONType = sa.JSON().with_variant(JSONB(), "postgresql")
PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "subscribers",
        sa.Column("pk", PK, primary_key=True, autoincrement=True),
        sa.Column("email", sa.String(320), nullable=False, unique=True),  # stored lower-cased
        sa.Column("frequency", sa.String(8), nullable=False, server_default="daily"),
        sa.Column("categories", JSONType, nullable=False, server_default="[]"),
        sa.Column("keywords", JSONType, nullable=False, server_default="[]"),
        sa.Column("user_pk", PK, sa.ForeignKey("users.pk", ondelete="SET NULL")),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("confirmed_at", TS),
        sa.Column("unsubscribed_at", TS),
        sa.Column("bounced_at", TS),
        sa.CheckConstraint("frequency IN ('daily', 'weekly')", name="ck_subscribers_frequency"),
    )
    op.create_table(
        "digest_deliveries",
        sa.Column("subscriber_pk", PK, sa.ForeignKey("subscribers.pk", ondelete="CASCADE"), primary_key=True),
        sa.Column("period", sa.String(32), primary_key=True),  # 'daily:2026-11-27' or 'weekly:2026-W48'
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("last_error", sa.Text),
        sa.Column("message_id", sa.String(320)),
        sa.Column("sent_at", TS),
        sa.CheckConstraint("status IN ('sending', 'sent', 'failed')", name="ck_digest_deliveries_status"),
    )
    op.create_table(
        "digest_papers",
        sa.Column("subscriber_pk", PK, sa.ForeignKey("subscribers.pk", ondelete="CASCADE"), primary_key=True),
        sa.Column("paper_pk", PK, sa.ForeignKey("papers.pk", ondelete="CASCADE"), primary_key=True),
    )


def downgrade() -> None:
    op.drop_table("digest_papers")
    op.drop_table("digest_deliveries")
    op.drop_table("subscribers")
