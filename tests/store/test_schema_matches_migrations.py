"""The SQLAlchemy models and the Alembic migrations describe the same schema, on both databases:
autogenerate after `migrate` finds nothing to do."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine

from dailypapers.store import schema_derived, schema_personal  # noqa: F401  (their tables join Base.metadata)
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


def test_text_hash_migration_keeps_current_embeddings_current(engine: Engine) -> None:
    """0007 fills every paper's text hash and relabels the embeddings of papers' current content with it;
    an embedding of older content stays stale."""
    from alembic import command
    from sqlalchemy import text

    from dailypapers.ingest.importer import ImportReport, ingest_items
    from dailypapers.sources.record import PaperRecord
    from dailypapers.store import vectors
    from dailypapers.store.db import alembic_config, read_tx, write_tx
    from dailypapers.store.papers import text_hash

    records = [PaperRecord(id=f"2401.0000{i}", source="t", title=f"T{i} ü $x^2$", abstract=f"A{i}") for i in (1, 2)]
    ingest_items(engine, records, ImportReport())
    command.downgrade(alembic_config(engine), "0006")
    with write_tx(engine) as conn:
        rows = conn.execute(text("SELECT pk, id, content_hash FROM papers ORDER BY pk")).all()
        labels = [(rows[0].pk, rows[0].content_hash), (rows[1].pk, "an older version")]
        vectors.write(conn, "m", labels, vectors_for(2))
    command.upgrade(alembic_config(engine), "head")
    with read_tx(engine) as conn:
        hashes = dict(conn.execute(text("SELECT id, text_hash FROM papers")).all())
        assert hashes == {r.id: text_hash(r.title, r.abstract) for r in records}
        assert vectors.count_stale(conn, "m") == 1
        kept = conn.execute(text("SELECT content_hash FROM paper_embeddings WHERE paper_pk = :pk"), {"pk": rows[0].pk})
        assert kept.scalar() == hashes["2401.00001"]


def vectors_for(count: int) -> Any:
    import numpy as np

    return np.eye(count, 384, dtype=np.float32)
