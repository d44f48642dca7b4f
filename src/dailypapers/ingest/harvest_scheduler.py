"""The daily RSS harvest, run once per day across every process that runs a scheduler.

Each scheduler checks every minute. Once it is `settings.fetch_hour_utc` or later (UTC), the
first process to claim the job `('harvest-rss', YYYY-MM-DD)` in the database harvests the
listing of `settings.fetch_categories`; the others see the claim and do nothing. A claim whose
harvest failed or whose process died is left unfinished and is taken over by any scheduler
once it is older than `stale_after`, so a bad day is retried without hammering arXiv.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from dailypapers.config import Settings
from dailypapers.ingest.harvest import HarvestReport, harvest_rss
from dailypapers.ingest.http import PoliteClient
from dailypapers.store import bookkeeping
from dailypapers.store.convert import utc_now
from dailypapers.store.db import write_tx

if TYPE_CHECKING:
    from sqlalchemy import Engine

log = logging.getLogger(__name__)
JOB = "harvest-rss"


class HarvestScheduler:
    """Runs the daily RSS harvest in a daemon thread; `run_once` is the whole decision, for tests too."""

    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        *,
        interval: float = 60.0,
        stale_after: dt.timedelta = dt.timedelta(hours=1),
        client: PoliteClient | None = None,
        clock: Callable[[], dt.datetime] = utc_now,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.interval = interval
        self.stale_after = stale_after
        self.client = client
        self.clock = clock
        self.last_report: HarvestReport | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self, now: dt.datetime) -> bool:
        """Harvest today's listing if it is time and this process wins the day's claim.

        Returns True when it ran the harvest, False when there was nothing to do (no categories,
        too early, or the day is claimed). A failed harvest raises and leaves the claim unfinished.
        """
        categories = list(self.settings.fetch_categories)
        if not categories:
            return False
        now = now.replace(tzinfo=dt.UTC) if now.tzinfo is None else now.astimezone(dt.UTC)
        if now.hour < self.settings.fetch_hour_utc:
            return False
        period = now.date().isoformat()
        with write_tx(self.engine) as conn:
            if not bookkeeping.claim_job(conn, JOB, period, stale_after=self.stale_after):
                return False
        log.info("harvesting the %s listing of %s", period, ", ".join(categories))
        self.last_report = harvest_rss(self.engine, self.settings, categories, client=self.client)
        with write_tx(self.engine) as conn:
            bookkeeping.finish_job(conn, JOB, period)
        return True

    def _loop(self) -> None:
        while True:
            try:
                self.run_once(self.clock())
            except Exception:  # a failed day must not end the thread
                log.exception("scheduled arXiv harvest failed; will retry later")
            if self._stop.wait(self.interval):
                return

    def start(self) -> None:
        """Start checking (now, then every `interval` seconds) in a daemon thread."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="dailypapers-harvest", daemon=True)
        self._thread.start()

    def stop(self, timeout: float | None = 10.0) -> None:
        """Ask the thread to stop and wait for it (a harvest in progress finishes first)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
