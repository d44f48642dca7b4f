"""Papers, users, daily listings, import and harvest bookkeeping, full-text index.

Revision ID: 0001
Revises:
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

JSONType = sa.JSON().with_variant(JSONB(), "postgresql")
PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "papers",
        sa.Column("pk", PK, primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(64), nullable=False, unique=True),
        sa.Column("local", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("title", sa.Text, nullable=False, server_default=""),
        sa.Column("abstract", sa.Text, nullable=False, server_default=""),
        sa.Column("authors", JSONType, nullable=False),
        sa.Column("authors_text", sa.Text, nullable=False, server_default=""),
        sa.Column("versions", JSONType, nullable=False),
        sa.Column("latest_version", sa.Integer, nullable=False, server_default="0"),
        sa.Column("categories", JSONType, nullable=False),
        sa.Column("primary_category", sa.String(64), nullable=False, server_default=""),
        sa.Column("doi", sa.Text, nullable=False, server_default=""),
        sa.Column("journal_ref", sa.Text, nullable=False, server_default=""),
        sa.Column("comments", sa.Text, nullable=False, server_default=""),
        sa.Column("license", sa.Text, nullable=False, server_default=""),
        sa.Column("published", TS),
        sa.Column("updated", TS),
        sa.Column("announced", sa.Date),
        sa.Column("code_urls", JSONType, nullable=False),
        sa.Column("project_urls", JSONType, nullable=False),
        sa.Column("extra", JSONType, nullable=False),
        sa.Column("withdrawn", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("content_hash", sa.String(32), nullable=False, server_default=""),
    )
    op.create_index("ix_papers_published", "papers", ["published"])
    op.create_table(
        "users",
        sa.Column("pk", PK, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(96), nullable=False, unique=True),
        sa.Column("fullname", sa.Text, nullable=False, server_default=""),
        sa.Column("avatar_url", sa.Text, nullable=False, server_default=""),
        sa.Column("external", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_table(
        "daily_listings",
        sa.Column("pk", PK, primary_key=True, autoincrement=True),
        sa.Column("paper_pk", PK, sa.ForeignKey("papers.pk", ondelete="CASCADE"), nullable=False),
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("submitter_pk", PK, sa.ForeignKey("users.pk", ondelete="SET NULL")),
        sa.Column("upvotes", sa.Integer, nullable=False, server_default="0"),
        sa.Column("pinned", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("created_at", TS, nullable=False),
        sa.UniqueConstraint("paper_pk", "day", name="uq_listing_paper_day"),
    )
    op.create_index("ix_listings_day_upvotes", "daily_listings", ["day", "upvotes"])
    op.create_index("ix_listings_submitter", "daily_listings", ["submitter_pk"])
    op.create_table(
        "import_checkpoints",
        sa.Column("file_key", sa.String(128), primary_key=True),
        sa.Column("path", sa.Text, nullable=False),
        sa.Column("position", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("line", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_table(
        "harvest_state",
        sa.Column("key", sa.String(255), primary_key=True),
        sa.Column("cursor", sa.Text, nullable=False, server_default=""),
        sa.Column("done", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_table(
        "job_runs",
        sa.Column("job", sa.String(64), primary_key=True),
        sa.Column("period", sa.String(32), primary_key=True),
        sa.Column("started_at", TS, nullable=False),
        sa.Column("finished_at", TS),
    )
    op.create_table(
        "site_state",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.BigInteger, nullable=False, server_default="0"),
    )
    op.execute("INSERT INTO site_state (key, value) VALUES ('data_version', 1)")

    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "CREATE VIRTUAL TABLE papers_fts USING fts5(title, abstract, authors_text, "
            "content='papers', content_rowid='pk', tokenize='porter unicode61 remove_diacritics 2')"
        )
        cols = "title, abstract, authors_text"
        # New papers are indexed in bulk behind a watermark (store.search_index), which is several
        # times faster than a per-row trigger; changes to papers already indexed go through these.
        op.execute("INSERT INTO site_state (key, value) VALUES ('fts_indexed_pk', 0)")
        indexed = "old.pk <= (SELECT value FROM site_state WHERE key = 'fts_indexed_pk')"
        op.execute(
            f"CREATE TRIGGER papers_fts_ad AFTER DELETE ON papers WHEN {indexed} BEGIN "
            f"INSERT INTO papers_fts(papers_fts, rowid, {cols}) "
            f"VALUES ('delete', old.pk, old.title, old.abstract, old.authors_text); END"
        )
        op.execute(
            f"CREATE TRIGGER papers_fts_au AFTER UPDATE OF {cols} ON papers WHEN {indexed} BEGIN "
            f"INSERT INTO papers_fts(papers_fts, rowid, {cols}) "
            f"VALUES ('delete', old.pk, old.title, old.abstract, old.authors_text); "
            f"INSERT INTO papers_fts(rowid, {cols}) "
            f"VALUES (new.pk, new.title, new.abstract, new.authors_text); END"
        )
    else:
        op.execute(
            "ALTER TABLE papers ADD COLUMN search_vector tsvector GENERATED ALWAYS AS ("
            "setweight(to_tsvector('english', coalesce(title, '')), 'A') || "
            "setweight(to_tsvector('simple', coalesce(authors_text, '')), 'B') || "
            "setweight(to_tsvector('english', coalesce(abstract, '')), 'C')) STORED"
        )
        op.execute("CREATE INDEX ix_papers_search ON papers USING gin (search_vector)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for trig in ("papers_fts_ad", "papers_fts_au"):
            op.execute(f"DROP TRIGGER IF EXISTS {trig}")
        op.execute("DROP TABLE IF EXISTS papers_fts")
    for table in (
        "site_state",
        "job_runs",
        "harvest_state",
        "import_checkpoints",
        "daily_listings",
        "users",
        "papers",
    ):
        op.drop_table(table)
