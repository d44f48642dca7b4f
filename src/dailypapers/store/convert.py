"""One place for what the two databases hand back differently, and for the store's clock.

PostgreSQL returns aware datetimes, dates and decoded JSON. SQLite returns naive UTC datetimes from
typed columns, and ISO strings and JSON text from raw SQL. Store modules convert every value they hand
out through these functions (or the `UTCDateTime` column type), so callers always get aware UTC
datetimes, `date`s and decoded JSON whichever database is configured.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import orjson
from sqlalchemy import DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


def utc_now() -> dt.datetime:
    """The current time, aware, in UTC: what every timestamp the store writes is."""
    return dt.datetime.now(dt.UTC)


def utc_today() -> dt.date:
    """Today in UTC: the day a submission made now is featured on."""
    return utc_now().date()


def aware(value: dt.datetime | str | None) -> dt.datetime | None:
    """A stored timestamp as an aware UTC datetime (naive values and strings were stored in UTC)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def as_date(value: dt.date | str | None) -> dt.date | None:
    """A stored day as a `date` (SQLite's raw SQL hands back 'YYYY-MM-DD')."""
    if value is None or isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(value)


def from_json(value: Any) -> Any:
    """A JSON column's value decoded (raw SQL on SQLite hands back its text)."""
    return orjson.loads(value) if isinstance(value, str | bytes) else value


def str_list(value: Any) -> list[str]:
    """A JSON list column as a list of strings (empty for NULL)."""
    return [str(v) for v in from_json(value) or []]


def to_json(value: Any) -> str:
    """JSON text for a column written by raw SQL."""
    return orjson.dumps(value).decode()


class UTCDateTime(TypeDecorator[dt.datetime]):
    """`DateTime(timezone=True)` that stores UTC and hands back aware UTC datetimes, on SQLite too (which
    would otherwise keep an aware value's wall time and drop its offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        return aware(value)

    def process_result_value(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        return aware(value)


def upsert_insert(conn: Any) -> Any:
    """The dialect's `insert` (it has `on_conflict_do_nothing`/`on_conflict_do_update` on both databases)."""
    from sqlalchemy.dialects import postgresql, sqlite

    return (postgresql if conn.dialect.name == "postgresql" else sqlite).insert


def chunks(items: Any, size: int) -> Any:
    """`items` in lists of at most `size` (an IN list or a VALUES list per statement)."""
    batch: list[Any] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
