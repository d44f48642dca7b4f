"""Background jobs: the job log (runs, progress, errors), and procrastinate's queue on PostgreSQL.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op
from procrastinate.schema import SchemaManager

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        # The job queue's own tables, functions and triggers (procrastinate_*), as its release ships them.
        # A later procrastinate release's migrations go into a migration of ours (docs/jobs.md).
        op.execute(SchemaManager.get_schema())
    op.create_table(
        "job_log",
        sa.Column("pk", PK, primary_key=True, autoincrement=True),
        sa.Column("job_id", sa.BigInteger, nullable=False),  # the queue's id of the job
        sa.Column("attempt", sa.Integer, nullable=False, server_default="0"),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("args", sa.Text, nullable=False, server_default=""),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("worker", sa.String(120), nullable=False, server_default=""),
        sa.Column("started_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("finished_at", TS),
        sa.Column("done", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("total", sa.BigInteger),
        sa.Column("note", sa.Text, nullable=False, server_default=""),
        sa.Column("error", sa.Text),
        sa.CheckConstraint("status IN ('running', 'succeeded', 'failed', 'interrupted')", name="ck_job_log_status"),
    )
    op.create_index("ix_job_log_job", "job_log", ["job_id"])
    op.create_index("ix_job_log_status", "job_log", ["status", "pk"])


def downgrade() -> None:
    op.drop_table("job_log")
