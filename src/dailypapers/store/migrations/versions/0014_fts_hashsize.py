"""SQLite: the keyword index (FTS5) gathers up to 64 MB of new entries in memory before it writes them out as a
segment (its `hashsize`, 1 MB by default). A batch of 5,000 papers then becomes one segment, not about ten
small ones that FTS5 must merge again soon after: the index's share of an import fell from about 45 to 36 µs
per paper, and of a 20,000-paper catch-up to 26 µs (docs/benchmarks.md). Only a transaction that writes that
much holds that much: a vote or an edit adds a few entries. The setting is stored in the index's own
`papers_fts_config` table. PostgreSQL: nothing (its GIN index has `gin_pending_list_limit`, set per import).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05
"""

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

HASHSIZE = 64 * 1024 * 1024
DEFAULT_HASHSIZE = 1024 * 1024


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute(f"INSERT INTO papers_fts(papers_fts, rank) VALUES ('hashsize', {HASHSIZE})")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute(f"INSERT INTO papers_fts(papers_fts, rank) VALUES ('hashsize', {DEFAULT_HASHSIZE})")
