"""What SQLite and PostgreSQL hand back differently, converted in one place."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine, select

from dailypapers.store.convert import as_date, aware, from_json, str_list
from dailypapers.store.db import read_tx, write_tx
from dailypapers.store.schema import User

TZ = dt.timezone(dt.timedelta(hours=5, minutes=30))


def test_timestamps_come_back_aware_in_utc() -> None:
    assert aware(None) is None
    assert aware(dt.datetime(2026, 1, 5, 12)) == dt.datetime(2026, 1, 5, 12, tzinfo=dt.UTC)
    assert aware("2026-01-05 12:00:00") == dt.datetime(2026, 1, 5, 12, tzinfo=dt.UTC)
    shifted = aware(dt.datetime(2026, 1, 5, 17, 30, tzinfo=TZ))
    assert shifted == dt.datetime(2026, 1, 5, 12, tzinfo=dt.UTC) and shifted.tzinfo is dt.UTC


def test_days_and_json() -> None:
    assert as_date("2026-01-05") == dt.date(2026, 1, 5) and as_date(None) is None
    assert as_date(dt.date(2026, 1, 5)) == dt.date(2026, 1, 5)
    assert from_json('["a", 1]') == ["a", 1] and from_json(["a"]) == ["a"]
    assert str_list(None) == [] and str_list('["cs.CL", 2]') == ["cs.CL", "2"]


def test_timestamp_columns_read_back_aware_on_both_databases(engine: Engine) -> None:
    written = dt.datetime(2026, 1, 5, 17, 30, tzinfo=TZ)
    users = User.__table__
    with write_tx(engine) as conn:
        conn.execute(users.insert().values(name="ada", fullname="", avatar_url="", external=True, created_at=written))
    with read_tx(engine) as conn:
        back = conn.execute(select(users.c.created_at).where(users.c.name == "ada")).scalar_one()
    assert back == written and back.tzinfo is not None and back.utcoffset() == dt.timedelta(0)
