"""Media cache: papers' thumbnails and submitters' avatars, fetched once and served from this site
(docs/media.md). One row per source URL; the files live under `$DATA_DIR/media/`, named by content hash.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "media",
        sa.Column("pk", PK, primary_key=True, autoincrement=True),
        sa.Column("url", sa.Text, nullable=False, unique=True),  # absolute: what was fetched
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False, server_default="new"),
        sa.Column("content_type", sa.String(32), nullable=False, server_default=""),
        sa.Column("size", sa.Integer),
        sa.Column("sha256", sa.String(64), nullable=False, server_default=""),
        sa.Column("file", sa.String(80), nullable=False, server_default=""),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("error", sa.Text, nullable=False, server_default=""),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("fetched_at", TS),
        sa.Column("next_try_at", TS),  # NULL: nothing more to do (cached, or given up)
        sa.CheckConstraint("kind IN ('thumbnail', 'avatar')", name="ck_media_kind"),
        sa.CheckConstraint("status IN ('new', 'ok', 'failed', 'too_big', 'not_image')", name="ck_media_status"),
    )
    op.create_index("ix_media_next_try", "media", ["next_try_at"])


def downgrade() -> None:
    op.drop_table("media")
