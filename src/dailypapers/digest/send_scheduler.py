"""The server's own digest scheduler (embedded mode): daily digests every day, weekly on Mondays.

Several processes may run it at once: each period is claimed in the database (`job_runs`) so only one
process sends it, and the delivery ledger would keep a second sender from mailing anyone twice anyway.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import threading
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from dailypapers.config import Settings
from dailypapers.digest.compose import digest_period, ledger_key
from dailypapers.digest.deliver import deliver
from dailypapers.store import bookkeeping
from dailypapers.store.db import write_tx

if TYPE_CHECKING:
    from sqlalchemy import Engine

log = logging.getLogger(__name__)


class DigestScheduler:
    def __init__(self, engine: Engine, settings: Settings, *, interval: float = 60.0) -> None:
        self.engine = engine
        self.settings = settings
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def due(self, now: dt.datetime) -> list[str]:
        """The frequencies whose latest complete period should be sent at `now`."""
        local = now.astimezone(ZoneInfo(self.settings.digest_timezone))
        if local.hour < self.settings.digest_hour:
            return []
        return ["daily", "weekly"] if local.weekday() == 0 else ["daily"]

    def run_once(self, now: dt.datetime) -> list[str]:
        """Send what is due and not yet claimed by any process; returns the period keys sent."""
        local_today = now.astimezone(ZoneInfo(self.settings.digest_timezone)).date()
        sent = []
        for frequency in self.due(now):
            period = digest_period(frequency, None, today=local_today)
            key = ledger_key(period)
            with write_tx(self.engine) as conn:
                if not bookkeeping.claim_job(conn, "digest", key):
                    continue
            asyncio.run(deliver(self.engine, self.settings, period))
            with write_tx(self.engine) as conn:
                bookkeeping.finish_job(conn, "digest", key)
            sent.append(key)
        return sent

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.run_once(dt.datetime.now(dt.UTC))
            except Exception:  # keep the server up; the ledger lets a later run finish the batch
                log.exception("digest run failed")

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, daemon=True, name="digests")
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=10)
