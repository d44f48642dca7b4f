"""Alembic environment: runs migrations on the engine the application passes in."""

from alembic import context
from sqlalchemy import create_engine

from dailypapers.store import schema_derived, schema_personal  # noqa: F401  (their tables join Base.metadata)
from dailypapers.store.schema import Base

config = context.config
engine = config.attributes.get("engine") or create_engine(config.get_main_option("sqlalchemy.url"))

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        transaction_per_migration=True,
    )
    with context.begin_transaction():
        context.run_migrations()
