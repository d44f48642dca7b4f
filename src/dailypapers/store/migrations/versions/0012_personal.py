"""The personal layer: saves, collections, follows, imported libraries, "not interested" clicks, readers'
trained profiles, and the "for you" digest option of subscriptions.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TS = sa.DateTime(timezone=True)


def _user() -> sa.Column:
    return sa.Column("user_pk", PK, sa.ForeignKey("users.pk", ondelete="CASCADE"), nullable=False)


def upgrade() -> None:
    op.create_table(
        "saves",
        sa.Column("user_pk", PK, sa.ForeignKey("users.pk", ondelete="CASCADE"), primary_key=True),
        sa.Column("paper_pk", PK, sa.ForeignKey("papers.pk", ondelete="CASCADE"), primary_key=True),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_index("ix_saves_paper", "saves", ["paper_pk"])
    op.create_index("ix_saves_user_created", "saves", ["user_pk", "created_at"])
    op.create_table(
        "collections",
        sa.Column("pk", PK, primary_key=True, autoincrement=True),
        _user(),
        sa.Column("slug", sa.String(120), nullable=False, unique=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("description", sa.Text, nullable=False, server_default=""),
        sa.Column("visibility", sa.String(10), nullable=False, server_default="private"),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_index("ix_collections_user", "collections", ["user_pk"])
    op.create_table(
        "collection_papers",
        sa.Column("collection_pk", PK, sa.ForeignKey("collections.pk", ondelete="CASCADE"), primary_key=True),
        sa.Column("paper_pk", PK, sa.ForeignKey("papers.pk", ondelete="CASCADE"), primary_key=True),
        sa.Column("note", sa.Text, nullable=False, server_default=""),
        sa.Column("added_at", TS, nullable=False),
    )
    op.create_index("ix_collection_papers_paper", "collection_papers", ["paper_pk"])
    op.create_table(
        "follows",
        sa.Column("pk", PK, primary_key=True, autoincrement=True),
        _user(),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("key", sa.String(500), nullable=False),
        sa.Column("label", sa.Text, nullable=False, server_default=""),
        sa.Column("created_at", TS, nullable=False),
        sa.UniqueConstraint("user_pk", "kind", "key", name="uq_follows_user_kind_key"),
    )
    op.create_index("ix_follows_kind_key", "follows", ["kind", "key"])
    op.create_table(
        "library_entries",
        sa.Column("pk", PK, primary_key=True, autoincrement=True),
        _user(),
        sa.Column("paper_pk", PK, sa.ForeignKey("papers.pk", ondelete="SET NULL")),
        sa.Column("title", sa.Text, nullable=False, server_default=""),
        sa.Column("abstract", sa.Text, nullable=False, server_default=""),
        sa.Column("authors_text", sa.Text, nullable=False, server_default=""),
        sa.Column("arxiv_id", sa.String(64), nullable=False, server_default=""),
        sa.Column("doi", sa.String(300), nullable=False, server_default=""),
        sa.Column("year", sa.Integer),
        sa.Column("source", sa.String(16), nullable=False, server_default=""),
        sa.Column("vector", sa.LargeBinary),
        sa.Column("imported_at", TS, nullable=False),
    )
    op.create_index("ix_library_entries_user", "library_entries", ["user_pk"])
    op.create_index("ix_library_entries_paper", "library_entries", ["paper_pk"])
    op.create_table(
        "dismissals",
        sa.Column("user_pk", PK, sa.ForeignKey("users.pk", ondelete="CASCADE"), primary_key=True),
        sa.Column("paper_pk", PK, sa.ForeignKey("papers.pk", ondelete="CASCADE"), primary_key=True),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_table(
        "reader_profiles",
        sa.Column("user_pk", PK, sa.ForeignKey("users.pk", ondelete="CASCADE"), primary_key=True, autoincrement=False),
        sa.Column("stale_since", TS),
        sa.Column("trained_at", TS),
        sa.Column("signals", sa.Integer, nullable=False, server_default="0"),
        sa.Column("model", sa.LargeBinary),
        sa.Column("version", sa.BigInteger, nullable=False, server_default="0"),
    )
    op.create_index("ix_reader_profiles_stale", "reader_profiles", ["stale_since"])
    op.create_table(
        "ranker_state",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("data", sa.LargeBinary, nullable=False),
        sa.Column("documents", sa.Integer, nullable=False, server_default="0"),
        sa.Column("updated_at", TS, nullable=False),
    )
    # Imported libraries are matched to papers by DOI (case-insensitive, as DOIs are).
    op.create_index("ix_papers_doi_lower", "papers", [sa.text("lower(doi)")])
    with op.batch_alter_table("subscribers") as t:
        t.add_column(sa.Column("for_you", sa.Boolean, nullable=False, server_default=sa.false()))


def downgrade() -> None:
    op.drop_index("ix_papers_doi_lower", "papers")
    with op.batch_alter_table("subscribers") as t:
        t.drop_column("for_you")
    for table in (
        "ranker_state",
        "reader_profiles",
        "dismissals",
        "library_entries",
        "follows",
        "collection_papers",
        "collections",
        "saves",
    ):
        op.drop_table(table)
