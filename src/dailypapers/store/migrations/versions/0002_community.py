"""Community: accounts, sessions, API tokens, votes, comments, audit log.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

JSONType = sa.JSON().with_variant(JSONB(), "postgresql")
PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("users") as t:
        t.add_column(sa.Column("email", sa.String(320)))
        t.add_column(sa.Column("password_hash", sa.Text))
        t.add_column(sa.Column("role", sa.String(16), nullable=False, server_default="user"))
        t.add_column(sa.Column("active", sa.Boolean, nullable=False, server_default=sa.false()))
        t.add_column(sa.Column("suspended", sa.Boolean, nullable=False, server_default=sa.false()))
        t.create_unique_constraint("uq_users_email", ["email"])
    with op.batch_alter_table("papers") as t:
        # Community upvotes and visible comments, kept equal to the rows in votes/comments
        # by the same transactions that write those rows.
        t.add_column(sa.Column("votes", sa.Integer, nullable=False, server_default="0"))
        t.add_column(sa.Column("num_comments", sa.Integer, nullable=False, server_default="0"))
    op.create_table(
        "sessions",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("user_pk", PK, sa.ForeignKey("users.pk", ondelete="CASCADE"), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
    )
    op.create_index("ix_sessions_user", "sessions", ["user_pk"])
    op.create_table(
        "api_tokens",
        sa.Column("pk", PK, primary_key=True, autoincrement=True),
        sa.Column("user_pk", PK, sa.ForeignKey("users.pk", ondelete="CASCADE"), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("last_used_at", TS),
        sa.Column("revoked_at", TS),
    )
    op.create_table(
        "votes",
        sa.Column("user_pk", PK, sa.ForeignKey("users.pk", ondelete="CASCADE"), primary_key=True),
        sa.Column("paper_pk", PK, sa.ForeignKey("papers.pk", ondelete="CASCADE"), primary_key=True),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_index("ix_votes_paper", "votes", ["paper_pk"])
    op.create_table(
        "comments",
        sa.Column("pk", PK, primary_key=True, autoincrement=True),
        sa.Column("paper_pk", PK, sa.ForeignKey("papers.pk", ondelete="CASCADE"), nullable=False),
        sa.Column("user_pk", PK, sa.ForeignKey("users.pk", ondelete="CASCADE"), nullable=False),
        sa.Column("parent_pk", PK, sa.ForeignKey("comments.pk", ondelete="CASCADE")),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("html", sa.Text, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("edited_at", TS),
        sa.Column("deleted", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("hidden", sa.Boolean, nullable=False, server_default=sa.false()),
    )
    op.create_index("ix_comments_paper", "comments", ["paper_pk", "pk"])
    op.create_index("ix_comments_user", "comments", ["user_pk"])
    op.create_table(
        "audit_log",
        sa.Column("pk", PK, primary_key=True, autoincrement=True),
        sa.Column("actor_pk", PK, sa.ForeignKey("users.pk", ondelete="SET NULL")),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("target", sa.String(200), nullable=False),
        sa.Column("detail", JSONType, nullable=False),
        sa.Column("created_at", TS, nullable=False),
    )


def downgrade() -> None:
    for table in ("audit_log", "comments", "votes", "api_tokens", "sessions"):
        op.drop_table(table)
    with op.batch_alter_table("papers") as t:
        t.drop_column("num_comments")
        t.drop_column("votes")
    with op.batch_alter_table("users") as t:
        t.drop_constraint("uq_users_email", type_="unique")
        for col in ("suspended", "active", "role", "password_hash", "email"):
            t.drop_column(col)
