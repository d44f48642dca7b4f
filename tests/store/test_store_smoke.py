from sqlalchemy import text

from dailypapers.store.db import pending_migrations


def test_migrated_database_has_no_pending_migrations(engine) -> None:
    assert pending_migrations(engine) == []
    with engine.connect() as conn:
        assert conn.execute(text("SELECT value FROM site_state WHERE key = 'data_version'")).scalar() >= 1
