"""Shared by the digest tests (digest/ and web/test_browser_digest.py): papers on a day, confirmed
subscribers, settings, a fake sleep, running a delivery. SECRET is serve_app's secret key, which signs
the subscription links."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

from sqlalchemy import Engine

from dailypapers.config import Settings
from dailypapers.digest.deliver import Options, Report, deliver
from dailypapers.ingest.importer import ImportReport, ingest_items
from dailypapers.periods import period_of
from dailypapers.sources.record import Listing, PaperRecord
from dailypapers.store import subscribers
from dailypapers.store.db import write_tx
from tests.support.server import SECRET

DAY = dt.date(2026, 1, 5)


def add_papers(engine: Engine, day: dt.date, *papers: tuple[str, str, str, int]) -> None:
    """Feature (id, title, category, upvotes) papers on `day`."""
    records = [
        PaperRecord(
            id=pid,
            source="test",
            title=title,
            abstract=f"We study {title.lower()} at length.",
            categories=[cat],
            listing=Listing(day=day, source="test", upvotes=upvotes),
        )
        for pid, title, cat, upvotes in papers
    ]
    ingest_items(engine, records, ImportReport())


def confirmed(engine: Engine, email: str, frequency: str = "daily", categories: list[str] | None = None) -> int:
    with write_tx(engine) as conn:
        sub = subscribers.get_or_create(conn, email, frequency)
        subscribers.confirm(conn, sub.pk, frequency, categories or [], [])
    return sub.pk


def settings_for(tmp_path: Path, base_url: str = "http://127.0.0.1:9", smtp_url: str = "") -> Settings:
    return Settings(data_dir=tmp_path, base_url=base_url, secret_key=SECRET, smtp_url=smtp_url)


class FakeSleep:
    """Records the waits instead of waiting."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def run(engine: Engine, settings: Settings, day: dt.date = DAY, **options: object) -> Report:
    opts = Options(**{"sleep": FakeSleep(), **options})  # type: ignore[arg-type]
    return asyncio.run(deliver(engine, settings, period_of("day", day), opts))
