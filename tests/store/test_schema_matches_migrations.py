"""The SQLAlchemy models and the Alembic migrations describe the same schema, on both databases:
autogenerate after `migrate` finds nothing to do."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine

from dailypapers.store.schema import Base


def _ours(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    """Leave out the keyword index, which is per engine: FTS5's tables, PostgreSQL's tsvector and its GIN;
    the embeddings' HNSW index, which only PostgreSQL (pgvector) has; and the job queue's tables, which
    procrastinate's own schema makes (PostgreSQL)."""
    if type_ == "table" and name and name.startswith(("papers_fts", "procrastinate_")):
        return False
    table = getattr(getattr(obj, "table", None), "name", "")
    if table.startswith("procrastinate_"):
        return False
    return name not in ("search_vector", "ix_papers_search", "ix_paper_embeddings_hnsw")


def test_autogenerate_finds_no_difference(engine: Engine) -> None:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_object": _ours, "compare_type": True})
        diff = compare_metadata(context, Base.metadata)
    assert diff == []
