"""GitHub stars: the repositories papers link to, which paper links to which, a star count per repository
per day, and each paper's stars, star growth and last push (of its most starred repository).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("papers") as t:
        # Denormalized from code_repos for sorting the feed by stars: NULL while no repository is known.
        t.add_column(sa.Column("stars", sa.Integer))
        t.add_column(sa.Column("stars_growth", sa.Integer))
        t.add_column(sa.Column("code_pushed_at", TS))
    op.create_table(
        "code_repos",
        sa.Column("pk", PK, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(200), nullable=False, unique=True),  # lower-cased owner/name of the links
        sa.Column("full_name", sa.String(200), nullable=False, server_default=""),  # GitHub's, after renames
        sa.Column("github_id", sa.BigInteger),
        sa.Column("status", sa.String(12), nullable=False, server_default="new"),
        sa.Column("stars", sa.Integer),
        sa.Column("stars_growth", sa.Integer),
        sa.Column("pushed_at", TS),
        sa.Column("etag", sa.Text, nullable=False, server_default=""),
        sa.Column("error", sa.Text, nullable=False, server_default=""),
        sa.Column("checked_at", TS),
        sa.Column("next_check_at", TS, nullable=False),
        sa.CheckConstraint("status IN ('new', 'ok', 'missing')", name="ck_code_repos_status"),
    )
    op.create_index("ix_code_repos_next_check", "code_repos", ["next_check_at"])
    op.create_table(
        "paper_code_repos",
        sa.Column("paper_pk", PK, sa.ForeignKey("papers.pk", ondelete="CASCADE"), primary_key=True),
        sa.Column("repo_pk", PK, sa.ForeignKey("code_repos.pk", ondelete="CASCADE"), primary_key=True),
    )
    op.create_index("ix_paper_code_repos_repo", "paper_code_repos", ["repo_pk"])
    op.create_table(
        "code_repo_stars",
        sa.Column("repo_pk", PK, sa.ForeignKey("code_repos.pk", ondelete="CASCADE"), primary_key=True),
        sa.Column("day", sa.Date, primary_key=True),
        sa.Column("stars", sa.Integer, nullable=False),
    )
    op.create_index("ix_code_repo_stars_day", "code_repo_stars", ["day"])


def downgrade() -> None:
    op.drop_table("code_repo_stars")
    op.drop_table("paper_code_repos")
    op.drop_table("code_repos")
    # Not in batch mode: on SQLite that would copy the papers table and lose its full-text triggers.
    # SQLite drops a column in place since 3.35.
    for column in ("code_pushed_at", "stars_growth", "stars"):
        op.drop_column("papers", column)
